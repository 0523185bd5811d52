// Aggregate calls as written in job files: "count(*) AS bids",
// "max(price) AS maxPrice", "avg(price * 0.908) AS avgEuro". Shared by the
// catalog (output schemas) and the runtime operators.
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
};

// Parses and type-checks one aggregate against the input schema. count takes
// * or any expression (counting non-NULL values); sum and avg need a numeric
// argument; min and max a numeric or TIMESTAMP one.
Result<AggregateSpec> ParseAggregate(const std::string& text, const Schema& input);

}  // namespace sluice
