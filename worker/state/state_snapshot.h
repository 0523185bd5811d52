// Snapshots of keyed state for checkpoints and savepoints: every entry of a
// backend written to one self-contained file, and read back keeping only the
// key groups a subtask owns, so a snapshot restores at any parallelism.
//
// File: a checksummed file (common/checksummed_file.h) of kind "state
// snapshot" whose payload is, per entry, [u32 key size][key][u32 value size]
// [value], then [u64 entries]. A file cut short or altered fails the check,
// so a partly written snapshot is never restored.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "worker/state/state_backend.h"

namespace sluice {

struct SnapshotResult {
  int64_t entries = 0;
  int64_t bytes = 0;
};

// Writes every entry `entries` walks (KeyedStateBackend::SnapshotAll, on
// any thread, or a Scan("")) to `path` (its directory is made), through a
// temporary file renamed into place once complete and synced.
Result<SnapshotResult> WriteStateSnapshot(StateIterator& entries, const std::string& path);

// Adds to `backend` the entries of the snapshot at `path` whose key group is
// in [first_key_group, end_key_group). DATA_LOSS-like errors (IO_ERROR) name
// the file and what is wrong with it.
Result<SnapshotResult> RestoreStateSnapshot(const std::string& path, int first_key_group, int end_key_group,
                                            KeyedStateBackend& backend);

}  // namespace sluice
