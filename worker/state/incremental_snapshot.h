// Incremental snapshots of the RocksDB backend, as Flink's incremental
// RocksDB checkpoints.
//
// RocksDB never changes an SST file once written; compaction only adds new
// files and drops old ones. So a checkpoint stores the database's files, and
// a later checkpoint uploads only the SST files that appeared since:
//
//  - Synchronous phase (task thread): KeyedStateBackend::CreateLocalCheckpoint
//    flushes the memtable and hard-links the SST files into a local directory
//    beside the database; MANIFEST, CURRENT and OPTIONS are copied.
//  - Asynchronous phase (uploader thread): IncrementalUploader::Upload copies
//    each new SST file to <checkpoint.dir>/<job>/shared/ and lists an SST an
//    earlier confirmed checkpoint uploaded by its existing path. MANIFEST,
//    CURRENT and OPTIONS describe this checkpoint only: they go to the
//    checkpoint's own chk-<N>/ directory.
//
// A shared file is thus referenced by several checkpoints. The coordinator
// counts the references of the retained checkpoints and deletes a shared file
// none of them lists any more (once no checkpoint in flight may list it).
// Only files of the newest checkpoint known to be complete (Confirm) are
// reused: an aborted checkpoint's files may already be gone.
//
// Restoring copies the files of one snapshot into a scratch directory, opens
// it read-only and adds the entries of the subtask's key groups to the
// target backend, so an incremental snapshot restores at any parallelism.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "proto/job.pb.h"
#include "worker/state/state_backend.h"

namespace sluice {

struct IncrementalUpload {
  std::vector<proto::StateFile> files;  // every file of the database at the checkpoint
  int64_t bytes_written = 0;            // bytes of the files this upload wrote (not the reused ones)
};

// One per RocksDB backend instance (operator subtask and attempt): SST names
// are unique within one database only. Thread-safe.
class IncrementalUploader {
 public:
  // `shared_dir`: <checkpoint.dir>/<job>/shared. `prefix` names this
  // instance's files, e.g. "<vertex>-<subtask>-<operator>-a<attempt>"; a
  // random token is added to shared file names so that two instances never
  // write the same file.
  IncrementalUploader(std::string shared_dir, std::string prefix);
  IncrementalUploader(const IncrementalUploader&) = delete;
  IncrementalUploader& operator=(const IncrementalUploader&) = delete;

  // Stores the files CreateLocalCheckpoint wrote to `local_dir` for
  // checkpoint `checkpoint_id`: new SST files to the shared directory as
  // "<prefix>-<token>-chk<N>-<name>", reused ones by reference, the others to
  // `private_dir` (the checkpoint's chk-<N>/) as "<prefix>-<name>". Files are
  // synced and never overwritten. Removes `local_dir`, also on failure, when
  // it also removes the files it wrote. A full disk fails with
  // RESOURCE_EXHAUSTED naming the file.
  Result<IncrementalUpload> Upload(int64_t checkpoint_id, const std::string& local_dir,
                                   const std::string& private_dir);

  // Checkpoint `checkpoint_id` completed: later uploads reuse exactly the SST
  // files it lists (none if this uploader did not upload it). A checkpoint
  // older than one already confirmed is ignored.
  void Confirm(int64_t checkpoint_id);

  // The backend was restored from `files` as they are (ReopenFrom): their
  // shared SST files count as uploaded, so the next checkpoint lists them
  // instead of uploading them again. Only files under this uploader's
  // shared directory are taken (another job's are not ours to share).
  void Seed(const std::vector<proto::StateFile>& files);
  // "<prefix>-<token>": the start of this instance's shared file names.
  const std::string& shared_prefix() const { return shared_prefix_; }

 private:
  const std::string shared_dir_;
  const std::string prefix_;
  const std::string shared_prefix_;

  std::mutex mu_;
  int64_t confirmed_ = -1;                                       // newest confirmed checkpoint
  std::map<std::string, proto::StateFile> reusable_;             // its SST files, by local name
  std::map<int64_t, std::vector<proto::StateFile>> unconfirmed_;  // SST files of later uploads
};

// Checks that `file` at its path has the recorded size and CRC-32. Errors
// name the path: NOT_FOUND when it is missing, IO_ERROR "... is N bytes,
// expected M" or "... checksum mismatch" when it is damaged.
Status VerifyStateFile(const proto::StateFile& file);

// Copies the files of an incremental snapshot into `dir` (made empty first)
// under their RocksDB names, checking each one's size and CRC-32 on the way.
Status CopyStateFiles(const std::vector<proto::StateFile>& files, const std::string& dir);

// Adds to `target` the entries of the incremental snapshot `files` whose key
// group is in [key_group_start, key_group_end] (inclusive). The files are
// verified as they are copied into `scratch_dir` (removed first if it exists,
// and afterwards), where RocksDB opens them read-only.
Status RestoreIncremental(const std::vector<proto::StateFile>& files, int key_group_start, int key_group_end,
                          const std::string& scratch_dir, KeyedStateBackend& target);

}  // namespace sluice
