// The layout of state keys: [key group: 2 bytes][state: 1 byte][key][namespace].
//
// The key group comes first, big-endian, so one key group's state is one
// contiguous range (rescaling moves whole ranges). The state byte separates
// the states of one operator (a window's accumulators from its timers). The
// key is EncodeKey's self-delimiting form and namespaces are fixed-width or
// last, so a prefix of whole parts selects exactly the entries under it.
// Integers in keys are big-endian with the sign bit flipped, so byte order
// is numeric order and timers scan in time order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice {

class StateKey {
 public:
  StateKey& Reset(int key_group, uint8_t state) {
    bytes_.clear();
    bytes_.push_back(static_cast<char>((key_group >> 8) & 0xff));
    bytes_.push_back(static_cast<char>(key_group & 0xff));
    bytes_.push_back(static_cast<char>(state));
    return *this;
  }
  StateKey& AddBytes(std::string_view bytes) {
    bytes_.append(bytes);
    return *this;
  }
  StateKey& AddInt64(int64_t v) {
    AppendOrderedInt64(v, &bytes_);
    return *this;
  }
  // Drops everything after the first `size` bytes, to reuse a prefix.
  StateKey& Truncate(size_t size) {
    bytes_.resize(size);
    return *this;
  }

  const std::string& bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }
  operator std::string_view() const { return bytes_; }  // NOLINT: a key is its bytes

  static void AppendOrderedInt64(int64_t v, std::string* out) {
    uint64_t u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
    for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((u >> shift) & 0xff));
  }
  static int64_t ReadOrderedInt64(std::string_view bytes, size_t offset) {
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(bytes[offset + i]);
    return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
  }
  static int KeyGroupOf(std::string_view key) {
    return (static_cast<uint8_t>(key[0]) << 8) | static_cast<uint8_t>(key[1]);
  }

 private:
  std::string bytes_;
};

}  // namespace sluice
