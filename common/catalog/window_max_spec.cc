#include "common/catalog/window_max_spec.h"

namespace sluice {

Result<WindowMaxSpec> ParseWindowMax(const OperatorOptions& o, const Schema& input) {
  WindowMaxSpec spec;
  if (o.Has("time") != o.Has("size")) return Status::InvalidArgument("'time' and 'size' go together");
  std::vector<std::string> window_fields = {"window_start", "window_end"};
  if (o.Has("time")) {
    SLUICE_ASSIGN_OR_RETURN(spec.size_ms, o.GetDurationMs("size", 0));
    if (spec.size_ms <= 0) return Status::InvalidArgument("option 'size' must be a positive duration");
    window_fields = {o.GetStringOr("time", ""), o.GetStringOr("time", "")};
  }
  size_t* bounds[2] = {&spec.window_start, &spec.window_end};
  for (int i = 0; i < 2; ++i) {
    auto f = input.IndexOf(window_fields[i]);
    if (!f || input.field(*f).type != FieldType::kTimestamp) {
      return Status::InvalidArgument("the input needs a TIMESTAMP field '" + window_fields[i] +
                                     "' (window_start and window_end as window-aggregate emits, or 'time')");
    }
    *bounds[i] = *f;
  }
  SLUICE_ASSIGN_OR_RETURN(std::string field, o.GetString("field"));
  auto f = input.IndexOf(field);
  if (!f) return Status::InvalidArgument("field '" + field + "' is not in " + input.ToString());
  FieldType t = input.field(*f).type;
  if (t != FieldType::kInt64 && t != FieldType::kDouble && t != FieldType::kTimestamp && t != FieldType::kDecimal) {
    return Status::InvalidArgument("field '" + field + "' must be numeric");
  }
  spec.field = *f;
  spec.output = input;
  return spec;
}

OperatorSignature WindowMaxSignature() {
  OperatorSignature sig;
  sig.type = "window-max";
  sig.role = OperatorRole::kTransform;
  sig.description = "Per window, the rows at the maximum of a field, ties included.";
  sig.options = {{"field", true, "The numeric field to maximize."},
                 {"time", false, "A TIMESTAMP field placing rows in tumbling windows of 'size'; without it, "
                                 "windows come from the input's window_start and window_end."},
                 {"size", false, "Tumbling window size, with 'time'."}};
  sig.infer_output = OutputOf(&ParseWindowMax);
  // Its key is the window: window_start, or none for windows of 'time' (one
  // global maximum per window).
  sig.input_keys = [](const OperatorOptions& o) {
    return std::vector<std::vector<std::string>>{
        o.Has("time") ? std::vector<std::string>{} : std::vector<std::string>{"window_start"}};
  };
  sig.keeps_partitioning = KeepsAll;
  return sig;
}

}  // namespace sluice
