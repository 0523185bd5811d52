// The RocksDB backend. State is a working copy in a local directory that
// lives as long as the task; durability comes from checkpoints, not from
// RocksDB's write-ahead log, which is off (as in Flink).
#include <algorithm>
#include <filesystem>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>

#include "worker/state/state_backends.h"

namespace sluice {
namespace {

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsNoSpace()) return Status::ResourceExhausted(what + ": disk full: " + s.ToString());
  return Status::IoError(what + ": " + s.ToString());
}

// The smallest key greater than every key starting with `prefix`; empty when
// there is none (a prefix of 0xff bytes only).
std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last != 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return end;
}

rocksdb::Options StateOptions() {
  rocksdb::Options options;
  // State is rewritten often and read back soon: favour write speed and keep
  // recent entries in memory; compression costs more CPU than it saves here.
  options.compression = rocksdb::kNoCompression;
  options.write_buffer_size = 64 << 20;
  options.max_write_buffer_number = 3;
  options.max_background_jobs = 1;
  options.max_open_files = 256;
  // Keys start with [key group][state] (state_key.h), and within one such
  // prefix operators mostly insert near the last key: timers and windows in
  // time order, rows of recent keys. A hint per prefix saves most of the
  // skip-list search an insert costs, the backend's largest cost in the
  // joins and windows (perf: FindSpliceForLevel). One writer per database
  // (the task thread): its writes never take RocksDB's concurrent path,
  // which would ignore hints.
  options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(3));
  // Operators often look up keys that are not there yet (a new distinct
  // value, a window's first row): Bloom filters answer those without
  // reading blocks.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = rocksdb::NewLRUCache(64 << 20);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

class RocksDbIterator final : public StateIterator {
 public:
  // With `snapshot`, the iterator reads that point in time and releases it.
  RocksDbIterator(rocksdb::DB* db, std::string_view prefix, std::string_view from,
                  const rocksdb::Snapshot* snapshot = nullptr)
      : upper_(PrefixEnd(prefix)), upper_slice_(upper_), db_(db), snapshot_(snapshot) {
    rocksdb::ReadOptions read;
    read.snapshot = snapshot;
    if (!upper_.empty()) read.iterate_upper_bound = &upper_slice_;
    it_.reset(db->NewIterator(read));
    std::string_view start = from.empty() || from < prefix ? prefix : from;
    it_->Seek(rocksdb::Slice(start.data(), start.size()));
  }
  bool Valid() const override { return it_->Valid(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  void Next() override { it_->Next(); }
  Status status() const override { return FromRocks(it_->status(), "reading state"); }
  ~RocksDbIterator() override {
    it_.reset();
    if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
  }

 private:
  std::string upper_;
  rocksdb::Slice upper_slice_;  // must outlive the iterator, which points at it
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksDbStateBackend final : public KeyedStateBackend {
 public:
  RocksDbStateBackend(std::unique_ptr<rocksdb::DB> db, std::string directory)
      : db_(std::move(db)), directory_(std::move(directory)) {
    write_.disableWAL = true;
  }
  ~RocksDbStateBackend() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(directory_, ec);
  }

  Status Put(std::string_view key, std::string_view value) override {
    return FromRocks(db_->Put(write_, Slice(key), Slice(value)), "writing state");
  }
  Result<bool> Get(std::string_view key, std::string* value) override {
    rocksdb::Status s = db_->Get(read_, Slice(key), value);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return FromRocks(s, "reading state");
    return true;
  }
  Status Delete(std::string_view key) override {
    return FromRocks(db_->Delete(write_, Slice(key)), "deleting state");
  }
  std::unique_ptr<StateIterator> Scan(std::string_view prefix, std::string_view from) override {
    return std::make_unique<RocksDbIterator>(db_.get(), prefix, from);
  }
  std::unique_ptr<StateIterator> SnapshotAll() override {
    return std::make_unique<RocksDbIterator>(db_.get(), "", "", db_->GetSnapshot());
  }
  bool SupportsIncremental() const override { return true; }
  Result<std::vector<std::string>> CreateLocalCheckpoint(const std::string& local_dir) override {
    rocksdb::Checkpoint* raw = nullptr;
    SLUICE_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint of " + directory_));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // 0: always flush the memtable first. The WAL is off, so without the
    // flush the newest writes would be missing from the copy.
    SLUICE_RETURN_IF_ERROR(FromRocks(checkpoint->CreateCheckpoint(local_dir, /*log_size_for_flush=*/0),
                                     "checkpoint of " + directory_ + " into " + local_dir));
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(local_dir, ec)) {
      names.push_back(entry.path().filename().string());
    }
    if (ec) return Status::IoError("checkpoint " + local_dir + ": " + ec.message());
    std::sort(names.begin(), names.end());
    return names;
  }
  Status ReopenFrom(const std::string& dir) override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(directory_, ec);
    // Both are under state.dir: a rename, not a copy.
    std::filesystem::rename(dir, directory_, ec);
    if (ec) return Status::IoError("restored state " + dir + " -> " + directory_ + ": " + ec.message());
    rocksdb::DB* raw = nullptr;
    SLUICE_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(StateOptions(), directory_, &raw), "opening restored state in " + directory_));
    db_.reset(raw);
    return Status::Ok();
  }
  const char* kind() const override { return "rocksdb"; }
  uint64_t ApproximateEntries() override {
    uint64_t n = 0;
    db_->GetIntProperty("rocksdb.estimate-num-keys", &n);
    return n;
  }

 private:
  static rocksdb::Slice Slice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

  std::unique_ptr<rocksdb::DB> db_;
  std::string directory_;
  rocksdb::WriteOptions write_;
  rocksdb::ReadOptions read_;
};

}  // namespace

Result<std::unique_ptr<KeyedStateBackend>> OpenRocksDbStateBackend(const std::string& directory) {
  std::error_code ec;
  std::filesystem::remove_all(directory, ec);  // a leftover of a crashed task is stale
  std::filesystem::create_directories(directory, ec);
  if (ec) return Status::IoError("state directory " + directory + ": " + ec.message());
  rocksdb::Options options = StateOptions();
  options.create_if_missing = true;
  options.error_if_exists = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, directory, &raw);
  if (!s.ok()) return FromRocks(s, "opening state in " + directory);
  return std::unique_ptr<KeyedStateBackend>(
      std::make_unique<RocksDbStateBackend>(std::unique_ptr<rocksdb::DB>(raw), directory));
}

Result<std::unique_ptr<KeyedStateBackend>> OpenStateBackend(const StateBackendOptions& options) {
  if (options.kind == "memory") return NewMemoryStateBackend();
  if (options.kind == "rocksdb") {
    if (options.directory.empty()) return Status::InvalidArgument("state.backend rocksdb needs a directory");
    return OpenRocksDbStateBackend(options.directory);
  }
  return Status::InvalidArgument("state.backend: '" + options.kind + "' is not a backend (rocksdb or memory)");
}

}  // namespace sluice
