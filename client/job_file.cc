#include "client/job_file.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/catalog/graph_schema.h"
#include "common/config.h"
#include "common/graph/topological_order.h"

namespace sluice {

bool IsJobConfigKey(const std::string& key) {
  const ConfigKey* k = FindConfigKey(key);
  return k != nullptr && k->per_job;
}

std::string UnknownJobConfigKey(const std::string& key) {
  const ConfigKey* known = FindConfigKey(key);
  if (known != nullptr && !known->per_job) {
    return "config key '" + key + "' belongs to the daemons' configuration; a job cannot set it";
  }
  return "unknown job config key '" + key + "' (did you mean '" + NearestConfigKey(key, true)->name +
         "'? see docs/configuration.md, Job keys)";
}

bool LooksLikeConfigKey(const std::string& name) {
  // Every config key is dotted; a parameter rarely is. A name a couple of
  // edits from a job key is taken for one too (checkpointinterval).
  return name.find('.') != std::string::npos || EditDistance(name, NearestConfigKey(name, true)->name) <= 2;
}

namespace {

struct Input {
  std::string from;
  proto::Partitioning partitioning = proto::FORWARD;
  bool partition_given = false;  // else FORWARD, or REBALANCE across a parallelism change
  std::vector<std::string> keys;
  int line = 0;
};

struct OperatorDecl {
  proto::OperatorSpec spec;
  std::vector<Input> inputs;
  int parallelism = 0;
  int line = 0;
};

class Parser {
 public:
  Parser(std::string origin, const JobFileOptions& options, const OperatorCatalog& catalog)
      : origin_(std::move(origin)), options_(options), catalog_(catalog) {}

  Result<proto::JobGraph> Parse(const std::string& yaml);

 private:
  Status Error(int line, const std::string& msg) const {
    return Status::InvalidArgument(origin_ + ":" + std::to_string(line) + ": " + msg);
  }
  static int LineOf(const YAML::Node& node) { return node.Mark().line + 1; }
  Result<std::string> Scalar(const YAML::Node& node, const std::string& what);
  Result<std::vector<std::string>> ScalarOrList(const YAML::Node& node, const std::string& what);
  Result<std::string> Substitute(const std::string& text, int line);
  Status ParseParameters(const YAML::Node& node);
  Result<OperatorDecl> ParseOperator(const YAML::Node& node, const OperatorDecl* previous);
  Result<Input> ParseInput(const YAML::Node& node);
  Result<proto::JobGraph> BuildGraph(std::vector<OperatorDecl> ops, int parallelism);

  const std::string origin_;
  const JobFileOptions& options_;
  const OperatorCatalog& catalog_;
  std::map<std::string, std::string> parameters_;
};

Result<std::string> Parser::Scalar(const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) return Error(LineOf(node), what + " must be a single value");
  return Substitute(node.Scalar(), LineOf(node));
}

Result<std::vector<std::string>> Parser::ScalarOrList(const YAML::Node& node, const std::string& what) {
  std::vector<std::string> out;
  if (node.IsSequence()) {
    for (const auto& item : node) {
      SLUICE_ASSIGN_OR_RETURN(std::string v, Scalar(item, what + " item"));
      out.push_back(std::move(v));
    }
    // In a flow list ([a, b]) YAML splits at every comma, also the one in
    // `DECIMAL(10,2)` or `concat(a, b)`: an item that opens more parentheses
    // than it closes, followed by one that closes more, was one item.
    auto item_quoted = [](const YAML::Node& item) { return item.Tag() == "!"; };
    auto depth = [](const std::string& text) {
      int d = 0;
      for (char c : text) d += c == '(' ? 1 : c == ')' ? -1 : 0;
      return d;
    };
    for (size_t i = 0; i + 1 < out.size(); ++i) {
      if (depth(out[i]) > 0 && depth(out[i + 1]) < 0 && !item_quoted(node[i]) && !item_quoted(node[i + 1])) {
        return Error(LineOf(node[i]), what + ": YAML split '" + out[i] + "," + out[i + 1] +
                                          "' at its comma into '" + out[i] + "' and '" + out[i + 1] +
                                          "'; quote the item: \"" + out[i] + "," + out[i + 1] + "\"");
      }
    }
  } else {
    SLUICE_ASSIGN_OR_RETURN(std::string v, Scalar(node, what));
    out.push_back(std::move(v));
  }
  return out;
}

// Replaces ${name} with the parameter's value; "$${" escapes a literal "${".
Result<std::string> Parser::Substitute(const std::string& text, int line) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 2;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out.push_back(text[i]);
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string::npos) return Error(line, "unclosed '${' in '" + text + "'");
    std::string name = text.substr(i + 2, close - i - 2);
    auto it = parameters_.find(name);
    if (it == parameters_.end()) {
      std::string declared;
      for (const auto& [p, _] : parameters_) declared += (declared.empty() ? "" : ", ") + p;
      return Error(line, "unknown parameter '${" + name + "}' (declared: " +
                             (declared.empty() ? "none" : declared) + ")");
    }
    out += it->second;
    i = close;
  }
  return out;
}

Status Parser::ParseParameters(const YAML::Node& node) {
  if (!options_.job_dir.empty()) parameters_["job-dir"] = options_.job_dir;
  if (node && !node.IsNull()) {
    if (!node.IsMap()) return Error(LineOf(node), "'parameters' must be a map of name: default");
    for (const auto& kv : node) {
      if (!kv.second.IsScalar()) {
        return Error(LineOf(kv.second), "parameter '" + kv.first.Scalar() + "' must have a single default value");
      }
      parameters_[kv.first.Scalar()] = kv.second.Scalar();
    }
  }
  for (const auto& [name, value] : options_.parameters) {
    if (!parameters_.count(name) && IsJobConfigKey(name)) continue;  // a config key, handled apart
    if (!parameters_.count(name) && LooksLikeConfigKey(name)) {
      // Most likely a misspelt config key: say so, rather than that the
      // job has no such parameter.
      return Status::InvalidArgument(origin_ + ": -D " + name + "=...: " + UnknownJobConfigKey(name) +
                                     "; nor does the job declare a parameter '" + name + "'");
    }
    if (!parameters_.count(name)) {
      std::string declared;
      for (const auto& [p, _] : parameters_) declared += (declared.empty() ? "" : ", ") + p;
      return Status::InvalidArgument(origin_ + ": -D " + name + "=...: the job declares no parameter '" + name +
                                     "' (declared: " + (declared.empty() ? "none" : declared) + ")");
    }
    parameters_[name] = value;
  }
  return Status::Ok();
}

Result<Input> Parser::ParseInput(const YAML::Node& node) {
  Input in;
  in.line = LineOf(node);
  if (node.IsScalar()) {
    SLUICE_ASSIGN_OR_RETURN(in.from, Scalar(node, "input"));
    return in;
  }
  if (!node.IsMap()) return Error(in.line, "an input is an operator id or a map with 'from'");
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (key == "from") {
      SLUICE_ASSIGN_OR_RETURN(in.from, Scalar(kv.second, "from"));
    } else if (key == "partition") {
      SLUICE_ASSIGN_OR_RETURN(std::string p, Scalar(kv.second, "partition"));
      for (auto& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      in.partition_given = true;
      if (p == "forward") in.partitioning = proto::FORWARD;
      else if (p == "hash") in.partitioning = proto::HASH;
      else if (p == "rebalance") in.partitioning = proto::REBALANCE;
      else if (p == "broadcast") in.partitioning = proto::BROADCAST;
      else return Error(LineOf(kv.second), "unknown partition '" + p + "' (forward, hash, rebalance, broadcast)");
    } else if (key == "key") {
      SLUICE_ASSIGN_OR_RETURN(in.keys, ScalarOrList(kv.second, "key"));
    } else {
      return Error(LineOf(kv.first), "unknown input key '" + key + "' (from, partition, key)");
    }
  }
  if (in.from.empty()) return Error(in.line, "an input needs 'from'");
  if (in.partitioning == proto::HASH && in.keys.empty()) return Error(in.line, "a hash input needs 'key'");
  if (in.partitioning != proto::HASH && !in.keys.empty()) return Error(in.line, "'key' is only for hash inputs");
  return in;
}

Result<OperatorDecl> Parser::ParseOperator(const YAML::Node& node, const OperatorDecl* previous) {
  OperatorDecl decl;
  decl.line = LineOf(node);
  if (!node.IsMap()) return Error(decl.line, "an operator must be a map with at least 'id' and 'type'");
  if (!node["id"]) return Error(decl.line, "operator without 'id'");
  if (!node["type"]) return Error(decl.line, "operator without 'type'");
  SLUICE_ASSIGN_OR_RETURN(std::string id, Scalar(node["id"], "id"));
  SLUICE_ASSIGN_OR_RETURN(std::string type, Scalar(node["type"], "type"));
  decl.spec.set_id(id);
  decl.spec.set_type(type);
  const OperatorSignature* sig = catalog_.Find(type);
  if (sig == nullptr) {
    std::string known;
    for (const auto& t : catalog_.Types()) known += (known.empty() ? "" : ", ") + t;
    return Error(LineOf(node["type"]), "operator '" + id + "': unknown type '" + type + "' (known: " + known + ")");
  }
  bool has_input = false;
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (key == "id" || key == "type") continue;
    if (key == "input" || key == "inputs") {
      has_input = true;
      if (kv.second.IsSequence()) {
        for (const auto& item : kv.second) {
          SLUICE_ASSIGN_OR_RETURN(Input in, ParseInput(item));
          decl.inputs.push_back(std::move(in));
        }
      } else {
        SLUICE_ASSIGN_OR_RETURN(Input in, ParseInput(kv.second));
        decl.inputs.push_back(std::move(in));
      }
    } else if (key == "parallelism") {
      SLUICE_ASSIGN_OR_RETURN(std::string p, Scalar(kv.second, "parallelism"));
      auto v = ParseInt(p);
      if (!v.ok() || *v < 1) return Error(LineOf(kv.second), "operator '" + id + "': parallelism must be a positive integer, got '" + p + "'");
      decl.parallelism = static_cast<int>(*v);
    } else {
      SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> values, ScalarOrList(kv.second, "option '" + key + "'"));
      proto::OptionValue& option = (*decl.spec.mutable_options())[key];
      for (auto& v : values) option.add_values(std::move(v));
    }
  }
  // A non-source without an input reads the operator written before it.
  if (!has_input && sig->role != OperatorRole::kSource) {
    if (previous == nullptr) return Error(decl.line, "operator '" + id + "' (" + type + ") needs an 'input'");
    decl.inputs.push_back({previous->spec.id(), proto::FORWARD, false, {}, decl.line});
  }
  return decl;
}

Result<proto::JobGraph> Parser::BuildGraph(std::vector<OperatorDecl> ops, int parallelism) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (!index.emplace(ops[i].spec.id(), i).second) {
      return Error(ops[i].line, "operator id '" + ops[i].spec.id() + "' is used twice");
    }
    if (ops[i].parallelism == 0) ops[i].parallelism = parallelism;
  }
  // As Flink does: without a partitioning, an edge is FORWARD between equal
  // parallelisms and REBALANCE across a change.
  for (auto& op : ops) {
    for (auto& in : op.inputs) {
      auto it = index.find(in.from);
      if (!in.partition_given && it != index.end() && ops[it->second].parallelism != op.parallelism) {
        in.partitioning = proto::REBALANCE;
      }
    }
  }
  std::vector<std::vector<int>> consumers(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    for (const auto& in : ops[i].inputs) {
      auto it = index.find(in.from);
      if (it == index.end()) {
        return Error(in.line, "operator '" + ops[i].spec.id() + "' reads from '" + in.from + "', which is not declared");
      }
      consumers[it->second].push_back(static_cast<int>(i));
    }
  }
  // Vertices are numbered in this order.
  const TopologicalOrder sorted = SortTopologically(consumers);
  if (sorted.on_cycle >= 0) {
    const OperatorDecl& op = ops[static_cast<size_t>(sorted.on_cycle)];
    return Error(op.line, "operator '" + op.spec.id() + "' is part of a cycle; a job must be acyclic");
  }
  const std::vector<int>& order = sorted.order;

  // Chain: an operator joins its input's vertex when it has exactly that one
  // FORWARD input of equal parallelism and is that input's only consumer.
  std::vector<int> vertex_of(ops.size(), -1);
  proto::JobGraph graph;
  for (size_t i : order) {
    const OperatorDecl& op = ops[i];
    if (op.inputs.size() == 1 && op.inputs[0].partitioning == proto::FORWARD) {
      size_t up = index[op.inputs[0].from];
      if (consumers[up].size() == 1 && ops[up].parallelism == op.parallelism) {
        vertex_of[i] = vertex_of[up];
        *graph.mutable_vertices(vertex_of[i])->add_operators() = op.spec;
        continue;
      }
    }
    vertex_of[i] = graph.vertices_size();
    proto::Vertex* v = graph.add_vertices();
    v->set_id(op.spec.id());
    v->set_parallelism(op.parallelism);
    *v->add_operators() = op.spec;
    for (const auto& in : op.inputs) {
      proto::Edge* e = graph.add_edges();
      e->set_source(graph.vertices(vertex_of[index[in.from]]).id());
      e->set_target(op.spec.id());
      e->set_partitioning(in.partitioning);
      for (const auto& k : in.keys) e->add_key_fields(k);
    }
  }

  // Resolve schemas vertex by vertex (vertices are in topological order),
  // so errors name the file and line of the operator at fault.
  std::map<std::string, Schema> outputs;
  for (auto& vertex : *graph.mutable_vertices()) {
    std::vector<Schema> inputs;
    for (const auto& e : graph.edges()) {
      if (e.target() == vertex.id()) inputs.push_back(outputs[e.source()]);
    }
    std::vector<Schema> current = inputs;
    for (auto& op : *vertex.mutable_operators()) {
      auto schema = catalog_.Resolve(op.type(), current, OptionsFromProto(op));
      if (!schema.ok()) return Error(ops[index[op.id()]].line, schema.status().message());
      SchemaToProto(*schema, op.mutable_output_schema());
      current = {*schema};
    }
    *vertex.mutable_output_schema() = vertex.operators(vertex.operators_size() - 1).output_schema();
    outputs[vertex.id()] = current[0];
  }
  return graph;
}

Result<proto::JobGraph> Parser::Parse(const std::string& yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Error(e.mark.line + 1, "malformed YAML: " + e.msg);
  }
  if (!root.IsMap()) return Error(1, "a job file must be a YAML map with 'operators'");
  static const std::set<std::string> kTopLevel = {"name", "parameters", "parallelism", "config", "operators"};
  for (const auto& kv : root) {
    if (!kTopLevel.count(kv.first.Scalar())) {
      return Error(LineOf(kv.first), "unknown key '" + kv.first.Scalar() +
                                         "' (known: name, parameters, parallelism, config, operators)");
    }
  }
  SLUICE_RETURN_IF_ERROR(ParseParameters(root["parameters"]));
  std::map<std::string, std::string> job_config;
  if (root["config"]) {
    const YAML::Node& config = root["config"];
    if (!config.IsMap()) return Error(LineOf(config), "'config' must be a map of key: value");
    for (const auto& kv : config) {
      SLUICE_ASSIGN_OR_RETURN(std::string value, Scalar(kv.second, "config key '" + kv.first.Scalar() + "'"));
      job_config[kv.first.Scalar()] = value;
    }
  }
  // -D name=value sets a job config key when it names one rather than a parameter.
  for (const auto& [name, value] : options_.parameters) {
    if (!parameters_.count(name) && IsJobConfigKey(name)) job_config[name] = value;
  }
  for (const auto& [key, value] : job_config) {
    if (!IsJobConfigKey(key)) {
      return Status::InvalidArgument(origin_ + ": " + UnknownJobConfigKey(key));
    }
  }

  proto::JobGraph graph;
  std::string name = "job";
  if (root["name"]) {
    SLUICE_ASSIGN_OR_RETURN(name, Scalar(root["name"], "name"));
  }
  int parallelism = 1;
  if (root["parallelism"]) {
    SLUICE_ASSIGN_OR_RETURN(std::string p, Scalar(root["parallelism"], "parallelism"));
    auto v = ParseInt(p);
    if (!v.ok() || *v < 1) return Error(LineOf(root["parallelism"]), "parallelism must be a positive integer, got '" + p + "'");
    parallelism = static_cast<int>(*v);
  }
  if (options_.default_parallelism > 0) parallelism = options_.default_parallelism;

  const YAML::Node& list = root["operators"];
  if (!list || !list.IsSequence() || list.size() == 0) {
    return Error(list ? LineOf(list) : 1, "'operators' must be a non-empty list");
  }
  std::vector<OperatorDecl> ops;
  for (const auto& node : list) {
    SLUICE_ASSIGN_OR_RETURN(OperatorDecl decl, ParseOperator(node, ops.empty() ? nullptr : &ops.back()));
    ops.push_back(std::move(decl));
  }
  SLUICE_ASSIGN_OR_RETURN(graph, BuildGraph(std::move(ops), parallelism));
  graph.set_name(name);
  for (const auto& [key, value] : job_config) (*graph.mutable_config())[key] = value;
  return graph;
}

}  // namespace

Result<proto::JobGraph> ParseJobYaml(const std::string& yaml, const std::string& origin,
                                     const JobFileOptions& options, const OperatorCatalog& catalog) {
  Parser parser(origin, options, catalog);
  return parser.Parse(yaml);
}

Result<proto::JobGraph> ParseJobFile(const std::string& path, const JobFileOptions& options,
                                     const OperatorCatalog& catalog) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read job file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  JobFileOptions with_dir = options;
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  if (!ec) with_dir.job_dir = absolute.parent_path().string();
  return ParseJobYaml(text.str(), path, with_dir, catalog);
}

}  // namespace sluice
