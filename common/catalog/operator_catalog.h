// The operator catalog: which operator types exist, which options each takes,
// and what schema each produces. The client uses it to build job graphs, the
// coordinator to validate them, and the worker's runtime registry must offer
// an implementation for every type listed here.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/records/schema.h"
#include "common/status.h"

namespace sluice {

enum class OperatorRole { kSource, kTransform, kSink };
const char* OperatorRoleName(OperatorRole role);

// Option values of one operator as written in the job file: a scalar is a
// list of one.
class OperatorOptions {
 public:
  using Map = std::map<std::string, std::vector<std::string>>;

  OperatorOptions() = default;
  OperatorOptions(std::string operator_id, Map values)
      : operator_id_(std::move(operator_id)), values_(std::move(values)) {}

  const std::string& operator_id() const { return operator_id_; }
  const Map& values() const { return values_; }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }

  // Errors name the operator and the option.
  Result<std::string> GetString(const std::string& name) const;
  std::string GetStringOr(const std::string& name, const std::string& fallback) const;
  Result<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  Result<double> GetDouble(const std::string& name, double fallback) const;
  Result<int64_t> GetDurationMs(const std::string& name, int64_t fallback) const;
  std::vector<std::string> GetList(const std::string& name) const;

  // "operator '<id>': option '<name>' <problem>".
  Status Error(const std::string& name, const std::string& problem) const;

 private:

  std::string operator_id_;
  Map values_;
};

struct OptionSpec {
  std::string name;
  bool required = false;
  std::string description;
};

struct OperatorSignature {
  std::string type;
  OperatorRole role = OperatorRole::kTransform;
  std::string description;
  std::vector<OptionSpec> options;
  // Inputs of a transform or sink: 1, or 2 for joins (the first input is the
  // left side). A one-input operator fed by several edges reads their union,
  // which needs one schema.
  int inputs = 1;
  // Output schema from input schemas (none for sources) and options; sinks
  // return an empty schema.
  std::function<Result<Schema>(const std::vector<Schema>&, const OperatorOptions&)> infer_output;
  // Keyed operators: per input, the fields whose hash places its rows in key
  // groups (the state's and the HASH partitioner's). Every row of a key must
  // reach the subtask owning its key group, so above parallelism 1 that
  // input must be hashed by exactly these fields, in this order. An empty
  // list is one global key, correct at parallelism 1 only. Unset: not keyed.
  std::function<std::vector<std::vector<std::string>>(const OperatorOptions&)> input_keys;
  // Whether the output stays hashed as the (first) input was: given the
  // fields the input is hashed by, the output fields holding the same values
  // (so hashed alike), or nullopt when that partitioning is lost. Unset: lost.
  std::function<std::optional<std::vector<std::string>>(const std::vector<std::string>& hashed,
                                                         const OperatorOptions&)>
      keeps_partitioning;
};

class OperatorCatalog {
 public:
  // The operators built into Sluice.
  static OperatorCatalog Builtin();

  void Add(OperatorSignature signature);
  const OperatorSignature* Find(const std::string& type) const;
  std::vector<std::string> Types() const;

  // Checks the type and the options (unknown ones, missing required ones) and
  // returns the output schema. Errors are INVALID_ARGUMENT and name the
  // operator, e.g. "operator 'filter' (calc): unknown option 'wher' (known:
  // select, where)".
  Result<Schema> Resolve(const std::string& type, const std::vector<Schema>& inputs,
                         const OperatorOptions& options) const;

 private:
  std::map<std::string, OperatorSignature> signatures_;
};

// An error of a spec's parser, as the runtime reports it: prefixed
// "operator '<id>'" unless it names the operator already (the errors of
// OperatorOptions do). The catalog's Resolve adds the type too.
Status NameOperator(const std::string& operator_id, const Status& status);

// Pieces the signatures of several operators share.
//
// For operators whose output fields carry the input's values under the
// input's names (pass-through and enriching operators): the hashing stays.
std::optional<std::vector<std::string>> KeepsAll(const std::vector<std::string>& hashed, const OperatorOptions&);
// input_keys of an operator keyed by the fields of one option (may be none:
// one global key).
std::function<std::vector<std::vector<std::string>>(const OperatorOptions&)> KeyedBy(std::string option);
// Aggregates emit their key fields as they were and new fields beside them:
// the hashing stays when every hashed field is a key field.
std::function<std::optional<std::vector<std::string>>(const std::vector<std::string>&, const OperatorOptions&)>
KeepsKeyFields(std::string option);
// infer_output from a spec's parser: the spec's `output`, or an empty
// schema for a sink's spec (which has none). For sources the parser takes the
// options only; for one-input operators and sinks, also the input schema.
template <typename Spec>
std::function<Result<Schema>(const std::vector<Schema>&, const OperatorOptions&)> OutputOf(
    Result<Spec> (*parse)(const OperatorOptions&, const Schema&)) {
  return [parse](const std::vector<Schema>& in, const OperatorOptions& o) -> Result<Schema> {
    SLUICE_ASSIGN_OR_RETURN(Spec spec, parse(o, in[0]));
    if constexpr (requires { spec.output; }) return spec.output;
    else return Schema();
  };
}
template <typename Spec>
std::function<Result<Schema>(const std::vector<Schema>&, const OperatorOptions&)> OutputOf(
    Result<Spec> (*parse)(const OperatorOptions&)) {
  return [parse](const std::vector<Schema>&, const OperatorOptions& o) -> Result<Schema> {
    SLUICE_ASSIGN_OR_RETURN(Spec spec, parse(o));
    return spec.output;
  };
}

// The fields named by a list option, as indexes into `input`; an unknown
// name is "<what> '<name>' is not in <schema>".
Result<std::vector<size_t>> FieldIndexes(const OperatorOptions& options, const std::string& option,
                                         const Schema& input, const std::string& what);

}  // namespace sluice
