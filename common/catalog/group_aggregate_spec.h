// The `group-aggregate` operator as written in job files: an unbounded
// GROUP BY whose result is a changelog (Flink's group aggregation with
// mini-batches).
//
//   type: group-aggregate
//   key: [category]            # optional: omitted = one global group
//   aggregates: ["count(*) AS n", "avg(price) AS avgPrice"]
//   buffer-entries: 16384      # optional: see GroupAggregateSpec
//
// The output is `op` (+I, -U, +U or -D), the key fields, then the
// aggregates (aggregate_spec.h). An input whose first field is `op` STRING
// is a changelog itself, and its -U and -D rows retract.
#pragma once

#include <cstdint>
#include <vector>

#include "common/catalog/aggregate_spec.h"
#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct GroupAggregateSpec {
  bool changelog = false;   // the input is a changelog (IsChangelogSchema)
  std::vector<size_t> key;  // field indexes of the input; empty: one global group
  std::vector<AggregateSpec> aggregates;  // at least one, at most 255
  // Groups and distinct values pre-aggregated in memory before a flush into
  // state: a few MiB with a dozen aggregates, enough to fold the rows of a
  // watermark interval on busy keys.
  int64_t buffer_entries = 16384;
  Schema output;
};

Result<GroupAggregateSpec> ParseGroupAggregate(const OperatorOptions& options, const Schema& input);

OperatorSignature GroupAggregateSignature();

}  // namespace sluice
