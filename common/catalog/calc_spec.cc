#include "common/catalog/calc_spec.h"

namespace sluice {

Result<CalcSpec> ParseCalc(const OperatorOptions& o, const Schema& input) {
  CalcSpec spec;
  if (o.Has("where")) {
    SLUICE_ASSIGN_OR_RETURN(spec.where, o.GetString("where"));
    auto expr = CompileExpression(spec.where, input);
    if (!expr.ok()) return expr.status().WithPrefix("where '" + spec.where + "'");
    if ((*expr)->type() != FieldType::kBool) {
      return Status::InvalidArgument("where '" + spec.where + "' is " +
                                     std::string(FieldTypeName((*expr)->type())) + ", not BOOL");
    }
  }
  if (!o.Has("select")) {
    spec.output = input;
    return spec;
  }
  for (const auto& text : o.GetList("select")) {
    auto item = ParseSelectItem(text);
    if (!item.ok()) return item.status().WithPrefix("select '" + text + "'");
    auto expr = CompileExpression(item->expression, input);
    if (!expr.ok()) return expr.status().WithPrefix("select '" + text + "'");
    if (spec.output.IndexOf(item->name)) {
      return Status::InvalidArgument("select: duplicate output name '" + item->name + "'");
    }
    spec.output.Add({item->name, (*expr)->type(), (*expr)->nullable(), (*expr)->scale()});
    spec.select.push_back(std::move(*item));
  }
  if (spec.output.empty()) return Status::InvalidArgument("select must name at least one field");
  return spec;
}

OperatorSignature CalcSignature() {
  OperatorSignature sig;
  sig.type = "calc";
  sig.role = OperatorRole::kTransform;
  sig.description = "Projection and filter over typed expressions.";
  sig.options = {
      {"select", false, "List of 'expression AS name' (default: every input field)."},
      {"where", false, "A BOOL expression; rows where it is not TRUE are dropped."},
  };
  sig.infer_output = OutputOf(&ParseCalc);
  // A hashed field stays hashed when a select item passes it on bare (maybe
  // renamed); any computation over it may change its value.
  sig.keeps_partitioning = [](const std::vector<std::string>& hashed,
                              const OperatorOptions& o) -> std::optional<std::vector<std::string>> {
    if (!o.Has("select")) return hashed;
    std::vector<std::string> out;
    for (const auto& h : hashed) {
      std::optional<std::string> renamed;
      for (const auto& text : o.GetList("select")) {
        auto item = ParseSelectItem(text);
        if (item.ok() && (item->expression == h || item->expression == "`" + h + "`")) {
          renamed = item->name;
          break;
        }
      }
      if (!renamed) return std::nullopt;
      out.push_back(*renamed);
    }
    return out;
  };
  return sig;
}

}  // namespace sluice
