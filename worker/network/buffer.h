// A network buffer: one fixed-size memory segment of a worker's buffer pool.
// Records are serialized into buffers once and travel in them, to a local
// consumer or over TCP.
#pragma once

#include <cstdint>

namespace sluice {

struct Buffer {
  uint8_t* data = nullptr;
  uint32_t capacity = 0;  // bytes of the segment
  uint32_t size = 0;      // bytes written

  uint32_t free_space() const { return capacity - size; }
  bool full() const { return size == capacity; }
};

}  // namespace sluice
