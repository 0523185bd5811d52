// The wire format of one data-plane TCP connection (docs/architecture.md, "Records and the data plane").
//
// One connection per pair of workers carries many logical channels (producer
// subtask -> consumer subtask), so every frame names its channel. A frame is a
// fixed 12-byte header followed by a payload whose length the header states:
//
//   u32 payload_length   bytes after the header
//   u8  type             FrameType
//   u8  version          kFrameVersion (1); anything else is refused, so a
//                        peer from an incompatible build fails loudly instead
//                        of being misread
//   u16 reserved         must be 0 (room for flags without a version bump)
//   u32 channel_id       chosen by the consumer in its partition request
//
// All integers are little-endian. The fixed header lets a reader ask the
// socket for exactly 12 bytes, validate them and then read exactly the payload
// into a network buffer; a corrupt or hostile length is refused before any
// memory is committed to it (max_payload).
//
// Payloads by type:
//   kPartitionRequest  consumer -> producer: which subpartition to stream and
//                      the initial credit (EncodePartitionRequest)
//   kAddCredit         consumer -> producer: i32 credit > 0 (EncodeAddCredit)
//   kBuffer            producer -> consumer: u32 sequence number, u32 sender
//                      backlog, then the buffer bytes (EncodeBufferPrefix)
//   kEvent             producer -> consumer: one event (event.h), fixed size
//   kClose             either side: the channel is done; empty payload
//   kError             either side: the channel failed; UTF-8 message
//
// Everything here is pure encoding: no sockets, no allocation except where a
// std::string is returned for the (rare) control frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice {

inline constexpr size_t kFrameHeaderBytes = 12;
inline constexpr uint8_t kFrameVersion = 1;

enum class FrameType : uint8_t {
  kPartitionRequest = 1,
  kAddCredit = 2,
  kBuffer = 3,
  kEvent = 4,
  kClose = 5,
  kError = 6,
};

// "PARTITION_REQUEST", "ADD_CREDIT", ... ; "UNKNOWN" for values outside the enum.
const char* FrameTypeName(FrameType type);

struct FrameHeader {
  uint32_t payload_length = 0;
  FrameType type = FrameType::kClose;
  uint32_t channel_id = 0;

  bool operator==(const FrameHeader&) const = default;
};

// Writes exactly kFrameHeaderBytes to out (version 1, reserved 0).
void EncodeFrameHeader(const FrameHeader& header, uint8_t* out);

// Decodes and validates the header in the first kFrameHeaderBytes of data
// (extra bytes are ignored: the payload usually follows). Returns
// INVALID_ARGUMENT when the header is truncated, has another version, a
// nonzero reserved field or an unknown type, when payload_length exceeds
// max_payload, or when payload_length is impossible for the type (see the
// per-type sizes below). Any such error means the stream is corrupt or the
// peer incompatible: the connection cannot be resynchronised and must close.
Status DecodeFrameHeader(const uint8_t* data, size_t size, uint32_t max_payload,
                         FrameHeader* out);

// Convenience for control frames: header + payload in one string.
std::string EncodeFrame(FrameType type, uint32_t channel_id, std::string_view payload);

// ---- Buffer frames ----------------------------------------------------------
// The sequence number lets the consumer detect a lost or replayed buffer
// (SequenceChecker); the backlog (buffers queued at the sender for this
// channel) lets it lend floating buffers where they are needed.
inline constexpr size_t kBufferFramePrefixBytes = 8;

// Writes kBufferFramePrefixBytes to out.
void EncodeBufferPrefix(uint32_t sequence_number, uint32_t backlog, uint8_t* out);
// Reads kBufferFramePrefixBytes from data (the header check guarantees them).
void DecodeBufferPrefix(const uint8_t* data, uint32_t* sequence_number, uint32_t* backlog);

// ---- Partition request ------------------------------------------------------
// Sent by the consumer once per channel to open it. Strings travel as u32
// length + bytes; fields in declaration order.
struct PartitionRequest {
  std::string job_id;
  int64_t attempt = 0;
  std::string producer_vertex;
  int32_t producer_subtask = 0;
  int32_t output_index = 0;
  int32_t subpartition = 0;
  int32_t initial_credit = 0;
  std::string consumer_worker;
  std::string consumer_task;

  bool operator==(const PartitionRequest&) const = default;
};

// Smallest valid payload: four empty strings (4 x u32), one i64, four i32.
inline constexpr size_t kPartitionRequestMinBytes = 4 * 4 + 8 + 4 * 4;

std::string EncodePartitionRequest(const PartitionRequest& request);
// Rejects truncation, trailing bytes, a string length running past the
// payload, and a negative producer_subtask, output_index, subpartition or
// initial_credit (0 credit is allowed: the consumer may grant credit later).
Result<PartitionRequest> DecodePartitionRequest(const uint8_t* data, size_t size);

// ---- Add credit -------------------------------------------------------------
inline constexpr size_t kAddCreditPayloadBytes = 4;

// Writes kAddCreditPayloadBytes to out. credit must be > 0.
void EncodeAddCredit(int32_t credit, uint8_t* out);
// Rejects a payload that is not exactly 4 bytes and a credit <= 0 (granting
// nothing or taking credit back is never meaningful on the wire).
Result<int32_t> DecodeAddCredit(const uint8_t* data, size_t size);

// ---- Sequence numbers -------------------------------------------------------
// Checks the buffer sequence numbers of one channel: 0, 1, 2, ... TCP does not
// lose or reorder bytes, so a gap or duplicate is a bug in the sender or in
// the multiplexing, and must fail the channel rather than silently corrupt
// results. Wraps around at 2^32 like the sender's counter.
class SequenceChecker {
 public:
  // OK and advances when seq is the expected number; otherwise
  // INVALID_ARGUMENT ("buffer sequence gap: expected 5, got 7" or
  // "duplicate buffer sequence 4 (expected 5)") and does not advance.
  Status Check(uint32_t seq);
  uint32_t expected() const { return expected_; }
  void Reset() { expected_ = 0; }

 private:
  uint32_t expected_ = 0;
};

}  // namespace sluice
