// Checkpoints on shared storage (docs/architecture.md, "Checkpoints"):
//   <checkpoint.dir>/<job>/chk-<N>/_metadata   what the checkpoint holds
//   <checkpoint.dir>/<job>/chk-<N>/<vertex>-<subtask>-<operator>.state
// _metadata is the encoded CheckpointMetadata in a checksummed file
// (common/checksummed_file.h), written to a temporary file, synced and
// renamed: a checkpoint is complete exactly when its _metadata exists, and a
// damaged one is refused, never restored.
#pragma once

#include <string>

#include "common/status.h"
#include "proto/job.pb.h"

namespace sluice {

std::string CheckpointDirectory(const std::string& root, const std::string& job_id, int64_t checkpoint_id);

// Writes <dir>/_metadata.
Status WriteCheckpointMetadata(const std::string& dir, const proto::CheckpointMetadata& metadata);

// Reads a checkpoint directory's _metadata (or the file itself); errors name
// the path and what is wrong.
Result<proto::CheckpointMetadata> ReadCheckpointMetadata(const std::string& path);

// Whether `graph` can start from `metadata`: the same number of key groups,
// and every operator with state in it, and every source, still there (the
// parallelism may change). Errors say what does not fit.
Status CheckRestorable(const proto::CheckpointMetadata& metadata, const proto::JobGraph& graph,
                       int default_max_parallelism);

// Removes a checkpoint directory; a missing one is fine.
void RemoveCheckpoint(const std::string& dir);

}  // namespace sluice
