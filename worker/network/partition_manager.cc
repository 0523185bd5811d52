#include "worker/network/partition_manager.h"

namespace sluice {

void PartitionManager::Register(std::shared_ptr<ResultPartition> partition) {
  std::vector<std::pair<ResultPartitionId, Bind>> waiting;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::string key = partition->id().Key();
    partitions_[key] = partition;
    auto it = waiting_.find(key);
    if (it != waiting_.end()) {
      waiting = std::move(it->second);
      waiting_.erase(it);
    }
  }
  for (auto& [id, bind] : waiting) bind(partition);
}

void PartitionManager::Request(const ResultPartitionId& id, Bind bind) {
  std::shared_ptr<ResultPartition> partition;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partitions_.find(id.Key());
    if (it == partitions_.end()) {
      waiting_[id.Key()].emplace_back(id, std::move(bind));
      return;
    }
    partition = it->second;
  }
  bind(partition);
}

void PartitionManager::OnConsumed(const ResultPartitionId& id) {
  std::lock_guard<std::mutex> lock(mu_);
  partitions_.erase(id.Key());
}

void PartitionManager::ReleaseJob(const std::string& job_id, const Status& reason) {
  std::vector<std::shared_ptr<ResultPartition>> released;
  std::vector<Bind> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = partitions_.begin(); it != partitions_.end();) {
      if (it->second->id().job_id == job_id) {
        released.push_back(it->second);
        it = partitions_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (!it->second.empty() && it->second.front().first.job_id == job_id) {
        for (auto& w : it->second) failed.push_back(std::move(w.second));
        it = waiting_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& p : released) {
    p->Fail(reason);
    p->Release();
  }
  for (auto& bind : failed) bind(reason);
}

void PartitionManager::ReleaseAll(const Status& reason) {
  std::map<std::string, std::shared_ptr<ResultPartition>> released;
  std::map<std::string, std::vector<std::pair<ResultPartitionId, Bind>>> failed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    released.swap(partitions_);
    failed.swap(waiting_);
  }
  for (auto& [key, p] : released) {
    p->Fail(reason);
    p->Release();
  }
  for (auto& [key, binds] : failed) {
    for (auto& w : binds) w.second(reason);
  }
}

size_t PartitionManager::partitions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return partitions_.size();
}

}  // namespace sluice
