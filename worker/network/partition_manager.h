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
  size_t waiting_requests() const;
  // Answers NOT_FOUND to every request waiting since before `cutoff_ms`
  // (steady clock) and forgets it: a partition that never comes, or a
  // request for one that does not exist, holds nothing for good.
  void ExpireRequests(int64_t cutoff_ms);
  // Every registered partition, for the stall watchdog.
  std::vector<std::shared_ptr<ResultPartition>> All() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ResultPartition>> partitions_;
  struct Waiting {
    ResultPartitionId id;
    Bind bind;
    int64_t since_ms;  // steady clock
  };
  std::map<std::string, std::vector<Waiting>> waiting_;
};

}  // namespace sluice
