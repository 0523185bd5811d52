#include "worker/network/partition_manager.h"

namespace sluice {

void PartitionManager::Register(std::shared_ptr<ResultPartition> partition) {
  std::vector<Waiting> waiting;
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
  for (auto& w : waiting) w.bind(partition);
}

void PartitionManager::Request(const ResultPartitionId& id, Bind bind) {
  std::shared_ptr<ResultPartition> partition;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = partitions_.find(id.Key());
    if (it == partitions_.end()) {
      waiting_[id.Key()].push_back({id, std::move(bind), SteadyNowMs()});
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
      if (!it->second.empty() && it->second.front().id.job_id == job_id) {
        for (auto& w : it->second) failed.push_back(std::move(w.bind));
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
  std::map<std::string, std::vector<Waiting>> failed;
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
    for (auto& w : binds) w.bind(reason);
  }
}

size_t PartitionManager::partitions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return partitions_.size();
}

void PartitionManager::ExpireRequests(int64_t cutoff_ms) {
  std::vector<Waiting> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      auto& list = it->second;
      for (auto w = list.begin(); w != list.end();) {
        if (w->since_ms < cutoff_ms) {
          expired.push_back(std::move(*w));
          w = list.erase(w);
        } else {
          ++w;
        }
      }
      it = list.empty() ? waiting_.erase(it) : std::next(it);
    }
  }
  for (auto& w : expired) {
    w.bind(Status::NotFound(w.id.ToString() + " of job " + w.id.job_id + " (attempt " + std::to_string(w.id.attempt) +
                            ") was not produced on this worker in time (network.partition-request-timeout)"));
  }
}

size_t PartitionManager::waiting_requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [key, list] : waiting_) n += list.size();
  return n;
}

std::vector<std::shared_ptr<ResultPartition>> PartitionManager::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<ResultPartition>> all;
  all.reserve(partitions_.size());
  for (const auto& [key, p] : partitions_) all.push_back(p);
  return all;
}

}  // namespace sluice
