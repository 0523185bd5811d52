// Keyed state of one operator subtask (docs/architecture.md, "Keyed state"): an ordered map
// of byte keys to byte values, kept in RocksDB (the default, as in Flink's
// Nexmark setup) or in memory. Both backends behave the same; operators see
// only this interface and build their keys with StateKey (state_key.h), so
// every key starts with its key group and state can later be split by key
// group when the parallelism changes.
//
// A backend belongs to one task thread and is not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice {

// Walks the entries under a prefix in byte order of their keys. Writes to the
// backend while iterating are allowed; whether the iterator sees them is
// unspecified, so callers collect keys first when they delete as they go.
class StateIterator {
 public:
  virtual ~StateIterator() = default;
  virtual bool Valid() const = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual void Next() = 0;
  // Not OK when reading failed; Valid() is then false.
  virtual Status status() const = 0;
};

class KeyedStateBackend {
 public:
  virtual ~KeyedStateBackend() = default;

  virtual Status Put(std::string_view key, std::string_view value) = 0;
  // True with *value filled when the key exists, false when it does not.
  virtual Result<bool> Get(std::string_view key, std::string* value) = 0;
  virtual Status Delete(std::string_view key) = 0;
  // The entries whose keys start with `prefix`, from the first key >= `from`
  // (empty: from the start of the prefix).
  virtual std::unique_ptr<StateIterator> Scan(std::string_view prefix, std::string_view from = {}) = 0;
  // Every entry as of now, readable from another thread while this one goes
  // on writing (an asynchronous checkpoint): RocksDB iterates a snapshot of
  // its own, the in-memory backend a copy. The backend must outlive it.
  virtual std::unique_ptr<StateIterator> SnapshotAll() = 0;

  // Native checkpoints for incremental snapshots (incremental_snapshot.h):
  // only RocksDB has them.
  virtual bool SupportsIncremental() const { return false; }
  // Writes an openable copy of the state as of now to `local_dir`, which must
  // not exist yet, and returns the names of its files. Runs on the task
  // thread (the synchronous phase of a checkpoint): RocksDB flushes its
  // memtable and hard-links its SST files, so `local_dir` must be on the
  // same filesystem as the backend's directory -- put it beside that
  // directory. The copy stays valid while the backend goes on writing.
  virtual Result<std::vector<std::string>> CreateLocalCheckpoint(const std::string& local_dir) {
    (void)local_dir;
    return Status::Unimplemented(std::string("the ") + kind() + " state backend has no incremental snapshots");
  }

  // Replaces the whole state by the RocksDB database in `dir` (the files of
  // an incremental snapshot whose key groups are exactly this backend's),
  // which it takes over. Faster than adding its entries one by one.
  virtual Status ReopenFrom(const std::string& dir) {
    (void)dir;
    return Status::Unimplemented(std::string(kind()) + " state cannot reopen a RocksDB checkpoint");
  }

  // "rocksdb" or "memory".
  virtual const char* kind() const = 0;
  // Live entries, for tests and metrics that check state stays bounded.
  // RocksDB's figure is an estimate.
  virtual uint64_t ApproximateEntries() = 0;
};

struct StateBackendOptions {
  std::string kind = "rocksdb";  // or "memory"
  // RocksDB's working directory, made if missing and removed with the
  // backend: state lives there only while the task runs.
  std::string directory;
};

// Fails with INVALID_ARGUMENT on an unknown kind and IO_ERROR when RocksDB
// cannot open its directory.
Result<std::unique_ptr<KeyedStateBackend>> OpenStateBackend(const StateBackendOptions& options);

}  // namespace sluice
