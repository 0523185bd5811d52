#include "common/catalog/group_aggregate_spec.h"

#include "common/catalog/top_n_spec.h"

namespace sluice {

Result<GroupAggregateSpec> ParseGroupAggregate(const OperatorOptions& o, const Schema& input) {
  GroupAggregateSpec spec;
  spec.changelog = IsChangelogSchema(input);
  SLUICE_ASSIGN_OR_RETURN(spec.buffer_entries, o.GetInt("buffer-entries", spec.buffer_entries));
  if (spec.buffer_entries < 1) return Status::InvalidArgument("option 'buffer-entries' must be >= 1");
  spec.output.Add({"op", FieldType::kString, false, 0});
  SLUICE_ASSIGN_OR_RETURN(spec.key, FieldIndexes(o, "key", input, "key field"));
  for (size_t f : spec.key) {
    if (spec.changelog && f == 0) return Status::InvalidArgument("'op' is the input's row kind, not a key field");
    const Field& field = input.field(f);
    if (spec.output.IndexOf(field.name)) {
      return Status::InvalidArgument("output field '" + field.name + "' is named twice");
    }
    spec.output.Add(field);
  }
  for (const auto& text : o.GetList("aggregates")) {
    SLUICE_ASSIGN_OR_RETURN(AggregateSpec aggregate, ParseAggregate(text, input));
    if (spec.output.IndexOf(aggregate.name)) {
      return Status::InvalidArgument("output field '" + aggregate.name + "' is named twice");
    }
    spec.output.Add(aggregate.output);
    spec.aggregates.push_back(std::move(aggregate));
  }
  if (spec.aggregates.empty()) return Status::InvalidArgument("option 'aggregates' names no aggregate");
  // Aggregate and distinct-set indexes are one byte in state keys.
  if (spec.aggregates.size() > 255) return Status::InvalidArgument("more than 255 aggregates");
  return spec;
}

OperatorSignature GroupAggregateSignature() {
  OperatorSignature sig;
  sig.type = "group-aggregate";
  sig.role = OperatorRole::kTransform;
  sig.description =
      "Unbounded GROUP BY emitting a changelog: (op, key fields..., aggregates...) with op +I, -U, +U or -D; "
      "an input whose first field is op STRING is a changelog and retracts.";
  sig.options = {
      {"key", false, "Key fields (a list); omitted = one global group."},
      {"aggregates", true,
       "List of 'fn([DISTINCT] arg) [FILTER (WHERE condition)] [AS name]': count(*), count(x), count(DISTINCT x), "
       "sum, avg (numeric), min, max (numeric, TIMESTAMP or STRING)."},
      {"buffer-entries", false,
       "Keys and distinct values pre-aggregated in memory before a flush (default " +
           std::to_string(GroupAggregateSpec().buffer_entries) + ")."},
  };
  sig.infer_output = OutputOf(&ParseGroupAggregate);
  sig.input_keys = KeyedBy("key");
  sig.keeps_partitioning = KeepsKeyFields("key");
  return sig;
}

}  // namespace sluice
