#include "common/catalog/keyed_count_spec.h"

namespace sluice {

Result<KeyedCountSpec> ParseKeyedCount(const OperatorOptions& o, const Schema& input) {
  KeyedCountSpec spec;
  SLUICE_ASSIGN_OR_RETURN(spec.key, FieldIndexes(o, "key", input, "key field"));
  for (size_t f : spec.key) {
    const Field& field = input.field(f);
    if (spec.output.IndexOf(field.name)) return Status::InvalidArgument("key field '" + field.name + "' is named twice");
    spec.output.Add(field);
  }
  if (spec.output.empty()) return Status::InvalidArgument("option 'key' names no field");
  if (spec.output.IndexOf("count")) return Status::InvalidArgument("a key field is named 'count', like the output");
  spec.output.Add({"count", FieldType::kInt64, false, 0});
  return spec;
}

OperatorSignature KeyedCountSignature() {
  OperatorSignature sig;
  sig.type = "keyed-count";
  sig.role = OperatorRole::kTransform;
  sig.description = "Counts rows per key over a bounded input; emits (key fields..., count) at its end.";
  sig.options = {{"key", true, "Key fields (a list)."}};
  sig.infer_output = OutputOf(&ParseKeyedCount);
  sig.input_keys = KeyedBy("key");
  sig.keeps_partitioning = KeepsKeyFields("key");
  return sig;
}

}  // namespace sluice
