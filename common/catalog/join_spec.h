// Joins as written in job files, shared by the catalog (output schemas,
// validation) and the runtime operator.
//
//   type: join            # inner equi-join of two inputs (left first)
//   left-key: [seller]    # equal-length lists of fields, compared pairwise
//   right-key: [id]
//   where: "..."          # optional condition over the joined row
//   left-expires: expires # optional: a TIMESTAMP expression over a left row,
//   right-expires: dateTime  # the last event time it can still match
//
// Without expiry the join is a regular join and keeps every row, as Flink's
// regular join without state TTL. With it, a row leaves state once the
// watermark passes its expiry: an interval join (`b.t BETWEEN a.t - x AND
// a.t + y` expires a at a.t + y and b at b.t + x) or a join bounded by data
// (q4: an auction expires at its `expires`, a bid at its own time).
//
//   type: window-join     # rows of equal key in the same window
// Both inputs carry window_start and window_end (as window-aggregate
// emits); they join on the keys and the window, and rows leave state when
// the watermark passes the window's end.
//
// The output is the left fields, then the right ones; a right field whose
// name is taken gets "0" appended (Flink's naming: dateTime, dateTime0).
#pragma once

#include <string>
#include <vector>

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct JoinSpec {
  std::vector<size_t> left_keys, right_keys;  // field indexes
  std::string where;                          // over the output schema
  std::string left_expires, right_expires;    // over each side's schema
  bool window = false;
  Schema output;
};

// The left fields, then the right ones; a right field whose name is taken
// gets "0" appended (Flink's naming: dateTime, dateTime0). Joins and the
// lookup join name their output so.
Schema JoinedSchema(const Schema& left, const Schema& right);

Result<JoinSpec> ParseJoin(const std::string& type, const OperatorOptions& options, const Schema& left,
                           const Schema& right);

OperatorSignature JoinSignature();
OperatorSignature WindowJoinSignature();

}  // namespace sluice
