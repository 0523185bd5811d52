// The `nexmark` source as written in job files (docs/nexmark.md): the
// deterministic Nexmark generator, emitting the rows of one event kind.
//
//   type: nexmark
//   kind: bid                  # bid, auction or person
//   events: 10000000           # events of all kinds over all subtasks; omitted = unbounded
//   rate: 1000000              # events per second over all subtasks; 0 = full speed
//   events-per-second: 10000000   # event-time rate (not the emission rate)
//   base-time: 1436918400000   # event time of event 0
#pragma once

#include <cstdint>
#include <string>

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

// The schema of an event kind, as the Flink nexmark suite's views, every
// field NOT NULL:
//   bid:     auction, bidder, price BIGINT, channel, url STRING, dateTime TIMESTAMP, extra STRING
//   auction: id BIGINT, itemName, description STRING, initialBid, reserve BIGINT,
//            dateTime, expires TIMESTAMP, seller, category BIGINT, extra STRING
//   person:  id BIGINT, name, emailAddress, creditCard, city, state STRING,
//            dateTime TIMESTAMP, extra STRING
// An empty schema for any other kind.
Schema NexmarkSchema(const std::string& kind);

struct NexmarkSpec {
  std::string kind;  // bid, auction or person
  // -1: unbounded.
  int64_t events = -1;
  // 0: as fast as the task pulls rows (benchmarks).
  double rate = 0;
  // Event n happens at base_time_ms + n * 1000 / events_per_second: Flink's
  // nexmark default of 10M events per second of event time.
  double events_per_second = 10'000'000;
  // 2015-07-15 00:00 UTC, the Flink nexmark generator's base time.
  int64_t base_time_ms = 1436918400000;

  Schema output;  // NexmarkSchema(kind)
};

Result<NexmarkSpec> ParseNexmark(const OperatorOptions& options);

OperatorSignature NexmarkSignature();

}  // namespace sluice
