// The `throttle` operator as written in job files: rows pass through at no
// more than a rate per subtask (to replay data at a realistic pace, or to
// put a slow consumer into a pipeline on purpose).
//
//   type: throttle
//   rows-per-second: 1000   # required, per subtask
#pragma once

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct ThrottleSpec {
  // Required: there is no rate that would be a sensible default.
  double rows_per_second = 0;
  Schema output;  // the input's
};

Result<ThrottleSpec> ParseThrottle(const OperatorOptions& options, const Schema& input);

OperatorSignature ThrottleSignature();

}  // namespace sluice
