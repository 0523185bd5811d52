#include "coordinator/job_graph_validator.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "common/catalog/file_sink_spec.h"
#include "common/catalog/graph_schema.h"
#include "common/config.h"
#include "common/graph/topological_order.h"

namespace sluice {
namespace {

Status Invalid(const std::string& msg) { return Status::InvalidArgument(msg); }

// On a cycle, names one vertex on it.
Result<std::vector<int>> SortVertices(const proto::JobGraph& graph,
                                      const std::map<std::string, int>& index) {
  std::vector<std::vector<int>> successors(graph.vertices_size());
  for (const auto& e : graph.edges()) successors[index.at(e.source())].push_back(index.at(e.target()));
  TopologicalOrder sorted = SortTopologically(successors);
  if (sorted.on_cycle >= 0) {
    return Invalid("vertex '" + graph.vertices(sorted.on_cycle).id() +
                   "' is part of a cycle; a job graph must be acyclic");
  }
  return sorted.order;
}

// A value for an error message: its start only, so that refusing a huge
// value never sends it back.
std::string Shown(const std::string& value) {
  constexpr size_t kShown = 48;
  if (value.size() <= kShown) return "'" + value + "'";
  return "'" + value.substr(0, kShown) + "...' (" + std::to_string(value.size()) + " bytes)";
}

Status CheckLength(const std::string& what, const std::string& value, size_t limit) {
  if (value.size() <= limit) return Status::Ok();
  return Invalid(what + " " + Shown(value) + " is longer than the limit of " + std::to_string(limit) + " bytes");
}

std::string FieldList(const std::vector<std::string>& fields) {
  std::string out;
  for (const auto& f : fields) out += (out.empty() ? "" : ", ") + f;
  return "[" + out + "]";
}

// The fields a vertex's rows are hashed by, when every row with equal values
// of them is in the same subtask (at the vertex's parallelism); nullopt when
// rows are not placed by any key.
using Hashing = std::optional<std::vector<std::string>>;

// How the rows of edge `e` arrive, for an error message.
std::string DescribeEdge(const proto::Edge& e, const Hashing& hashing) {
  switch (e.partitioning()) {
    case proto::HASH: return "its input from '" + e.source() + "' is hashed by " + FieldList(hashing.value_or(std::vector<std::string>{}));
    case proto::FORWARD:
      return hashing ? "its input is forwarded from '" + e.source() + "', whose rows are hashed by " + FieldList(*hashing)
                     : "its input is forwarded from '" + e.source() + "', whose rows are not hashed by any key";
    case proto::REBALANCE: return "its input from '" + e.source() + "' is rebalanced (round robin)";
    case proto::BROADCAST: return "its input from '" + e.source() + "' is broadcast to every subtask";
    default: return "its input from '" + e.source() + "' is not hashed";
  }
}

// A keyed operator above parallelism 1 sees only the rows that reach its
// subtask: unless all rows of a key reach the subtask owning the key's key
// group, each subtask emits a partial result for the key (and keeps state in
// key groups it does not own). So each input must be hashed by exactly the
// operator's key, or forwarded (or chained) from rows hashed so at equal
// parallelism. Returns how the vertex's output is hashed.
Result<Hashing> CheckKeyedInputs(const OperatorCatalog& catalog, const proto::Vertex& vertex,
                                 const std::vector<const proto::Edge*>& edges, const std::vector<Hashing>& edge_hashing) {
  if (vertex.parallelism() == 1) return Hashing();  // one subtask sees every row
  Hashing current;
  for (int i = 0; i < vertex.operators_size(); ++i) {
    const proto::OperatorSpec& op = vertex.operators(i);
    const OperatorSignature* sig = catalog.Find(op.type());
    if (sig == nullptr) return Hashing();
    const OperatorOptions options = OptionsFromProto(op);
    // (edge or nullptr when chained, how its rows are hashed, which input)
    struct In {
      const proto::Edge* edge;
      Hashing hashing;
      size_t input;
    };
    std::vector<In> ins;
    if (i > 0) {
      ins.push_back({nullptr, current, 0});
    } else {
      for (size_t e = 0; e < edges.size(); ++e) ins.push_back({edges[e], edge_hashing[e], sig->inputs == 1 ? 0 : e});
    }
    if (sig->input_keys) {
      const std::vector<std::vector<std::string>> keys = sig->input_keys(options);
      const std::string name = "vertex '" + vertex.id() + "': operator '" + op.id() + "' (" + op.type() + ")";
      for (const In& in : ins) {
        if (in.input >= keys.size()) continue;
        const std::vector<std::string>& key = keys[in.input];
        const std::string side = sig->inputs == 1 ? "" : (in.input == 0 ? " (left)" : " (right)");
        if (key.empty()) {
          return Invalid(name + " has no key, so every row must reach one subtask, but it runs at parallelism " +
                         std::to_string(vertex.parallelism()) + " and each subtask would emit a partial result; " +
                         "give it `parallelism: 1`");
        }
        if (in.hashing == key) continue;
        std::string how = in.edge != nullptr ? DescribeEdge(*in.edge, in.hashing)
                          : in.hashing       ? "its input, chained from '" + vertex.operators(i - 1).id() +
                                             "', is hashed by " + FieldList(*in.hashing)
                                             : "its input, chained from '" + vertex.operators(i - 1).id() +
                                             "', is not hashed by any key";
        return Invalid(name + " is keyed by " + FieldList(key) + side + " but " + how + ", so at parallelism " +
                       std::to_string(vertex.parallelism()) +
                       " the rows of a key would be split over subtasks and each would emit a partial result; " +
                       "add `partition: hash, key: " + FieldList(key) + "` to its input" + side +
                       " (or run it at parallelism 1)");
      }
    }
    // What the operator's output keeps of how its (first) input is hashed.
    Hashing in = ins.empty() ? Hashing() : ins[0].hashing;
    for (const In& other : ins) {
      if (other.input == 0 && other.hashing != in) in.reset();  // a union of differently placed rows
    }
    current = in && sig->keeps_partitioning ? sig->keeps_partitioning(*in, options) : Hashing();
  }
  return current;
}

}  // namespace

Status CheckJobLimits(const proto::JobGraph& graph, const JobLimits& limits) {
  const size_t bytes = graph.ByteSizeLong();
  if (bytes > limits.max_graph_bytes) {
    return Invalid("the job graph is " + std::to_string(bytes) + " bytes; the limit is " +
                   std::to_string(limits.max_graph_bytes) + " bytes");
  }
  SLUICE_RETURN_IF_ERROR(CheckLength("the job name", graph.name(), limits.max_name_bytes));
  if (static_cast<size_t>(graph.config_size()) > limits.max_config_keys) {
    return Invalid("the job config has " + std::to_string(graph.config_size()) + " keys; the limit is " +
                   std::to_string(limits.max_config_keys));
  }
  for (const auto& [key, value] : graph.config()) {
    SLUICE_RETURN_IF_ERROR(CheckLength("job config key", key, limits.max_config_key_bytes));
    SLUICE_RETURN_IF_ERROR(CheckLength("job config key " + Shown(key) + ": the value", value,
                                       limits.max_config_value_bytes));
  }
  auto check_schema = [&](const std::string& where, const proto::Schema& schema) -> Status {
    for (const auto& field : schema.fields()) {
      SLUICE_RETURN_IF_ERROR(CheckLength(where + ": field name", field.name(), limits.max_id_bytes));
    }
    return Status::Ok();
  };
  for (int i = 0; i < graph.vertices_size(); ++i) {
    const auto& v = graph.vertices(i);
    SLUICE_RETURN_IF_ERROR(CheckLength("vertex #" + std::to_string(i) + ": the id", v.id(), limits.max_id_bytes));
    const std::string vertex = "vertex '" + v.id() + "'";
    SLUICE_RETURN_IF_ERROR(check_schema(vertex + " output schema", v.output_schema()));
    for (int j = 0; j < v.operators_size(); ++j) {
      const auto& op = v.operators(j);
      SLUICE_RETURN_IF_ERROR(CheckLength(vertex + ": operator #" + std::to_string(j) + ": the id", op.id(),
                                         limits.max_id_bytes));
      const std::string where = vertex + ": operator '" + op.id() + "'";
      SLUICE_RETURN_IF_ERROR(CheckLength(where + ": the type", op.type(), limits.max_id_bytes));
      if (static_cast<size_t>(op.options_size()) > limits.max_options) {
        return Invalid(where + " has " + std::to_string(op.options_size()) + " options; the limit is " +
                       std::to_string(limits.max_options));
      }
      for (const auto& [key, value] : op.options()) {
        SLUICE_RETURN_IF_ERROR(CheckLength(where + ": option key", key, limits.max_option_key_bytes));
        for (const auto& element : value.values()) {
          SLUICE_RETURN_IF_ERROR(CheckLength(where + ": option " + Shown(key) + ": the value", element,
                                             limits.max_option_value_bytes));
        }
      }
      SLUICE_RETURN_IF_ERROR(check_schema(where + " output schema", op.output_schema()));
    }
  }
  for (int i = 0; i < graph.edges_size(); ++i) {
    const auto& e = graph.edges(i);
    const std::string edge = "edge #" + std::to_string(i);
    SLUICE_RETURN_IF_ERROR(CheckLength(edge + ": the source", e.source(), limits.max_id_bytes));
    SLUICE_RETURN_IF_ERROR(CheckLength(edge + ": the target", e.target(), limits.max_id_bytes));
    for (const auto& key : e.key_fields()) {
      SLUICE_RETURN_IF_ERROR(CheckLength(edge + ": key field", key, limits.max_id_bytes));
    }
  }
  return Status::Ok();
}

Status ValidateJobConfig(const proto::JobGraph& graph) {
  // In key order, so the same graph always gets the same answer.
  std::map<std::string, std::string> config(graph.config().begin(), graph.config().end());
  for (const auto& [key, value] : config) {
    const ConfigKey* known = FindConfigKey(key);
    if (known == nullptr) {
      return Invalid("unknown job config key " + Shown(key) + " (did you mean '" +
                     NearestConfigKey(key, /*per_job_only=*/true)->name + "'? see docs/configuration.md, Job keys)");
    }
    if (!known->per_job) {
      return Invalid("config key '" + key + "' belongs to the daemons' configuration; a job cannot set it");
    }
  }
  return Status::Ok();
}

Status ValidateJobGraph(const OperatorCatalog& catalog, int default_max_parallelism,
                        proto::JobGraph* graph) {
  if (graph->vertices_size() == 0) return Invalid("the job graph has no vertices");
  if (graph->max_parallelism() == 0) graph->set_max_parallelism(default_max_parallelism);
  int max_p = graph->max_parallelism();
  if (max_p < 1 || max_p > 32768) {
    return Invalid("max parallelism " + std::to_string(max_p) + " is outside 1..32768");
  }

  std::map<std::string, int> index;
  std::set<std::string> operator_ids;
  for (int i = 0; i < graph->vertices_size(); ++i) {
    const auto& v = graph->vertices(i);
    if (v.id().empty()) return Invalid("vertex #" + std::to_string(i) + " has no id");
    if (!index.emplace(v.id(), i).second) return Invalid("vertex id '" + v.id() + "' is used twice");
    if (v.parallelism() < 1 || v.parallelism() > max_p) {
      return Invalid("vertex '" + v.id() + "': parallelism " + std::to_string(v.parallelism()) +
                     " is outside 1.." + std::to_string(max_p));
    }
    if (v.operators_size() == 0) return Invalid("vertex '" + v.id() + "' has no operators");
    for (const auto& op : v.operators()) {
      if (op.id().empty()) return Invalid("vertex '" + v.id() + "': an operator has no id");
      if (!operator_ids.insert(op.id()).second) {
        return Invalid("vertex '" + v.id() + "': operator id '" + op.id() + "' is used twice");
      }
    }
  }

  std::map<int, std::vector<const proto::Edge*>> inputs;
  for (const auto& e : graph->edges()) {
    std::string name = "edge '" + e.source() + "' -> '" + e.target() + "'";
    if (!index.count(e.source())) return Invalid(name + ": no vertex '" + e.source() + "'");
    if (!index.count(e.target())) return Invalid(name + ": no vertex '" + e.target() + "'");
    if (e.source() == e.target()) return Invalid("vertex '" + e.source() + "' is part of a cycle (an edge to itself)");
    inputs[index[e.target()]].push_back(&e);
  }
  SLUICE_ASSIGN_OR_RETURN(std::vector<int> order, SortVertices(*graph, index));

  std::vector<Schema> outputs(graph->vertices_size());
  std::vector<Hashing> hashing(graph->vertices_size());
  for (int v : order) {
    proto::Vertex* vertex = graph->mutable_vertices(v);
    std::vector<Schema> input_schemas;
    for (const proto::Edge* e : inputs[v]) {
      // One schema per edge: a join takes two, and the catalog checks that
      // the edges of a union agree.
      const Schema& upstream = outputs[index[e->source()]];
      input_schemas.push_back(upstream);
      const auto& source = graph->vertices(index[e->source()]);
      std::string name = "edge '" + e->source() + "' -> '" + e->target() + "'";
      if (e->partitioning() == proto::FORWARD && source.parallelism() != vertex->parallelism()) {
        return Invalid(name + ": a FORWARD edge needs equal parallelism on both ends (" +
                       std::to_string(source.parallelism()) + " vs " +
                       std::to_string(vertex->parallelism()) + ")");
      }
      if (e->partitioning() == proto::HASH) {
        if (e->key_fields_size() == 0) return Invalid(name + ": a HASH edge needs key fields");
        for (const auto& key : e->key_fields()) {
          if (!upstream.IndexOf(key)) {
            return Invalid(name + ": key field '" + key + "' is not in " + upstream.ToString());
          }
        }
      }
    }
    auto chain_output = ResolveChain(catalog, input_schemas, vertex);
    if (!chain_output.ok()) return chain_output.status();
    Schema declared = SchemaFromProto(vertex->output_schema());
    if (vertex->has_output_schema() && !vertex->output_schema().fields().empty() &&
        declared != *chain_output) {
      return Invalid("vertex '" + vertex->id() + "': declared output schema " + declared.ToString() +
                     " does not match the schema its operators produce " + chain_output->ToString());
    }
    SchemaToProto(*chain_output, vertex->mutable_output_schema());
    outputs[v] = *chain_output;
    std::vector<Hashing> edge_hashing;
    for (const proto::Edge* e : inputs[v]) {
      if (e->partitioning() == proto::HASH) {
        edge_hashing.emplace_back(std::vector<std::string>(e->key_fields().begin(), e->key_fields().end()));
      } else if (e->partitioning() == proto::FORWARD) {
        edge_hashing.push_back(hashing[index[e->source()]]);
      } else {
        edge_hashing.emplace_back();
      }
    }
    SLUICE_ASSIGN_OR_RETURN(hashing[v], CheckKeyedInputs(catalog, *vertex, inputs[v], edge_hashing));
    bool has_consumer = false;
    for (const auto& e : graph->edges()) has_consumer = has_consumer || e.source() == vertex->id();
    const auto& last = vertex->operators(vertex->operators_size() - 1);
    bool ends_in_sink = catalog.Find(last.type())->role == OperatorRole::kSink;
    if (!has_consumer && !ends_in_sink) {
      return Invalid("vertex '" + vertex->id() + "': its output goes nowhere; end it with a sink");
    }
    if (has_consumer && ends_in_sink) {
      return Invalid("vertex '" + vertex->id() + "' ends in sink '" + last.id() + "' but has outgoing edges");
    }
  }

  return Status::Ok();
}

namespace {

// The schema an operator of a validated graph reads: its predecessor's in
// the chain, or the output of a vertex feeding its own (an empty schema
// where the graph says none).
Schema InputSchemaOf(const proto::JobGraph& graph, const proto::Vertex& vertex, int op) {
  if (op > 0) return SchemaFromProto(vertex.operators(op - 1).output_schema());
  for (const auto& e : graph.edges()) {
    if (e.target() != vertex.id()) continue;
    for (const auto& v : graph.vertices()) {
      if (v.id() == e.source() && v.operators_size() > 0) {
        return SchemaFromProto(v.operators(v.operators_size() - 1).output_schema());
      }
    }
  }
  return Schema();
}

}  // namespace

Status CheckSinkDirectories(const proto::JobGraph& graph) {
  for (const auto& vertex : graph.vertices()) {
    for (int i = 0; i < vertex.operators_size(); ++i) {
      const auto& op = vertex.operators(i);
      if (op.type() != "file-sink") continue;
      // This runs after ValidateJobGraph, so the spec binds as it did there.
      auto spec = ParseFileSink(OptionsFromProto(op), InputSchemaOf(graph, vertex, i));
      if (!spec.ok()) return spec.status().WithPrefix("vertex '" + vertex.id() + "'");
      const std::string& path = spec->path;
      if (path.empty() || spec->overwrite) continue;
      // Hidden files are staging files of earlier attempts, never output;
      // the sink's subtasks delete their own when they open.
      std::vector<std::string> visible;
      std::error_code ec;
      for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!name.empty() && name[0] != '.') visible.push_back(std::move(name));
      }
      if (visible.empty()) continue;
      std::sort(visible.begin(), visible.end());
      std::string some;
      for (size_t i = 0; i < visible.size() && i < 3; ++i) some += (i ? ", " : "") + visible[i];
      if (visible.size() > 3) some += ", ...";
      return Status::FailedPrecondition(
          "vertex '" + vertex.id() + "': operator '" + op.id() + "' (file-sink): directory '" + path +
          "' is not empty (" + some + "); its rows would mix with this job's. Choose an empty directory, or set " +
          "`sink.overwrite: true` on the sink to delete the part files of earlier runs there first");
    }
  }
  return Status::Ok();
}

}  // namespace sluice
