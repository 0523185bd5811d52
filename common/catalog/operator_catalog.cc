#include "common/catalog/operator_catalog.h"

#include <algorithm>

#include "common/catalog/blackhole_spec.h"
#include "common/catalog/calc_spec.h"
#include "common/catalog/datagen_spec.h"
#include "common/catalog/file_sink_spec.h"
#include "common/catalog/file_source_spec.h"
#include "common/catalog/group_aggregate_spec.h"
#include "common/catalog/join_spec.h"
#include "common/catalog/keyed_count_spec.h"
#include "common/catalog/lookup_join_spec.h"
#include "common/catalog/nexmark_spec.h"
#include "common/catalog/print_spec.h"
#include "common/catalog/throttle_spec.h"
#include "common/catalog/top_n_spec.h"
#include "common/catalog/window_aggregate_spec.h"
#include "common/catalog/window_max_spec.h"
#include "common/config.h"

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
