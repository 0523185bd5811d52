// The `datagen` source as written in job files: deterministic rows for tests
// and benchmarks.
//
//   type: datagen
//   events: 1000000     # total rows over all subtasks; omitted = unbounded
//   keys: 1000          # distinct keys
//   rate: 50000         # rows per second over all subtasks; 0 = full speed
//   base-time: 1436918400000   # event time of row 0 (ms since the epoch)
//
// Row n is (id = n, key = n % keys, value = (n * 7919) % 1000,
// name = "name-<key>", ts = base-time + n ms); subtask s of p emits the ids
// s, s + p, s + 2p, ...
#pragma once

#include <cstdint>

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

// (id, key, value BIGINT, name STRING, ts TIMESTAMP), every field NOT NULL;
// documented in docs/job-files.md.
Schema DatagenSchema();

struct DatagenSpec {
  // -1: unbounded, a stream that runs until cancelled.
  int64_t events = -1;
  // Enough keys to spread over any parallelism, few enough that keyed
  // results stay readable.
  int64_t keys = 1000;
  // 0: as fast as the task pulls rows (benchmarks).
  double rate = 0;
  // 2015-07-15 00:00 UTC, the Nexmark generator's epoch, so that both sources
  // produce event times of the same range.
  int64_t base_time_ms = 1436918400000;

  Schema output = DatagenSchema();
};

Result<DatagenSpec> ParseDatagen(const OperatorOptions& options);

OperatorSignature DatagenSignature();

}  // namespace sluice
