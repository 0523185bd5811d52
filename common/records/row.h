// The binary row format (docs/architecture.md, "Records and the data plane").
//
// Layout of one encoded row, little-endian:
//   u32 total size in bytes (header included)
//   u16 field count, u16 reserved (0)
//   null bitmap: ceil(n / 64) u64 words, bit i set = field i is NULL
//   n 8-byte slots: BOOL (0/1), INT64, DOUBLE (bit pattern), DECIMAL
//     (unscaled int64), TIMESTAMP (ms); STRING = u32 offset from the row start
//     + u32 length of its bytes in the variable part
//   variable part: string bytes
// Every slot is 8-byte aligned relative to the row start, so readers load
// fields in place from a network buffer without copying the row.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace sluice {

namespace row_layout {
inline constexpr size_t kHeaderBytes = 8;
inline size_t BitmapBytes(size_t n) { return ((n + 63) / 64) * 8; }
inline size_t FixedBytes(size_t n) { return kHeaderBytes + BitmapBytes(n) + n * 8; }
}  // namespace row_layout

// Non-owning, read-only view over one encoded row. Cheap to copy.
class RowView {
 public:
  RowView() = default;
  explicit RowView(const uint8_t* data) : data_(data) {}

  bool valid() const { return data_ != nullptr; }
  const uint8_t* data() const { return data_; }
  uint32_t size() const { return Load<uint32_t>(0); }
  size_t num_fields() const { return Load<uint16_t>(4); }

  bool IsNull(size_t i) const {
    uint64_t word = Load<uint64_t>(row_layout::kHeaderBytes + (i / 64) * 8);
    return (word >> (i % 64)) & 1u;
  }
  bool GetBool(size_t i) const { return Load<uint64_t>(SlotOffset(i)) != 0; }
  int64_t GetInt64(size_t i) const { return Load<int64_t>(SlotOffset(i)); }
  double GetDouble(size_t i) const { return Load<double>(SlotOffset(i)); }
  int64_t GetDecimalUnscaled(size_t i) const { return GetInt64(i); }
  int64_t GetTimestampMillis(size_t i) const { return GetInt64(i); }
  std::string_view GetString(size_t i) const {
    uint32_t offset = Load<uint32_t>(SlotOffset(i));
    uint32_t length = Load<uint32_t>(SlotOffset(i) + 4);
    return {reinterpret_cast<const char*>(data_ + offset), length};
  }

 private:
  size_t SlotOffset(size_t i) const {
    return row_layout::kHeaderBytes + row_layout::BitmapBytes(num_fields()) + i * 8;
  }
  template <typename T>
  T Load(size_t offset) const {
    T v;
    std::memcpy(&v, data_ + offset, sizeof(T));
    return v;
  }

  const uint8_t* data_ = nullptr;
};

// Builds rows of a fixed field count into one reused buffer, so steady-state
// building allocates nothing. Set fields in any order; fields not set since
// Reset() are NULL.
class RowBuilder {
 public:
  explicit RowBuilder(size_t num_fields);

  size_t num_fields() const { return num_fields_; }

  // Clears all fields to NULL and drops the variable part.
  void Reset();

  void SetNull(size_t i);
  void SetBool(size_t i, bool v) { SetSlot(i, static_cast<uint64_t>(v ? 1 : 0)); }
  void SetInt64(size_t i, int64_t v) { SetSlot(i, v); }
  void SetDouble(size_t i, double v) { SetSlot(i, v); }
  void SetDecimalUnscaled(size_t i, int64_t v) { SetSlot(i, v); }
  void SetTimestampMillis(size_t i, int64_t v) { SetSlot(i, v); }
  // Copies the bytes into the variable part. Setting a string field twice
  // wastes the first copy's bytes until Reset().
  void SetString(size_t i, std::string_view v);

  // Writes the total size into the header and returns a view of the row,
  // valid until the next call that modifies this builder.
  RowView Finish();

 private:
  template <typename T>
  void SetSlot(size_t i, T v) {
    std::memcpy(buffer_.data() + SlotOffset(i), &v, sizeof(T));
    ClearNullBit(i);
  }
  size_t SlotOffset(size_t i) const {
    return row_layout::kHeaderBytes + row_layout::BitmapBytes(num_fields_) + i * 8;
  }
  void ClearNullBit(size_t i);

  size_t num_fields_;
  std::vector<uint8_t> buffer_;  // fixed part followed by the variable part
};

// Copies an encoded row into an owned, contiguous byte vector (for state and
// tests; not for the hot path).
std::vector<uint8_t> CopyRow(RowView row);

}  // namespace sluice
