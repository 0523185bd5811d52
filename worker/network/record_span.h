// Records inside fixed-size network buffers (docs/architecture.md, "Records and the data plane").
//
// A record is serialized once into a pool buffer and read in place on the
// other side. Buffers have a fixed size, records do not, so a record may span
// buffers. In the byte stream of one channel records are
//
//   [u32 length, little-endian][length bytes] [u32 length][bytes] ...
//
// back to back with no padding and no per-buffer header: a buffer boundary
// may fall anywhere, even inside the 4-byte length prefix, and a large record
// may cover many buffers. This wastes no buffer space and keeps the writer
// trivial; the reader pays for it only on the rare records that straddle a
// boundary.
//
// Both classes are single-threaded state machines owned by one channel
// endpoint and allocate nothing per record (the reader's scratch buffer only
// grows, up to max_record_bytes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/network/buffer.h"

namespace sluice {

inline constexpr uint32_t kRecordLengthPrefixBytes = 4;

// Copies one record at a time into as many buffers as it needs.
//
//   writer.Start(row.data(), row.size());
//   while (!writer.CopyTo(buffer)) { flush(buffer); buffer = next_buffer(); }
class RecordSpanWriter {
 public:
  // Begins a record. The writer keeps a pointer, not a copy: data must stay
  // valid until CopyTo returns true. Must not be called while pending().
  void Start(const uint8_t* data, uint32_t size);

  // Appends as much of the pending record (length prefix, then bytes) as fits
  // at buffer.data + buffer.size, advancing buffer.size. Returns true once the
  // whole record has been copied (the writer is then idle), false when the
  // buffer filled up first (hand it on, call again with a fresh buffer).
  // Returns true at once when nothing is pending.
  bool CopyTo(Buffer& buffer);

  // A record was started and not yet fully copied.
  bool pending() const { return pending_; }

 private:
  uint8_t prefix_[kRecordLengthPrefixBytes] = {};
  const uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
  // Bytes of prefix + record copied so far, 0 .. 4 + size_.
  uint64_t copied_ = 0;
  bool pending_ = false;
};

// Splits the byte stream of one channel, fed buffer by buffer, back into
// records.
//
//   reader.SetBuffer(buf.data, buf.size);
//   const uint8_t* rec; uint32_t len;
//   while (true) {
//     SLUICE_ASSIGN_OR_RETURN(bool got, reader.Next(&rec, &len));
//     if (!got) break;          // buffer exhausted; recycle it, feed the next
//     Process(RowView(rec));
//   }
class RecordSpanReader {
 public:
  // A length prefix above max_record_bytes means a corrupt stream; it is
  // reported as an error instead of being trusted with an allocation.
  explicit RecordSpanReader(uint32_t max_record_bytes);

  // Hands the reader the next buffer of the stream. Call only when Next has
  // returned false for the previous one (its unread bytes would be lost).
  // The reader keeps a pointer: the buffer must stay valid while records are
  // read from it.
  void SetBuffer(const uint8_t* data, uint32_t size);

  // Reads the next record. true: *record/*size describe it; *record points
  // into the current buffer when the record lies wholly inside it (no copy,
  // the common case) or into the reader's scratch memory when it spanned
  // buffers. Either pointer stays valid until the next call to Next (a buffer
  // pointer longer: as long as the buffer lives). false: the buffer is
  // exhausted; a partial record is kept for the next SetBuffer.
  // INVALID_ARGUMENT for a length over max_record_bytes; the error is sticky
  // (repeated by every later call) until Reset, since the stream cannot be
  // resynchronised.
  Result<bool> Next(const uint8_t** record, uint32_t* size);

  // Part of a record (or of its length prefix) has been consumed and the rest
  // is awaited. True at the end of a stream means it was cut mid-record.
  bool has_partial() const { return prefix_have_ > 0 || in_record_; }
  // The stream bytes of that partial record read so far (its prefix and
  // body), so a checkpoint can store the channel's unread data from a record
  // boundary; a fresh reader fed these bytes and then the rest of the stream
  // reads the same records.
  std::string PartialBytes() const;

  // Forgets the current buffer, any partial record and a sticky error (for
  // reuse on a new stream). Keeps the scratch capacity.
  void Reset();

 private:
  Result<bool> Fail(uint32_t length);

  uint32_t max_record_bytes_;
  const uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
  uint32_t pos_ = 0;

  // A length prefix split across buffers is collected here.
  uint8_t prefix_[kRecordLengthPrefixBytes] = {};
  uint32_t prefix_have_ = 0;

  // A record split across buffers is collected in scratch_.
  bool in_record_ = false;
  uint32_t record_length_ = 0;
  uint32_t record_have_ = 0;
  std::vector<uint8_t> scratch_;

  Status error_;
};

}  // namespace sluice
