// Network memory. A worker owns one NetworkBufferPool with a fixed budget
// (network.memory) cut into fixed-size segments (network.buffer-size). Each
// task output and input gate reserves a fixed number of segments up front in
// a LocalBufferPool; when those are all in flight the producer blocks, which
// is backpressure. Memory never grows past the budget: a reservation that does
// not fit fails, saying how much it needed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "common/status.h"
#include "worker/network/buffer.h"

namespace sluice {

class NetworkBufferPool {
 public:
  NetworkBufferPool(uint32_t buffer_size, uint64_t total_bytes);

  uint32_t buffer_size() const { return buffer_size_; }
  size_t total_buffers() const { return total_buffers_; }
  size_t available_buffers() const;

  // Takes `count` segments or none. RESOURCE_EXHAUSTED names the memory
  // `what` needed and what is left of the budget.
  Result<std::vector<uint8_t*>> Take(size_t count, const std::string& what);
  void Return(const std::vector<uint8_t*>& segments);

 private:
  const uint32_t buffer_size_;
  const size_t total_buffers_;
  // One arena; pages are touched only when a segment is first written, so
  // an idle worker's RSS stays small.
  std::unique_ptr<uint8_t[]> arena_;
  mutable std::mutex mu_;
  std::vector<uint8_t*> free_;
};

// Whoever takes a segment back when a buffer is done with.
class BufferRecycler {
 public:
  virtual ~BufferRecycler() = default;
  virtual void Recycle(uint8_t* segment) = 0;
};

// A buffer that goes back to its recycler when destroyed. Move-only.
class PooledBuffer {
 public:
  PooledBuffer() = default;
  PooledBuffer(Buffer buffer, std::shared_ptr<BufferRecycler> recycler)
      : buffer_(buffer), recycler_(std::move(recycler)) {}
  PooledBuffer(PooledBuffer&& other) noexcept { *this = std::move(other); }
  PooledBuffer& operator=(PooledBuffer&& other) noexcept {
    if (this != &other) {
      Release();
      buffer_ = other.buffer_;
      recycler_ = std::move(other.recycler_);
      other.buffer_ = Buffer{};
    }
    return *this;
  }
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  ~PooledBuffer() { Release(); }

  bool valid() const { return buffer_.data != nullptr; }
  Buffer& get() { return buffer_; }
  const Buffer& get() const { return buffer_; }
  void Release() {
    if (buffer_.data != nullptr && recycler_) recycler_->Recycle(buffer_.data);
    buffer_ = Buffer{};
    recycler_.reset();
  }

 private:
  Buffer buffer_;
  std::shared_ptr<BufferRecycler> recycler_;
};

// A fixed set of segments reserved from the NetworkBufferPool, returned to it
// when the last buffer of this pool is recycled after the pool is closed.
// Thread-safe: task threads take, network and task threads recycle.
class LocalBufferPool final : public BufferRecycler, public std::enable_shared_from_this<LocalBufferPool> {
 public:
  static Result<std::shared_ptr<LocalBufferPool>> Create(NetworkBufferPool* global, size_t count,
                                                         const std::string& what);
  ~LocalBufferPool() override;

  // A free buffer, or an invalid one after timeout_ms (0 = don't wait).
  PooledBuffer Take(int64_t timeout_ms);
  void Recycle(uint8_t* segment) override;
  // A raw free segment or null, without waiting; give it back with Recycle.
  uint8_t* TakeSegment();
  // Wakes a thread blocked in Take (for cancellation).
  void WakeUp();

  size_t capacity() const { return capacity_; }
  size_t available() const;
  uint32_t buffer_size() const { return buffer_size_; }

 private:
  LocalBufferPool(NetworkBufferPool* global, std::vector<uint8_t*> segments);

  NetworkBufferPool* global_;
  const size_t capacity_;
  const uint32_t buffer_size_;
  std::vector<uint8_t*> all_;
  mutable std::mutex mu_;
  std::condition_variable available_cv_;
  std::vector<uint8_t*> free_;
  uint64_t wakeups_ = 0;
  int waiters_ = 0;
};

}  // namespace sluice
