// In-band events of the data plane (docs/architecture.md, "Records and the data plane"): watermarks,
// checkpoint barriers and end-of-partition travel in the same channel as the
// records, in order with them, because their meaning is positional ("all
// records before me have event time <= w", "all records before me belong to
// checkpoint n"). On the wire an event is the payload of a kEvent frame.
//
// Encoding: a fixed kEventBytes = 17 bytes, little-endian:
//   u8  type        EventType (an unaligned barrier is type 5 on the wire)
//   i64 a           watermark_ms | checkpoint_id            | 0 | idle (0 or 1)
//   i64 b           0            | checkpoint_timestamp_ms  | 0 | 0
// A fixed size keeps the frame header check exact and decoding branch-free;
// unused fields must be zero, so garbage is caught rather than half-read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"

namespace sluice {

inline constexpr size_t kEventBytes = 1 + 8 + 8;

enum class EventType : uint8_t {
  kWatermark = 1,
  kCheckpointBarrier = 2,
  kEndOfPartition = 3,
  // The channel's producer has gone idle (no rows for pipeline.idle-timeout)
  // or become active again: an idle channel does not hold back the
  // consumer's watermark, as Flink's WatermarkStatus.
  kWatermarkStatus = 4,
};

// Wire code of a barrier that overtakes the buffers queued before it
// (unaligned checkpoints); in memory it is a kCheckpointBarrier with
// `unaligned` set.
inline constexpr uint8_t kUnalignedBarrierCode = 5;

struct Event {
  EventType type = EventType::kEndOfPartition;
  int64_t watermark_ms = 0;             // kWatermark only
  int64_t checkpoint_id = 0;            // kCheckpointBarrier only
  int64_t checkpoint_timestamp_ms = 0;  // kCheckpointBarrier only
  bool idle = false;                    // kWatermarkStatus only
  // kCheckpointBarrier only: it overtakes queued buffers, which are stored
  // with the checkpoint instead of being waited for.
  bool unaligned = false;

  static Event Watermark(int64_t watermark_ms) {
    Event e;
    e.type = EventType::kWatermark;
    e.watermark_ms = watermark_ms;
    return e;
  }
  static Event Barrier(int64_t checkpoint_id, int64_t timestamp_ms) {
    Event e;
    e.type = EventType::kCheckpointBarrier;
    e.checkpoint_id = checkpoint_id;
    e.checkpoint_timestamp_ms = timestamp_ms;
    return e;
  }
  static Event UnalignedBarrier(int64_t checkpoint_id, int64_t timestamp_ms) {
    Event e = Barrier(checkpoint_id, timestamp_ms);
    e.unaligned = true;
    return e;
  }
  static Event EndOfPartition() { return Event{}; }
  static Event WatermarkStatus(bool idle) {
    Event e;
    e.type = EventType::kWatermarkStatus;
    e.idle = idle;
    return e;
  }

  bool operator==(const Event&) const = default;

  // "Watermark(1000)", "Barrier(7 @ 1700000000000)", "EndOfPartition" (logs).
  std::string ToString() const;
};

// Writes exactly kEventBytes to out. Only the fields that belong to the type
// are encoded; the others are written as zero.
void EncodeEvent(const Event& event, uint8_t* out);

// INVALID_ARGUMENT when size != kEventBytes, the type is unknown, or a field
// the type does not use is nonzero.
Result<Event> DecodeEvent(const uint8_t* data, size_t size);

}  // namespace sluice
