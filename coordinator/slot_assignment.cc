#include "coordinator/slot_assignment.h"

namespace sluice {

Result<std::vector<std::string>> AssignSlots(const std::vector<WorkerFreeSlots>& workers, int needed) {
  int total = 0, free = 0;
  for (const auto& w : workers) {
    total += w.total_slots;
    free += w.free_slots;
  }
  if (needed > free) {
    return Status::ResourceExhausted(
        "the job needs " + std::to_string(needed) + " slots; the cluster has " +
        std::to_string(total) + " slots on " + std::to_string(workers.size()) + " workers, " +
        std::to_string(free) + " of them free");
  }
  std::vector<int> left;
  for (const auto& w : workers) left.push_back(w.free_slots);
  std::vector<std::string> slots;
  for (int s = 0; s < needed; ++s) {
    size_t best = 0;
    for (size_t i = 1; i < left.size(); ++i) {
      if (left[i] > left[best]) best = i;
    }
    --left[best];
    slots.push_back(workers[best].worker_id);
  }
  return slots;
}

}  // namespace sluice
