// Spreading a job's slots over the workers' free slots.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace sluice {

struct WorkerFreeSlots {
  std::string worker_id;
  int free_slots = 0;
  int total_slots = 0;
};

// Picks `needed` slots, one at a time from the worker with the most free
// slots left (ties in the given order), so a job spreads across workers
// rather than filling one first. Returns the worker id of each slot, slot 0
// first. RESOURCE_EXHAUSTED, saying how many slots were needed, how many
// exist and how many are free, when there are too few.
Result<std::vector<std::string>> AssignSlots(const std::vector<WorkerFreeSlots>& workers, int needed);

}  // namespace sluice
