#include "common/catalog/operator_catalog.h"

#include <algorithm>

#include "common/catalog/aggregate_spec.h"
#include "common/catalog/calc_spec.h"
#include "common/catalog/datagen_spec.h"
#include "common/catalog/file_source_spec.h"
#include "common/catalog/join_spec.h"
#include "common/catalog/lookup_join_spec.h"
#include "common/catalog/nexmark_spec.h"
#include "common/catalog/throttle_spec.h"
#include "common/catalog/top_n_spec.h"
#include "common/config.h"
#include "common/expr/expression.h"

namespace sluice {

const char* OperatorRoleName(OperatorRole role) {
  switch (role) {
    case OperatorRole::kSource: return "source";
    case OperatorRole::kTransform: return "transform";
    case OperatorRole::kSink: return "sink";
  }
  return "?";
}

Status OperatorOptions::Error(const std::string& name, const std::string& problem) const {
  return Status::InvalidArgument("operator '" + operator_id_ + "': option '" + name + "' " + problem);
}

Result<std::string> OperatorOptions::GetString(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return Error(name, "is required");
  if (it->second.size() != 1) return Error(name, "must be a single value, not a list");
  return it->second[0];
}

std::string OperatorOptions::GetStringOr(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return fallback;
  return it->second[0];
}

Result<int64_t> OperatorOptions::GetInt(const std::string& name, int64_t fallback) const {
  if (!Has(name)) return fallback;
  SLUICE_ASSIGN_OR_RETURN(std::string text, GetString(name));
  auto v = ParseInt(text);
  if (!v.ok()) return Error(name, "must be an integer, got '" + text + "'");
  return *v;
}

Result<double> OperatorOptions::GetDouble(const std::string& name, double fallback) const {
  if (!Has(name)) return fallback;
  SLUICE_ASSIGN_OR_RETURN(std::string text, GetString(name));
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (...) {
  }
  return Error(name, "must be a number, got '" + text + "'");
}

Result<int64_t> OperatorOptions::GetDurationMs(const std::string& name, int64_t fallback) const {
  if (!Has(name)) return fallback;
  SLUICE_ASSIGN_OR_RETURN(std::string text, GetString(name));
  auto v = ParseDurationMs(text);
  if (!v.ok()) return Error(name, v.status().message());
  return *v;
}

std::vector<std::string> OperatorOptions::GetList(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

void OperatorCatalog::Add(OperatorSignature signature) {
  std::string type = signature.type;
  signatures_[type] = std::move(signature);
}

const OperatorSignature* OperatorCatalog::Find(const std::string& type) const {
  auto it = signatures_.find(type);
  return it == signatures_.end() ? nullptr : &it->second;
}

std::vector<std::string> OperatorCatalog::Types() const {
  std::vector<std::string> types;
  for (const auto& [type, _] : signatures_) types.push_back(type);
  return types;
}

Result<Schema> OperatorCatalog::Resolve(const std::string& type, const std::vector<Schema>& inputs,
                                        const OperatorOptions& options) const {
  std::string where = "operator '" + options.operator_id() + "'";
  const OperatorSignature* sig = Find(type);
  if (sig == nullptr) {
    std::string known;
    for (const auto& t : Types()) known += (known.empty() ? "" : ", ") + t;
    return Status::InvalidArgument(where + ": unknown operator type '" + type + "' (known: " + known + ")");
  }
  where += " (" + type + ")";
  for (const auto& [name, _] : options.values()) {
    bool known = false;
    for (const auto& spec : sig->options) known = known || spec.name == name;
    if (!known) {
      std::string names;
      for (const auto& spec : sig->options) names += (names.empty() ? "" : ", ") + spec.name;
      return Status::InvalidArgument(where + ": unknown option '" + name + "' (known: " + names + ")");
    }
  }
  for (const auto& spec : sig->options) {
    if (spec.required && !options.Has(spec.name)) {
      return Status::InvalidArgument(where + ": option '" + spec.name + "' is required");
    }
  }
  if (sig->role == OperatorRole::kSource && !inputs.empty()) {
    return Status::InvalidArgument(where + ": a source takes no input");
  }
  std::vector<Schema> effective = inputs;
  if (sig->role != OperatorRole::kSource && sig->inputs == 1 && inputs.size() > 1) {
    for (const auto& s : inputs) {
      if (s != inputs[0]) {
        return Status::InvalidArgument(where + ": its inputs have different schemas: " + inputs[0].ToString() +
                                       " and " + s.ToString());
      }
    }
    effective = {inputs[0]};  // a union
  }
  if (sig->role != OperatorRole::kSource && sig->inputs == 1 && inputs.empty()) {
    return Status::InvalidArgument(where + ": needs an input");
  }
  if (sig->role != OperatorRole::kSource && sig->inputs == 2 && inputs.size() != 2) {
    return Status::InvalidArgument(where + ": a join needs exactly two inputs (left, then right), has " +
                                   std::to_string(inputs.size()));
  }
  auto schema = sig->infer_output(effective, options);
  if (!schema.ok()) {
    const std::string& msg = schema.status().message();
    // Option errors already name the operator; expression errors do not.
    if (msg.rfind("operator '", 0) == 0) return schema.status();
    return schema.status().WithPrefix(where);
  }
  return schema;
}

Status NameOperator(const std::string& operator_id, const Status& status) {
  if (status.ok() || status.message().rfind("operator '", 0) == 0) return status;
  return status.WithPrefix("operator '" + operator_id + "'");
}

std::optional<std::vector<std::string>> KeepsAll(const std::vector<std::string>& hashed, const OperatorOptions&) {
  return hashed;
}

std::function<std::vector<std::vector<std::string>>(const OperatorOptions&)> KeyedBy(std::string option) {
  return [option = std::move(option)](const OperatorOptions& o) {
    return std::vector<std::vector<std::string>>{o.GetList(option)};
  };
}

std::function<std::optional<std::vector<std::string>>(const std::vector<std::string>&, const OperatorOptions&)>
KeepsKeyFields(std::string option) {
  return [option = std::move(option)](const std::vector<std::string>& hashed,
                                      const OperatorOptions& o) -> std::optional<std::vector<std::string>> {
    std::vector<std::string> keys = o.GetList(option);
    for (const auto& h : hashed) {
      if (std::find(keys.begin(), keys.end(), h) == keys.end()) return std::nullopt;
    }
    return hashed;
  };
}

Result<std::vector<size_t>> FieldIndexes(const OperatorOptions& options, const std::string& option,
                                         const Schema& input, const std::string& what) {
  std::vector<size_t> indexes;
  for (const auto& name : options.GetList(option)) {
    auto index = input.IndexOf(name);
    if (!index) return Status::InvalidArgument(what + " '" + name + "' is not in " + input.ToString());
    indexes.push_back(*index);
  }
  return indexes;
}

namespace {

OperatorSignature KeyedCountSignature() {
  OperatorSignature sig;
  sig.type = "keyed-count";
  sig.role = OperatorRole::kTransform;
  sig.description = "Counts rows per key over a bounded input; emits (key fields..., count) at its end.";
  sig.options = {{"key", true, "Key fields (a list)."}};
  sig.infer_output = [](const std::vector<Schema>& in, const OperatorOptions& o) -> Result<Schema> {
    Schema output;
    for (const auto& name : o.GetList("key")) {
      auto index = in[0].IndexOf(name);
      if (!index) return Status::InvalidArgument("key field '" + name + "' is not in " + in[0].ToString());
      if (output.IndexOf(name)) return Status::InvalidArgument("key field '" + name + "' is named twice");
      output.Add(in[0].field(*index));
    }
    if (output.empty()) return Status::InvalidArgument("option 'key' names no field");
    if (output.IndexOf("count")) return Status::InvalidArgument("a key field is named 'count', like the output");
    output.Add({"count", FieldType::kInt64, false, 0});
    return output;
  };
  sig.input_keys = KeyedBy("key");
  sig.keeps_partitioning = KeepsKeyFields("key");
  return sig;
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
  sig.infer_output = [](const std::vector<Schema>& in, const OperatorOptions& o) -> Result<Schema> {
    const Schema& input = in[0];
    std::string processing = o.GetStringOr("processing-time", "false");
    if (processing != "true" && processing != "false") {
      return Status::InvalidArgument("option 'processing-time' must be true or false");
    }
    if ((processing == "true") == o.Has("time")) {
      return Status::InvalidArgument("give either 'time' (event time) or 'processing-time: true'");
    }
    if (processing == "false") {
      SLUICE_ASSIGN_OR_RETURN(std::string time, o.GetString("time"));
      auto t = input.IndexOf(time);
      if (!t || input.field(*t).type != FieldType::kTimestamp) {
        return Status::InvalidArgument("time field '" + time + "' must be a TIMESTAMP field of " + input.ToString());
      }
    }
    if (o.Has("gap") == o.Has("size")) {
      return Status::InvalidArgument("give either 'size' (tumbling or sliding windows) or 'gap' (session windows)");
    }
    if (o.Has("gap")) {
      SLUICE_ASSIGN_OR_RETURN(int64_t gap, o.GetDurationMs("gap", 0));
      if (gap <= 0 || o.Has("slide")) return Status::InvalidArgument("'gap' must be a positive duration, without 'slide'");
    } else {
      SLUICE_ASSIGN_OR_RETURN(int64_t size, o.GetDurationMs("size", 0));
      SLUICE_ASSIGN_OR_RETURN(int64_t slide, o.GetDurationMs("slide", size));
      if (size <= 0 || slide <= 0) return Status::InvalidArgument("size and slide must be positive durations");
      if (size % slide != 0) return Status::InvalidArgument("size must be a multiple of slide");
    }
    Schema output;
    for (const auto& name : o.GetList("key")) {
      auto index = input.IndexOf(name);
      if (!index) return Status::InvalidArgument("key field '" + name + "' is not in " + input.ToString());
      output.Add(input.field(*index));
    }
    output.Add({"window_start", FieldType::kTimestamp, false, 0});
    output.Add({"window_end", FieldType::kTimestamp, false, 0});
    for (const auto& text : o.GetList("aggregates")) {
      SLUICE_ASSIGN_OR_RETURN(AggregateSpec spec, ParseAggregate(text, input));
      // Session windows merge, and their distinct values would have to merge
      // with them; window accumulators hold no strings.
      if (spec.distinct && o.Has("gap")) {
        return Status::InvalidArgument("aggregate '" + text + "': DISTINCT is not supported in session windows");
      }
      if (spec.output.type == FieldType::kString) {
        return Status::InvalidArgument("aggregate '" + text +
                                       "': min/max of STRING is supported by group-aggregate only");
      }
      if (output.IndexOf(spec.name)) return Status::InvalidArgument("output field '" + spec.name + "' is named twice");
      output.Add(spec.output);
    }
    return output;
  };
  sig.input_keys = KeyedBy("key");
  sig.keeps_partitioning = KeepsKeyFields("key");
  return sig;
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
      {"buffer-entries", false, "Keys and distinct values pre-aggregated in memory before a flush (default 16384)."},
  };
  sig.infer_output = [](const std::vector<Schema>& in, const OperatorOptions& o) -> Result<Schema> {
    const Schema& input = in[0];
    const bool changelog = !input.empty() && input.field(0).name == "op" && input.field(0).type == FieldType::kString;
    SLUICE_ASSIGN_OR_RETURN(int64_t entries, o.GetInt("buffer-entries", 16384));
    if (entries < 1) return Status::InvalidArgument("option 'buffer-entries' must be >= 1");
    Schema output;
    output.Add({"op", FieldType::kString, false, 0});
    for (const auto& name : o.GetList("key")) {
      auto index = input.IndexOf(name);
      if (!index) return Status::InvalidArgument("key field '" + name + "' is not in " + input.ToString());
      if (changelog && *index == 0) return Status::InvalidArgument("'op' is the input's row kind, not a key field");
      if (output.IndexOf(name)) return Status::InvalidArgument("output field '" + name + "' is named twice");
      output.Add(input.field(*index));
    }
    const size_t keys = output.size();
    for (const auto& text : o.GetList("aggregates")) {
      SLUICE_ASSIGN_OR_RETURN(AggregateSpec spec, ParseAggregate(text, input));
      if (output.IndexOf(spec.name)) return Status::InvalidArgument("output field '" + spec.name + "' is named twice");
      output.Add(spec.output);
    }
    if (output.size() == keys) return Status::InvalidArgument("option 'aggregates' names no aggregate");
    if (output.size() - keys > 255) return Status::InvalidArgument("more than 255 aggregates");
    return output;
  };
  sig.input_keys = KeyedBy("key");
  sig.keeps_partitioning = KeepsKeyFields("key");
  return sig;
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
  sig.infer_output = [](const std::vector<Schema>& in, const OperatorOptions& o) -> Result<Schema> {
    const Schema& input = in[0];
    if (o.Has("time") != o.Has("size")) return Status::InvalidArgument("'time' and 'size' go together");
    std::vector<std::string> window_fields = {"window_start", "window_end"};
    if (o.Has("time")) {
      SLUICE_ASSIGN_OR_RETURN(int64_t size, o.GetDurationMs("size", 0));
      if (size <= 0) return Status::InvalidArgument("option 'size' must be a positive duration");
      window_fields = {o.GetStringOr("time", "")};
    }
    for (const auto& name : window_fields) {
      auto f = input.IndexOf(name);
      if (!f || input.field(*f).type != FieldType::kTimestamp) {
        return Status::InvalidArgument("the input needs a TIMESTAMP field '" + name +
                                       "' (window_start and window_end as window-aggregate emits, or 'time')");
      }
    }
    SLUICE_ASSIGN_OR_RETURN(std::string field, o.GetString("field"));
    auto f = input.IndexOf(field);
    if (!f) return Status::InvalidArgument("field '" + field + "' is not in " + input.ToString());
    FieldType t = input.field(*f).type;
    if (t != FieldType::kInt64 && t != FieldType::kDouble && t != FieldType::kTimestamp && t != FieldType::kDecimal) {
      return Status::InvalidArgument("field '" + field + "' must be numeric");
    }
    return input;
  };
  // Its key is the window: window_start, or none for windows of 'time' (one
  // global maximum per window).
  sig.input_keys = [](const OperatorOptions& o) {
    return std::vector<std::vector<std::string>>{
        o.Has("time") ? std::vector<std::string>{} : std::vector<std::string>{"window_start"}};
  };
  sig.keeps_partitioning = KeepsAll;
  return sig;
}

OperatorSignature SinkSignature(std::string type, std::string description,
                                std::vector<OptionSpec> options) {
  OperatorSignature sig;
  sig.type = std::move(type);
  sig.role = OperatorRole::kSink;
  sig.description = std::move(description);
  sig.options = std::move(options);
  sig.infer_output = [](const std::vector<Schema>&, const OperatorOptions&) -> Result<Schema> {
    return Schema();
  };
  return sig;
}

OperatorSignature FileSinkSignature() {
  OperatorSignature file_sink =
      SinkSignature("file-sink", "JSON lines, one file per subtask: <path>/part-<subtask>.jsonl.",
                    {{"path", true, "Output directory, created if missing; empty = discard rows."},
                     {"partition-by", false, "Fields whose values name subdirectories: <path>/<field>=<value>/..."},
                     {"overwrite", false, "true: delete the part files an earlier run left in 'path' (default "
                                          "false: a job whose 'path' holds files is refused)."}});
  file_sink.infer_output = [](const std::vector<Schema>& in, const OperatorOptions& o) -> Result<Schema> {
    const std::string overwrite = o.GetStringOr("overwrite", "false");
    if (overwrite != "true" && overwrite != "false") {
      return Status::InvalidArgument("option 'overwrite' must be true or false, got '" + overwrite + "'");
    }
    for (const auto& name : o.GetList("partition-by")) {
      if (!in[0].IndexOf(name)) return Status::InvalidArgument("partition field '" + name + "' is not in " + in[0].ToString());
    }
    return Schema();
  };
  return file_sink;
}

OperatorSignature PrintSignature() {
  return SinkSignature("print", "JSON lines on the worker's standard output, prefixed '<subtask>> '.", {});
}

OperatorSignature BlackholeSignature() {
  return SinkSignature("blackhole", "Discards every row (for benchmarks).", {});
}

}  // namespace

// Adding an operator: one line here (its signature, from its spec file) and
// one in OperatorRegistry::Builtin() (its runtime); see
// docs/adding-an-operator.md.
OperatorCatalog OperatorCatalog::Builtin() {
  OperatorCatalog catalog;
  catalog.Add(DatagenSignature());
  catalog.Add(NexmarkSignature());
  catalog.Add(FileSourceSignature());
  catalog.Add(CalcSignature());
  catalog.Add(KeyedCountSignature());
  catalog.Add(ThrottleSignature());
  catalog.Add(WindowAggregateSignature());
  catalog.Add(GroupAggregateSignature());
  catalog.Add(WindowMaxSignature());
  catalog.Add(JoinSignature());
  catalog.Add(WindowJoinSignature());
  catalog.Add(TopNSignature());
  catalog.Add(LookupJoinSignature());
  catalog.Add(FileSinkSignature());
  catalog.Add(PrintSignature());
  catalog.Add(BlackholeSignature());
  return catalog;
}

}  // namespace sluice
