// The `calc` operator: an optional filter, then a projection, both compiled
// once from expressions against the input schema.
#pragma once

#include <memory>
#include <vector>

#include "common/catalog/calc_spec.h"
#include "common/expr/expression.h"
#include "worker/operators/operator.h"

namespace sluice {

class CalcOperator final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);

  void Process(const RowView& row, Collector& out) override;

 private:
  CalcOperator(std::unique_ptr<CompiledExpression> where,
               std::vector<std::unique_ptr<CompiledExpression>> select, size_t output_fields);

  std::unique_ptr<CompiledExpression> where_;            // null: keep every row
  std::vector<std::unique_ptr<CompiledExpression>> select_;  // empty: pass rows through
  RowBuilder builder_;
  EvalContext ctx_;
};

}  // namespace sluice
