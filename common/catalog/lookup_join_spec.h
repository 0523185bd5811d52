// The lookup join against a bounded side input, as written in job files
// (Flink's `JOIN side_input FOR SYSTEM_TIME AS OF proctime`, Nexmark q13):
//
//   type: lookup-join
//   path: ${job-dir}/side_input.csv   # CSV, one row per line, no header
//   columns: [key BIGINT, value STRING]
//   lookup-key: key                    # a column of the side input
//   key: MOD(auction, 10000)           # an expression over the stream's rows
//
// Every subtask loads the whole file when it opens (the side input is
// bounded and small, as Flink's filesystem lookup source caches it all),
// then each row meets the side rows whose lookup key equals its key. Rows
// without a match are dropped (an inner join). The output is the stream's
// fields, then the side input's (a clashing name gets "0" appended).
#pragma once

#include <string>

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct LookupJoinSpec {
  std::string path;
  Schema side;            // the side input's columns
  size_t lookup_key = 0;  // index into side
  std::string key;        // expression over the input
  Schema output;
};

Result<LookupJoinSpec> ParseLookupJoin(const OperatorOptions& options, const Schema& input);

OperatorSignature LookupJoinSignature();

}  // namespace sluice
