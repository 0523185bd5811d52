#include "coordinator/job_graph_validator.h"

#include <map>
#include <set>

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

}  // namespace sluice
