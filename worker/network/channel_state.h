// In-flight data of an unaligned checkpoint (as Flink's channel state): the
// bytes a barrier overtook, stored with the subtask's snapshot and replayed
// before anything else on restore.
//   inputs:  per (gate, channel), what had reached the subtask before the
//            barrier but was not yet part of its state, from a record
//            boundary on;
//   outputs: per (output, subpartition), what was queued for a consumer when
//            the barrier jumped ahead of it.
// A consumer's stored input, then its producer's stored output, then new
// data make up the channel's stream again. The stream positions only fit
// the same parallelism, so such a checkpoint cannot be rescaled.
//
// File: a checksummed file (common/checksummed_file.h) of kind "channel
// state" whose payload is the entries [u8 kind][u32 a][u32 b][u64 length]
// [bytes], then [u64 entry count].
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "common/status.h"

namespace sluice {

struct ChannelState {
  std::map<std::pair<int, int>, std::string> inputs;   // (gate, channel)
  std::map<std::pair<int, int>, std::string> outputs;  // (output, subpartition)

  bool empty() const { return inputs.empty() && outputs.empty(); }
  int64_t bytes() const;
};

// Returns the bytes written. ENOSPC is RESOURCE_EXHAUSTED.
Result<int64_t> WriteChannelState(const ChannelState& state, const std::string& path);
// Errors name the path and what is wrong with it.
Result<ChannelState> ReadChannelState(const std::string& path);

}  // namespace sluice
