#include "common/catalog/window_aggregate_spec.h"

namespace sluice {

Result<WindowAggregateSpec> ParseWindowAggregate(const OperatorOptions& o, const Schema& input) {
  WindowAggregateSpec spec;
  std::string processing = o.GetStringOr("processing-time", "false");
  if (processing != "true" && processing != "false") {
    return Status::InvalidArgument("option 'processing-time' must be true or false");
  }
  spec.processing_time = processing == "true";
  if (spec.processing_time == o.Has("time")) {
    return Status::InvalidArgument("give either 'time' (event time) or 'processing-time: true'");
  }
  if (!spec.processing_time) {
    SLUICE_ASSIGN_OR_RETURN(std::string time, o.GetString("time"));
    spec.time = input.IndexOf(time);
    if (!spec.time || input.field(*spec.time).type != FieldType::kTimestamp) {
      return Status::InvalidArgument("time field '" + time + "' must be a TIMESTAMP field of " + input.ToString());
    }
  }
  if (o.Has("gap") == o.Has("size")) {
    return Status::InvalidArgument("give either 'size' (tumbling or sliding windows) or 'gap' (session windows)");
  }
  if (o.Has("gap")) {
    SLUICE_ASSIGN_OR_RETURN(spec.gap_ms, o.GetDurationMs("gap", 0));
    if (spec.gap_ms <= 0 || o.Has("slide")) {
      return Status::InvalidArgument("'gap' must be a positive duration, without 'slide'");
    }
  } else {
    SLUICE_ASSIGN_OR_RETURN(spec.size_ms, o.GetDurationMs("size", 0));
    SLUICE_ASSIGN_OR_RETURN(spec.slide_ms, o.GetDurationMs("slide", spec.size_ms));
    if (spec.size_ms <= 0 || spec.slide_ms <= 0) {
      return Status::InvalidArgument("size and slide must be positive durations");
    }
    if (spec.size_ms % spec.slide_ms != 0) return Status::InvalidArgument("size must be a multiple of slide");
  }
  SLUICE_ASSIGN_OR_RETURN(spec.key, FieldIndexes(o, "key", input, "key field"));
  for (size_t f : spec.key) spec.output.Add(input.field(f));
  spec.output.Add({"window_start", FieldType::kTimestamp, false, 0});
  spec.output.Add({"window_end", FieldType::kTimestamp, false, 0});
  bool distinct = false;
  for (const auto& text : o.GetList("aggregates")) {
    SLUICE_ASSIGN_OR_RETURN(AggregateSpec aggregate, ParseAggregate(text, input));
    // Session windows merge, and their distinct values would have to merge
    // with them; window accumulators hold no strings.
    if (aggregate.distinct && spec.session()) {
      return Status::InvalidArgument("aggregate '" + text + "': DISTINCT is not supported in session windows");
    }
    if (aggregate.output.type == FieldType::kString) {
      return Status::InvalidArgument("aggregate '" + text +
                                     "': min/max of STRING is supported by group-aggregate only");
    }
    if (spec.output.IndexOf(aggregate.name)) {
      return Status::InvalidArgument("output field '" + aggregate.name + "' is named twice");
    }
    spec.output.Add(aggregate.output);
    distinct = distinct || aggregate.distinct;
    spec.aggregates.push_back(std::move(aggregate));
  }
  // A distinct value's state key holds its aggregate's index in one byte.
  if (distinct && spec.aggregates.size() > 255) return Status::InvalidArgument("more than 255 aggregates");
  return spec;
}

OperatorSignature WindowAggregateSignature() {
  OperatorSignature sig;
  sig.type = "window-aggregate";
  sig.role = OperatorRole::kTransform;
  sig.description = "Event-time tumbling, sliding or session windows per key, fired by the watermark.";
  sig.options = {
      {"time", false, "The TIMESTAMP field that places a row in windows (event time)."},
      {"processing-time", false, "true: windows of the wall clock when a row arrives, instead of 'time'."},
      {"size", false, "Window size (a duration) of tumbling and sliding windows."},
      {"slide", false, "Slide of sliding windows; omitted = tumbling (slide = size)."},
      {"gap", false, "Session windows instead: a key's session ends after this long without rows."},
      {"key", false, "Key fields (a list); omitted = one global window per time range."},
      {"aggregates", true,
       "List of 'fn([DISTINCT] arg) [FILTER (WHERE condition)] AS name': count(*), count(x), "
       "count(DISTINCT x) (not in session windows), sum, min, max (numeric or TIMESTAMP), avg."},
  };
  sig.infer_output = OutputOf(&ParseWindowAggregate);
  sig.input_keys = KeyedBy("key");
  sig.keeps_partitioning = KeepsKeyFields("key");
  return sig;
}

}  // namespace sluice
