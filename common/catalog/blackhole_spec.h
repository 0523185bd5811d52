// The `blackhole` sink as written in job files: discards every row (for
// benchmarks, as Flink's blackhole connector).
//
//   type: blackhole
//
// It takes no options; the spec exists so that every operator is bound the
// same way.
#pragma once

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct BlackholeSpec {};

Result<BlackholeSpec> ParseBlackhole(const OperatorOptions& options, const Schema& input);

OperatorSignature BlackholeSignature();

}  // namespace sluice
