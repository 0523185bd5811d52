#include "common/catalog/datagen_spec.h"

namespace sluice {

Schema DatagenSchema() {
  return Schema({{"id", FieldType::kInt64, false, 0},
                 {"key", FieldType::kInt64, false, 0},
                 {"value", FieldType::kInt64, false, 0},
                 {"name", FieldType::kString, false, 0},
                 {"ts", FieldType::kTimestamp, false, 0}});
}

Result<DatagenSpec> ParseDatagen(const OperatorOptions& o) {
  DatagenSpec spec;
  SLUICE_ASSIGN_OR_RETURN(spec.events, o.GetInt("events", spec.events));
  SLUICE_ASSIGN_OR_RETURN(spec.keys, o.GetInt("keys", spec.keys));
  SLUICE_ASSIGN_OR_RETURN(spec.rate, o.GetDouble("rate", spec.rate));
  SLUICE_ASSIGN_OR_RETURN(spec.base_time_ms, o.GetInt("base-time", spec.base_time_ms));
  if (o.Has("events") && spec.events < 0) return o.Error("events", "must be >= 0");
  if (spec.keys < 1) return o.Error("keys", "must be >= 1");
  if (spec.rate < 0) return o.Error("rate", "must be >= 0");
  return spec;
}

OperatorSignature DatagenSignature() {
  OperatorSignature sig;
  sig.type = "datagen";
  sig.role = OperatorRole::kSource;
  sig.description = "Deterministic generator of (id, key, value, name, ts) rows.";
  sig.options = {
      {"events", false, "Total rows over all subtasks; omitted = unbounded."},
      {"keys", false, "Number of distinct keys (default 1000)."},
      {"rate", false, "Rows per second over all subtasks; 0 = full speed (default)."},
      {"base-time", false, "Event time of row 0 in ms since the epoch (default 1436918400000)."},
  };
  sig.infer_output = OutputOf(&ParseDatagen);
  return sig;
}

}  // namespace sluice
