// The `print` sink as written in job files: JSON lines on the worker's
// standard output, each prefixed '<subtask>> ' (as Flink's print connector).
//
//   type: print
//
// It takes no options; the spec exists so that every operator is bound the
// same way, and options it may grow have their one place.
#pragma once

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct PrintSpec {};

Result<PrintSpec> ParsePrint(const OperatorOptions& options, const Schema& input);

OperatorSignature PrintSignature();

}  // namespace sluice
