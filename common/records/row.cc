#include "common/records/row.h"

#include <cassert>

namespace sluice {

RowBuilder::RowBuilder(size_t num_fields) : num_fields_(num_fields) {
  assert(num_fields <= UINT16_MAX && "the row header stores a u16 field count");
  buffer_.reserve(row_layout::FixedBytes(num_fields) + 64);
  Reset();
}

void RowBuilder::Reset() {
  // resize() within the reserved capacity never reallocates, and zeroing the
  // slots makes equal rows byte-identical (rows double as state keys).
  const size_t fixed = row_layout::FixedBytes(num_fields_);
  buffer_.resize(fixed);
  std::memset(buffer_.data(), 0, fixed);
  const uint16_t count = static_cast<uint16_t>(num_fields_);
  std::memcpy(buffer_.data() + 4, &count, sizeof(count));
  uint8_t* bitmap = buffer_.data() + row_layout::kHeaderBytes;
  for (size_t word = 0; word * 64 < num_fields_; ++word) {
    const size_t bits = num_fields_ - word * 64;
    const uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
    std::memcpy(bitmap + word * 8, &mask, sizeof(mask));
  }
}

void RowBuilder::ClearNullBit(size_t i) {
  assert(i < num_fields_);
  buffer_[row_layout::kHeaderBytes + (i / 64) * 8 + (i % 64) / 8] &=
      static_cast<uint8_t>(~(1u << (i % 8)));
}

void RowBuilder::SetNull(size_t i) {
  assert(i < num_fields_);
  buffer_[row_layout::kHeaderBytes + (i / 64) * 8 + (i % 64) / 8] |=
      static_cast<uint8_t>(1u << (i % 8));
  std::memset(buffer_.data() + SlotOffset(i), 0, 8);
}

void RowBuilder::SetString(size_t i, std::string_view v) {
  // The source may live in this very buffer (copying a field of the row being
  // built); growing the vector would invalidate it, so remember its offset.
  const uint8_t* src = reinterpret_cast<const uint8_t*>(v.data());
  const bool aliased = !v.empty() && src >= buffer_.data() &&
                       src < buffer_.data() + buffer_.size();
  const size_t src_offset = aliased ? static_cast<size_t>(src - buffer_.data()) : 0;
  const size_t offset = buffer_.size();
  assert(offset + v.size() <= UINT32_MAX);
  buffer_.resize(offset + v.size());
  if (!v.empty()) {
    const uint8_t* from = aliased ? buffer_.data() + src_offset : src;
    std::memcpy(buffer_.data() + offset, from, v.size());
  }
  const uint32_t slot[2] = {static_cast<uint32_t>(offset), static_cast<uint32_t>(v.size())};
  std::memcpy(buffer_.data() + SlotOffset(i), slot, sizeof(slot));
  ClearNullBit(i);
}

RowView RowBuilder::Finish() {
  // Pad to 8 bytes so rows packed back to back in a buffer keep every slot
  // aligned. Strings set after Finish() go after the padding, which is fine.
  const size_t padded = (buffer_.size() + 7) & ~size_t{7};
  buffer_.resize(padded);
  const uint32_t size = static_cast<uint32_t>(padded);
  std::memcpy(buffer_.data(), &size, sizeof(size));
  return RowView(buffer_.data());
}

std::vector<uint8_t> CopyRow(RowView row) {
  return std::vector<uint8_t>(row.data(), row.data() + row.size());
}

}  // namespace sluice
