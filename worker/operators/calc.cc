#include "worker/operators/calc.h"

namespace sluice {

Result<std::unique_ptr<Operator>> CalcOperator::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(CalcSpec spec, BindSpec(setup, ParseCalc(setup.options, setup.input)));
  // The spec has type-checked every expression against this input.
  std::unique_ptr<CompiledExpression> where;
  if (!spec.where.empty()) {
    SLUICE_ASSIGN_OR_RETURN(where, CompileExpression(spec.where, setup.input));
  }
  std::vector<std::unique_ptr<CompiledExpression>> select;
  for (const auto& item : spec.select) {
    SLUICE_ASSIGN_OR_RETURN(select.emplace_back(), CompileExpression(item.expression, setup.input));
  }
  return std::unique_ptr<Operator>(new CalcOperator(std::move(where), std::move(select), spec.output.size()));
}

CalcOperator::CalcOperator(std::unique_ptr<CompiledExpression> where,
                           std::vector<std::unique_ptr<CompiledExpression>> select, size_t output_fields)
    : where_(std::move(where)), select_(std::move(select)), builder_(output_fields) {}

void CalcOperator::Process(const RowView& row, Collector& out) {
  ctx_.Reset();
  if (where_) {
    Value keep = where_->Evaluate(row, ctx_);
    if (keep.is_null || !keep.b) return;
  }
  if (select_.empty()) {
    out.Collect(row);
    return;
  }
  builder_.Reset();
  for (size_t i = 0; i < select_.size(); ++i) StoreValue(select_[i]->Evaluate(row, ctx_), i, builder_);
  out.Collect(builder_.Finish());
}

}  // namespace sluice
