// Kahn's algorithm, for the job graph wherever it is ordered: the client
// numbers a job file's vertices with it, the coordinator resolves a submitted
// graph's schemas in its order. Both refuse a cycle, each in its own words.
#pragma once

#include <vector>

namespace sluice {

struct TopologicalOrder {
  std::vector<int> order;  // every vertex after all its predecessors; partial on a cycle
  // -1 when the graph is acyclic; else the lowest vertex left out of
  // `order` (on a cycle, or behind one), for the error to name.
  int on_cycle = -1;
};

// Orders vertices 0..successors.size()-1; successors[v] are the vertices
// with an edge from v. Deterministic: of the vertices ready at the start the
// lowest comes first, and a vertex that becomes ready comes before those
// ready earlier (depth first), so a chain of operators stays together.
TopologicalOrder SortTopologically(const std::vector<std::vector<int>>& successors);

}  // namespace sluice
