// The `calc` operator as written in job files: a filter, then a projection,
// over typed expressions (docs/expressions.md).
//
//   type: calc
//   where: "price > 100"                      # optional: rows where it is not TRUE are dropped
//   select: [auction, "price * 0.908 AS euro"]   # optional: default every input field
#pragma once

#include <string>
#include <vector>

#include "common/catalog/operator_catalog.h"
#include "common/expr/expression.h"
#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

struct CalcSpec {
  // A BOOL expression over the input; empty: every row passes.
  std::string where;
  // Expressions over the input, each naming an output field; empty: the
  // rows pass through as they are (the output is the input schema).
  std::vector<SelectItem> select;
  Schema output;
};

Result<CalcSpec> ParseCalc(const OperatorOptions& options, const Schema& input);

OperatorSignature CalcSignature();

}  // namespace sluice
