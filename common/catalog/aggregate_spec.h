// Aggregate calls as written in job files, in SQL's syntax:
//   "count(*) AS bids", "max(price) AS maxPrice", "avg(price * 0.908) AS avgEuro",
//   "count(DISTINCT bidder) AS bidders",
//   "count(*) FILTER (WHERE price < 10000) AS cheap",
//   "min(price)"  (no AS: named min_price, see ParseAggregate).
// Shared by the catalog (output schemas) and the runtime operators.
#pragma once

#include <string>

#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

enum class AggregateFunction { kCount, kSum, kMin, kMax, kAvg };

struct AggregateSpec {
  AggregateFunction function = AggregateFunction::kCount;
  std::string argument;  // expression text; empty for count(*)
  std::string name;      // output field
  Field output;          // type of the result
  bool distinct = false;  // count(DISTINCT argument): distinct non-NULL values
  std::string filter;     // FILTER (WHERE filter): a BOOL expression; empty = every row
};

// Parses and type-checks one aggregate against the input schema:
//   fn([DISTINCT] argument) [FILTER (WHERE condition)] [AS name]
// count takes * or any expression (counting non-NULL values), and DISTINCT;
// sum and avg need a numeric argument; min and max a numeric, TIMESTAMP or
// STRING one. A row counts for an aggregate with a filter only where the
// condition is TRUE. Without AS the argument must be * or a field, and the
// name is fn_field ("count" for count(*), "count_distinct_field").
// Errors are INVALID_ARGUMENT naming the aggregate's text.
Result<AggregateSpec> ParseAggregate(const std::string& text, const Schema& input);

}  // namespace sluice
