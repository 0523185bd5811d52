#include "common/catalog/nexmark_spec.h"

namespace sluice {

Schema NexmarkSchema(const std::string& kind) {
  auto field = [](const char* name, FieldType type) { return Field{name, type, false, 0}; };
  const FieldType kInt = FieldType::kInt64;
  const FieldType kStr = FieldType::kString;
  const FieldType kTime = FieldType::kTimestamp;
  if (kind == "bid") {
    return Schema({field("auction", kInt), field("bidder", kInt), field("price", kInt), field("channel", kStr),
                   field("url", kStr), field("dateTime", kTime), field("extra", kStr)});
  }
  if (kind == "auction") {
    return Schema({field("id", kInt), field("itemName", kStr), field("description", kStr),
                   field("initialBid", kInt), field("reserve", kInt), field("dateTime", kTime),
                   field("expires", kTime), field("seller", kInt), field("category", kInt),
                   field("extra", kStr)});
  }
  if (kind == "person") {
    return Schema({field("id", kInt), field("name", kStr), field("emailAddress", kStr),
                   field("creditCard", kStr), field("city", kStr), field("state", kStr),
                   field("dateTime", kTime), field("extra", kStr)});
  }
  return Schema();
}

Result<NexmarkSpec> ParseNexmark(const OperatorOptions& o) {
  NexmarkSpec spec;
  SLUICE_ASSIGN_OR_RETURN(spec.kind, o.GetString("kind"));
  SLUICE_ASSIGN_OR_RETURN(spec.events, o.GetInt("events", spec.events));
  SLUICE_ASSIGN_OR_RETURN(spec.rate, o.GetDouble("rate", spec.rate));
  SLUICE_ASSIGN_OR_RETURN(spec.events_per_second, o.GetDouble("events-per-second", spec.events_per_second));
  SLUICE_ASSIGN_OR_RETURN(spec.base_time_ms, o.GetInt("base-time", spec.base_time_ms));
  spec.output = NexmarkSchema(spec.kind);
  if (spec.output.empty()) return o.Error("kind", "must be bid, auction or person, got '" + spec.kind + "'");
  if (o.Has("events") && spec.events < 0) return o.Error("events", "must be >= 0");
  if (spec.rate < 0) return o.Error("rate", "must be >= 0");
  if (!(spec.events_per_second > 0)) return o.Error("events-per-second", "must be positive");
  return spec;
}

OperatorSignature NexmarkSignature() {
  OperatorSignature sig;
  sig.type = "nexmark";
  sig.role = OperatorRole::kSource;
  sig.description = "Deterministic Nexmark generator; emits the rows of one event kind (bid, auction, person).";
  sig.options = {
      {"kind", true, "Event kind to emit: bid, auction or person."},
      {"events", false, "Total events of all kinds over all subtasks; omitted = unbounded."},
      {"rate", false, "Events (of all kinds) per second over all subtasks; 0 = full speed (default)."},
      {"events-per-second", false, "Event-time rate: event n is at base-time + n * 1000 / this ms (default 10000000)."},
      {"base-time", false, "Event time of event 0 in ms since the epoch (default 1436918400000)."},
  };
  sig.infer_output = OutputOf(&ParseNexmark);
  return sig;
}

}  // namespace sluice
