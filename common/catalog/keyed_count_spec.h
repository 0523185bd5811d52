// The `keyed-count` operator as written in job files: rows per key over a
// bounded input, emitted once at the input's end.
//
//   type: keyed-count
//   key: [auction]     # required, at least one field
//
// The output is the key fields, then `count` BIGINT.
#pragma once

#include <vector>

#include "common/catalog/operator_catalog.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct KeyedCountSpec {
  std::vector<size_t> key;  // field indexes of the input, at least one
  Schema output;
};

Result<KeyedCountSpec> ParseKeyedCount(const OperatorOptions& options, const Schema& input);

OperatorSignature KeyedCountSignature();

}  // namespace sluice
