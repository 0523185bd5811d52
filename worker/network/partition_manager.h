// The result partitions living on a worker, and the readers waiting for
// partitions not registered yet: a consumer may ask before its producer is
// deployed, so requests wait rather than fail.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "worker/network/result_partition.h"

namespace sluice {

class PartitionManager {
 public:
  // Called with the partition once it exists (possibly at once), or with an
  // error when the job's partitions are released first.
  using Bind = std::function<void(Result<std::shared_ptr<ResultPartition>>)>;

  void Register(std::shared_ptr<ResultPartition> partition);
  void Request(const ResultPartitionId& id, Bind bind);
  // Called when every subpartition has been consumed to its end.
  void OnConsumed(const ResultPartitionId& id);
  // Releases every partition of the job and fails its waiting requests.
  void ReleaseJob(const std::string& job_id, const Status& reason);
  // Releases every partition and fails every waiting request.
  void ReleaseAll(const Status& reason);
  size_t partitions() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ResultPartition>> partitions_;
  std::map<std::string, std::vector<std::pair<ResultPartitionId, Bind>>> waiting_;
};

}  // namespace sluice
