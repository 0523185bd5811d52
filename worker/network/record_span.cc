#include "worker/network/record_span.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace sluice {
namespace {

void StoreU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t LoadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

}  // namespace

// ---- RecordSpanWriter -------------------------------------------------------

void RecordSpanWriter::Start(const uint8_t* data, uint32_t size) {
  assert(!pending_ && "RecordSpanWriter::Start while a record is pending");
  StoreU32(prefix_, size);
  data_ = data;
  size_ = size;
  copied_ = 0;
  pending_ = true;
}

bool RecordSpanWriter::CopyTo(Buffer& buffer) {
  if (!pending_) return true;
  // The prefix first (possibly only part of it)...
  if (copied_ < kRecordLengthPrefixBytes) {
    uint32_t n = std::min<uint32_t>(kRecordLengthPrefixBytes - static_cast<uint32_t>(copied_),
                                    buffer.free_space());
    std::memcpy(buffer.data + buffer.size, prefix_ + copied_, n);
    buffer.size += n;
    copied_ += n;
    if (copied_ < kRecordLengthPrefixBytes) return false;
  }
  // ...then the record bytes.
  auto done = static_cast<uint32_t>(copied_ - kRecordLengthPrefixBytes);
  uint32_t n = std::min<uint32_t>(size_ - done, buffer.free_space());
  if (n > 0) {
    std::memcpy(buffer.data + buffer.size, data_ + done, n);
    buffer.size += n;
    copied_ += n;
  }
  if (copied_ < kRecordLengthPrefixBytes + static_cast<uint64_t>(size_)) return false;
  pending_ = false;
  data_ = nullptr;
  return true;
}

// ---- RecordSpanReader -------------------------------------------------------

RecordSpanReader::RecordSpanReader(uint32_t max_record_bytes)
    : max_record_bytes_(max_record_bytes) {}

void RecordSpanReader::SetBuffer(const uint8_t* data, uint32_t size) {
  assert(pos_ == size_ && "RecordSpanReader::SetBuffer before the last buffer was exhausted");
  data_ = data;
  size_ = size;
  pos_ = 0;
}

std::string RecordSpanReader::PartialBytes() const {
  std::string out;
  if (in_record_) {
    uint8_t prefix[kRecordLengthPrefixBytes];
    for (uint32_t i = 0; i < kRecordLengthPrefixBytes; ++i) prefix[i] = static_cast<uint8_t>(record_length_ >> (8 * i));
    out.append(reinterpret_cast<const char*>(prefix), kRecordLengthPrefixBytes);
    out.append(reinterpret_cast<const char*>(scratch_.data()), record_have_);
  } else if (prefix_have_ > 0) {
    out.append(reinterpret_cast<const char*>(prefix_), prefix_have_);
  }
  return out;
}

void RecordSpanReader::Reset() {
  data_ = nullptr;
  size_ = 0;
  pos_ = 0;
  prefix_have_ = 0;
  in_record_ = false;
  record_length_ = 0;
  record_have_ = 0;
  error_ = Status::Ok();
}

Result<bool> RecordSpanReader::Fail(uint32_t length) {
  error_ = Status::InvalidArgument("record of " + std::to_string(length) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(max_record_bytes_) + " (corrupt stream?)");
  return error_;
}

Result<bool> RecordSpanReader::Next(const uint8_t** record, uint32_t* size) {
  if (!error_.ok()) return error_;

  if (!in_record_) {
    uint32_t available = size_ - pos_;
    uint32_t length;
    if (prefix_have_ == 0 && available >= kRecordLengthPrefixBytes) {
      // Hot path: the prefix is whole in this buffer...
      length = LoadU32(data_ + pos_);
      if (length > max_record_bytes_) return Fail(length);
      pos_ += kRecordLengthPrefixBytes;
      available -= kRecordLengthPrefixBytes;
      if (length <= available) {
        // ...and so is the record: hand out a pointer into the buffer.
        *record = data_ + pos_;
        *size = length;
        pos_ += length;
        return true;
      }
    } else {
      // The prefix is split: collect its bytes across buffers.
      uint32_t n = std::min(kRecordLengthPrefixBytes - prefix_have_, available);
      if (n > 0) std::memcpy(prefix_ + prefix_have_, data_ + pos_, n);
      prefix_have_ += n;
      pos_ += n;
      if (prefix_have_ < kRecordLengthPrefixBytes) return false;
      prefix_have_ = 0;
      length = LoadU32(prefix_);
      if (length > max_record_bytes_) return Fail(length);
    }
    // The record continues past this buffer (or starts in it after a split
    // prefix): assemble it in scratch memory.
    if (scratch_.size() < length) scratch_.resize(length);
    in_record_ = true;
    record_length_ = length;
    record_have_ = 0;
  }

  uint32_t n = std::min(record_length_ - record_have_, size_ - pos_);
  if (n > 0) {
    std::memcpy(scratch_.data() + record_have_, data_ + pos_, n);
    record_have_ += n;
    pos_ += n;
  }
  if (record_have_ < record_length_) return false;
  in_record_ = false;
  // scratch_.data() may be null for a zero-length record before any scratch
  // was allocated; give the caller a valid (if unused) pointer instead.
  *record = record_length_ == 0 ? data_ + pos_ : scratch_.data();
  *size = record_length_;
  return true;
}

}  // namespace sluice
