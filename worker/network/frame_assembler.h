// Cuts a TCP byte stream into frames. Reads land in one staging buffer, many
// frames per read when the stream is busy, instead of two reads per frame:
// on a loaded connection syscalls, not copies, are what costs.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>

#include "common/status.h"
#include "worker/network/frame.h"

namespace sluice {

class FrameAssembler {
 public:
  // `max_payload` bounds a frame; the staging buffer holds several of them.
  // It is left uninitialised, so an idle connection costs no resident
  // memory for the pages it never reads into.
  explicit FrameAssembler(uint32_t max_payload)
      : max_payload_(max_payload),
        capacity_(4 * (kFrameHeaderBytes + static_cast<size_t>(max_payload))),
        staging_(new uint8_t[capacity_]) {}

  // Where the next read writes, and how much room it has (never 0).
  uint8_t* write_ptr() {
    Compact();
    return staging_.get() + end_;
  }
  size_t write_space() const { return capacity_ - end_; }
  void Commit(size_t n) { end_ += n; }

  // The next frame's header once its 12 bytes are in, complete or not.
  Result<bool> PeekHeader(FrameHeader* header) const {
    size_t have = end_ - begin_;
    if (have < kFrameHeaderBytes) return false;
    SLUICE_RETURN_IF_ERROR(DecodeFrameHeader(staging_.get() + begin_, have, max_payload_, header));
    return true;
  }
  // The unread bytes, and dropping some of them.
  const uint8_t* data() const { return staging_.get() + begin_; }
  size_t available() const { return end_ - begin_; }
  void Consume(size_t n) { begin_ += n; }

  // The next complete frame, its payload pointing into the staging buffer
  // (valid until the next write_ptr()); false when more bytes are needed.
  Result<bool> Next(FrameHeader* header, const uint8_t** payload) {
    size_t have = end_ - begin_;
    if (have < kFrameHeaderBytes) return false;
    SLUICE_RETURN_IF_ERROR(DecodeFrameHeader(staging_.get() + begin_, have, max_payload_, header));
    size_t need = kFrameHeaderBytes + header->payload_length;
    if (have < need) return false;
    *payload = staging_.get() + begin_ + kFrameHeaderBytes;
    begin_ += need;
    return true;
  }

 private:
  // Moves the unread tail to the front once it is too close to the end to
  // take a whole frame.
  void Compact() {
    if (begin_ == end_) {
      begin_ = end_ = 0;
      return;
    }
    if (capacity_ - begin_ >= 2 * (kFrameHeaderBytes + static_cast<size_t>(max_payload_))) return;
    std::memmove(staging_.get(), staging_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }

  const uint32_t max_payload_;
  const size_t capacity_;
  std::unique_ptr<uint8_t[]> staging_;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace sluice
