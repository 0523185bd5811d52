#include "common/graph/topological_order.h"

namespace sluice {

TopologicalOrder SortTopologically(const std::vector<std::vector<int>>& successors) {
  const int n = static_cast<int>(successors.size());
  std::vector<int> indegree(n, 0);
  for (const auto& targets : successors) {
    for (int t : targets) ++indegree[t];
  }
  TopologicalOrder result;
  std::vector<int> ready;  // a stack: the lowest index on top
  for (int i = n; i-- > 0;) {
    if (indegree[i] == 0) ready.push_back(i);
  }
  while (!ready.empty()) {
    const int v = ready.back();
    ready.pop_back();
    result.order.push_back(v);
    for (int t : successors[v]) {
      if (--indegree[t] == 0) ready.push_back(t);
    }
  }
  if (static_cast<int>(result.order.size()) != n) {
    for (int i = 0; i < n && result.on_cycle < 0; ++i) {
      if (indegree[i] > 0) result.on_cycle = i;
    }
  }
  return result;
}

}  // namespace sluice
