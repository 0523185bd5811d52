#include "worker/operators/calc.h"

namespace sluice {

Result<std::unique_ptr<Operator>> CalcOperator::Create(const OperatorSetup& setup) {
  std::unique_ptr<CompiledExpression> where;
  if (setup.options.Has("where")) {
    SLUICE_ASSIGN_OR_RETURN(std::string text, setup.options.GetString("where"));
    auto compiled = CompileExpression(text, setup.input);
    if (!compiled.ok()) return compiled.status().WithPrefix("operator '" + setup.id + "': where");
    where = std::move(*compiled);
  }
  std::vector<std::unique_ptr<CompiledExpression>> select;
  for (const auto& text : setup.options.GetList("select")) {
    auto item = ParseSelectItem(text);
    if (!item.ok()) return item.status().WithPrefix("operator '" + setup.id + "': select");
    auto compiled = CompileExpression(item->expression, setup.input);
    if (!compiled.ok()) return compiled.status().WithPrefix("operator '" + setup.id + "': select");
    select.push_back(std::move(*compiled));
  }
  size_t fields = select.empty() ? setup.input.size() : select.size();
  return std::unique_ptr<Operator>(new CalcOperator(std::move(where), std::move(select), fields));
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
