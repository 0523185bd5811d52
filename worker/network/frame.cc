#include "worker/network/frame.h"

#include <cassert>

#include "worker/network/event.h"

namespace sluice {
namespace {

// Byte-by-byte so the wire format does not depend on the host's byte order.
void StoreU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}
void StoreU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void StoreU64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint16_t LoadU16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t LoadU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t LoadU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

bool IsKnownType(uint8_t t) {
  return t >= static_cast<uint8_t>(FrameType::kPartitionRequest) &&
         t <= static_cast<uint8_t>(FrameType::kError);
}

// Checks the payload length against what the type can possibly carry, so a
// reader never has to handle an impossible payload after reading it.
Status CheckPayloadSize(FrameType type, uint32_t length, uint32_t channel_id) {
  auto fail = [&](const std::string& expectation) {
    return Status::InvalidArgument(std::string(FrameTypeName(type)) + " frame on channel " +
                                   std::to_string(channel_id) + " has a payload of " +
                                   std::to_string(length) + " bytes, expected " +
                                   expectation);
  };
  switch (type) {
    case FrameType::kPartitionRequest:
      if (length < kPartitionRequestMinBytes) {
        return fail("at least " + std::to_string(kPartitionRequestMinBytes));
      }
      break;
    case FrameType::kAddCredit:
      if (length != kAddCreditPayloadBytes) {
        return fail("exactly " + std::to_string(kAddCreditPayloadBytes));
      }
      break;
    case FrameType::kBuffer:
      if (length < kBufferFramePrefixBytes) {
        return fail("at least " + std::to_string(kBufferFramePrefixBytes));
      }
      break;
    case FrameType::kEvent:
      if (length != kEventBytes) return fail("exactly " + std::to_string(kEventBytes));
      break;
    case FrameType::kClose:
      if (length != 0) return fail("0");
      break;
    case FrameType::kError:
      break;  // any message, including an empty one
  }
  return Status::Ok();
}

// Sequential reader over a partition-request payload; every read checks the
// remaining length first, so malformed input yields an error, never a read
// past the end.
class PayloadReader {
 public:
  PayloadReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t remaining() const { return size_ - pos_; }

  Status ReadI32(const char* field, int32_t* out) {
    SLUICE_RETURN_IF_ERROR(Need(4, field));
    *out = static_cast<int32_t>(LoadU32(data_ + pos_));
    pos_ += 4;
    return Status::Ok();
  }
  Status ReadI64(const char* field, int64_t* out) {
    SLUICE_RETURN_IF_ERROR(Need(8, field));
    *out = static_cast<int64_t>(LoadU64(data_ + pos_));
    pos_ += 8;
    return Status::Ok();
  }
  Status ReadString(const char* field, std::string* out) {
    SLUICE_RETURN_IF_ERROR(Need(4, field));
    uint32_t length = LoadU32(data_ + pos_);
    pos_ += 4;
    if (length > remaining()) {
      return Status::InvalidArgument("partition request: " + std::string(field) +
                                     " has length " + std::to_string(length) +
                                     " but only " + std::to_string(remaining()) +
                                     " bytes remain in the payload");
    }
    out->assign(reinterpret_cast<const char*>(data_ + pos_), length);
    pos_ += length;
    return Status::Ok();
  }

 private:
  Status Need(size_t n, const char* field) {
    if (remaining() >= n) return Status::Ok();
    return Status::InvalidArgument("partition request truncated at " + std::string(field) +
                                   ": needs " + std::to_string(n) + " bytes, " +
                                   std::to_string(remaining()) + " remain");
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

void AppendU32(std::string& s, uint32_t v) {
  uint8_t b[4];
  StoreU32(b, v);
  s.append(reinterpret_cast<const char*>(b), 4);
}
void AppendU64(std::string& s, uint64_t v) {
  uint8_t b[8];
  StoreU64(b, v);
  s.append(reinterpret_cast<const char*>(b), 8);
}
void AppendString(std::string& s, const std::string& v) {
  AppendU32(s, static_cast<uint32_t>(v.size()));
  s.append(v);
}

Status RequireNonNegative(const char* field, int32_t value) {
  if (value >= 0) return Status::Ok();
  return Status::InvalidArgument("partition request: negative " + std::string(field) + " " +
                                 std::to_string(value));
}

}  // namespace

const char* FrameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kPartitionRequest: return "PARTITION_REQUEST";
    case FrameType::kAddCredit: return "ADD_CREDIT";
    case FrameType::kBuffer: return "BUFFER";
    case FrameType::kEvent: return "EVENT";
    case FrameType::kClose: return "CLOSE";
    case FrameType::kError: return "ERROR";
  }
  return "UNKNOWN";
}

void EncodeFrameHeader(const FrameHeader& header, uint8_t* out) {
  StoreU32(out, header.payload_length);
  out[4] = static_cast<uint8_t>(header.type);
  out[5] = kFrameVersion;
  StoreU16(out + 6, 0);
  StoreU32(out + 8, header.channel_id);
}

Status DecodeFrameHeader(const uint8_t* data, size_t size, uint32_t max_payload,
                         FrameHeader* out) {
  if (size < kFrameHeaderBytes) {
    return Status::InvalidArgument("truncated frame header: " + std::to_string(size) + " of " +
                                   std::to_string(kFrameHeaderBytes) + " bytes");
  }
  // Version first: a peer speaking another version may lay out the rest of
  // the header differently, so its other fields mean nothing to us.
  uint8_t version = data[5];
  if (version != kFrameVersion) {
    return Status::InvalidArgument("unsupported frame version " + std::to_string(version) +
                                   " (this worker speaks version " +
                                   std::to_string(kFrameVersion) + ")");
  }
  uint16_t reserved = LoadU16(data + 6);
  if (reserved != 0) {
    return Status::InvalidArgument("nonzero reserved frame header field " +
                                   std::to_string(reserved));
  }
  uint8_t type = data[4];
  if (!IsKnownType(type)) {
    return Status::InvalidArgument("unknown frame type " + std::to_string(type));
  }
  uint32_t length = LoadU32(data);
  uint32_t channel_id = LoadU32(data + 8);
  if (length > max_payload) {
    return Status::InvalidArgument("frame of " + std::to_string(length) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(max_payload) + " (" +
                                   FrameTypeName(static_cast<FrameType>(type)) +
                                   " frame on channel " + std::to_string(channel_id) + ")");
  }
  SLUICE_RETURN_IF_ERROR(CheckPayloadSize(static_cast<FrameType>(type), length, channel_id));
  out->payload_length = length;
  out->type = static_cast<FrameType>(type);
  out->channel_id = channel_id;
  return Status::Ok();
}

std::string EncodeFrame(FrameType type, uint32_t channel_id, std::string_view payload) {
  std::string frame(kFrameHeaderBytes, '\0');
  EncodeFrameHeader({static_cast<uint32_t>(payload.size()), type, channel_id},
                    reinterpret_cast<uint8_t*>(frame.data()));
  frame.append(payload);
  return frame;
}

void EncodeBufferPrefix(uint32_t sequence_number, uint32_t backlog, uint8_t* out) {
  StoreU32(out, sequence_number);
  StoreU32(out + 4, backlog);
}

void DecodeBufferPrefix(const uint8_t* data, uint32_t* sequence_number, uint32_t* backlog) {
  *sequence_number = LoadU32(data);
  *backlog = LoadU32(data + 4);
}

std::string EncodePartitionRequest(const PartitionRequest& r) {
  std::string s;
  s.reserve(kPartitionRequestMinBytes + r.job_id.size() + r.producer_vertex.size() +
            r.consumer_worker.size() + r.consumer_task.size());
  AppendString(s, r.job_id);
  AppendU64(s, static_cast<uint64_t>(r.attempt));
  AppendString(s, r.producer_vertex);
  AppendU32(s, static_cast<uint32_t>(r.producer_subtask));
  AppendU32(s, static_cast<uint32_t>(r.output_index));
  AppendU32(s, static_cast<uint32_t>(r.subpartition));
  AppendU32(s, static_cast<uint32_t>(r.initial_credit));
  AppendString(s, r.consumer_worker);
  AppendString(s, r.consumer_task);
  return s;
}

Result<PartitionRequest> DecodePartitionRequest(const uint8_t* data, size_t size) {
  PayloadReader in(data, size);
  PartitionRequest r;
  SLUICE_RETURN_IF_ERROR(in.ReadString("job_id", &r.job_id));
  SLUICE_RETURN_IF_ERROR(in.ReadI64("attempt", &r.attempt));
  SLUICE_RETURN_IF_ERROR(in.ReadString("producer_vertex", &r.producer_vertex));
  SLUICE_RETURN_IF_ERROR(in.ReadI32("producer_subtask", &r.producer_subtask));
  SLUICE_RETURN_IF_ERROR(in.ReadI32("output_index", &r.output_index));
  SLUICE_RETURN_IF_ERROR(in.ReadI32("subpartition", &r.subpartition));
  SLUICE_RETURN_IF_ERROR(in.ReadI32("initial_credit", &r.initial_credit));
  SLUICE_RETURN_IF_ERROR(in.ReadString("consumer_worker", &r.consumer_worker));
  SLUICE_RETURN_IF_ERROR(in.ReadString("consumer_task", &r.consumer_task));
  if (in.remaining() != 0) {
    return Status::InvalidArgument("partition request has " + std::to_string(in.remaining()) +
                                   " trailing bytes");
  }
  SLUICE_RETURN_IF_ERROR(RequireNonNegative("producer_subtask", r.producer_subtask));
  SLUICE_RETURN_IF_ERROR(RequireNonNegative("output_index", r.output_index));
  SLUICE_RETURN_IF_ERROR(RequireNonNegative("subpartition", r.subpartition));
  SLUICE_RETURN_IF_ERROR(RequireNonNegative("initial_credit", r.initial_credit));
  return r;
}

void EncodeAddCredit(int32_t credit, uint8_t* out) {
  assert(credit > 0);
  StoreU32(out, static_cast<uint32_t>(credit));
}

Result<int32_t> DecodeAddCredit(const uint8_t* data, size_t size) {
  if (size != kAddCreditPayloadBytes) {
    return Status::InvalidArgument("add-credit payload of " + std::to_string(size) +
                                   " bytes, expected exactly " +
                                   std::to_string(kAddCreditPayloadBytes));
  }
  auto credit = static_cast<int32_t>(LoadU32(data));
  if (credit <= 0) {
    return Status::InvalidArgument("add-credit of " + std::to_string(credit) +
                                   ", expected a positive credit");
  }
  return credit;
}

Status SequenceChecker::Check(uint32_t seq) {
  if (seq == expected_) {
    ++expected_;  // wraps at 2^32, as the sender's counter does
    return Status::Ok();
  }
  // Serial-number comparison, so "behind" and "ahead" stay right across the
  // wrap-around.
  if (static_cast<int32_t>(seq - expected_) < 0) {
    return Status::InvalidArgument("duplicate buffer sequence " + std::to_string(seq) +
                                   " (expected " + std::to_string(expected_) + ")");
  }
  return Status::InvalidArgument("buffer sequence gap: expected " + std::to_string(expected_) +
                                 ", got " + std::to_string(seq));
}

}  // namespace sluice
