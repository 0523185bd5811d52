#include "coordinator/job_graph_validator.h"

#include <map>
#include <set>

#include "common/catalog/graph_schema.h"

namespace sluice {
namespace {

Status Invalid(const std::string& msg) { return Status::InvalidArgument(msg); }

// Kahn's algorithm; on a cycle, names one vertex on it.
Result<std::vector<int>> TopologicalOrder(const proto::JobGraph& graph,
                                          const std::map<std::string, int>& index) {
  int n = graph.vertices_size();
  std::vector<int> indegree(n, 0);
  std::vector<std::vector<int>> out(n);
  for (const auto& e : graph.edges()) {
    int s = index.at(e.source()), t = index.at(e.target());
    out[s].push_back(t);
    ++indegree[t];
  }
  std::vector<int> order, ready;
  for (int i = 0; i < n; ++i) {
    if (indegree[i] == 0) ready.push_back(i);
  }
  while (!ready.empty()) {
    int v = ready.back();
    ready.pop_back();
    order.push_back(v);
    for (int t : out[v]) {
      if (--indegree[t] == 0) ready.push_back(t);
    }
  }
  if (static_cast<int>(order.size()) != n) {
    for (int i = 0; i < n; ++i) {
      if (indegree[i] > 0) {
        return Invalid("vertex '" + graph.vertices(i).id() + "' is part of a cycle; a job graph must be acyclic");
      }
    }
  }
  return order;
}

}  // namespace

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
  SLUICE_ASSIGN_OR_RETURN(std::vector<int> order, TopologicalOrder(*graph, index));

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
