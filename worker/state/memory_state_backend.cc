// The in-memory backend: an ordered map, for jobs whose state fits in memory
// and for comparing against RocksDB (bench/nexmark/run.sh --state memory).
#include <map>
#include <utility>
#include <vector>

#include "worker/state/state_backends.h"

namespace sluice {
namespace {

using Map = std::map<std::string, std::string, std::less<>>;

class MemoryIterator final : public StateIterator {
 public:
  MemoryIterator(Map::const_iterator it, Map::const_iterator end, std::string prefix)
      : it_(it), end_(end), prefix_(std::move(prefix)) {}
  bool Valid() const override { return it_ != end_ && std::string_view(it_->first).starts_with(prefix_); }
  std::string_view key() const override { return it_->first; }
  std::string_view value() const override { return it_->second; }
  void Next() override { ++it_; }
  Status status() const override { return Status::Ok(); }

 private:
  Map::const_iterator it_, end_;
  std::string prefix_;
};

// A copy of every entry: the snapshot of an asynchronous checkpoint.
class CopiedIterator final : public StateIterator {
 public:
  explicit CopiedIterator(std::vector<std::pair<std::string, std::string>> entries) : entries_(std::move(entries)) {}
  bool Valid() const override { return i_ < entries_.size(); }
  std::string_view key() const override { return entries_[i_].first; }
  std::string_view value() const override { return entries_[i_].second; }
  void Next() override { ++i_; }
  Status status() const override { return Status::Ok(); }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
  size_t i_ = 0;
};

class MemoryStateBackend final : public KeyedStateBackend {
 public:
  Status Put(std::string_view key, std::string_view value) override {
    auto it = map_.find(key);
    if (it == map_.end()) {
      map_.emplace(std::string(key), std::string(value));
    } else {
      it->second.assign(value);
    }
    return Status::Ok();
  }
  Result<bool> Get(std::string_view key, std::string* value) override {
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    value->assign(it->second);
    return true;
  }
  Status Delete(std::string_view key) override {
    auto it = map_.find(key);
    if (it != map_.end()) map_.erase(it);
    return Status::Ok();
  }
  std::unique_ptr<StateIterator> Scan(std::string_view prefix, std::string_view from) override {
    std::string_view start = from.empty() || from < prefix ? prefix : from;
    return std::make_unique<MemoryIterator>(map_.lower_bound(start), map_.end(), std::string(prefix));
  }
  std::unique_ptr<StateIterator> SnapshotAll() override {
    return std::make_unique<CopiedIterator>(std::vector<std::pair<std::string, std::string>>(map_.begin(), map_.end()));
  }
  const char* kind() const override { return "memory"; }
  uint64_t ApproximateEntries() override { return map_.size(); }

 private:
  Map map_;
};

}  // namespace

std::unique_ptr<KeyedStateBackend> NewMemoryStateBackend() { return std::make_unique<MemoryStateBackend>(); }

}  // namespace sluice
