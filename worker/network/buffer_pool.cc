#include "worker/network/buffer_pool.h"

#include <chrono>
#include <string>

namespace sluice {
namespace {
std::string MiB(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", bytes / 1048576.0);
  return text;
}
}  // namespace

NetworkBufferPool::NetworkBufferPool(uint32_t buffer_size, uint64_t total_bytes)
    : buffer_size_(buffer_size),
      total_buffers_(static_cast<size_t>(total_bytes / buffer_size)),
      arena_(new uint8_t[total_buffers_ * static_cast<size_t>(buffer_size)]) {
  free_.reserve(total_buffers_);
  for (size_t i = total_buffers_; i-- > 0;) free_.push_back(arena_.get() + i * static_cast<size_t>(buffer_size));
}

size_t NetworkBufferPool::available_buffers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return free_.size();
}

Result<std::vector<uint8_t*>> NetworkBufferPool::Take(size_t count, const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  if (count > free_.size()) {
    return Status::ResourceExhausted(
        what + " needs " + std::to_string(count) + " network buffers (" + MiB(count * uint64_t{buffer_size_}) +
        "), but only " + std::to_string(free_.size()) + " (" + MiB(free_.size() * uint64_t{buffer_size_}) +
        ") of network.memory (" + MiB(total_buffers_ * uint64_t{buffer_size_}) + ") are free");
  }
  std::vector<uint8_t*> out(free_.end() - static_cast<long>(count), free_.end());
  free_.resize(free_.size() - count);
  return out;
}

void NetworkBufferPool::Return(const std::vector<uint8_t*>& segments) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.insert(free_.end(), segments.begin(), segments.end());
}

Result<std::shared_ptr<LocalBufferPool>> LocalBufferPool::Create(NetworkBufferPool* global, size_t count,
                                                                 const std::string& what) {
  SLUICE_ASSIGN_OR_RETURN(std::vector<uint8_t*> segments, global->Take(count, what));
  return std::shared_ptr<LocalBufferPool>(new LocalBufferPool(global, std::move(segments)));
}

LocalBufferPool::LocalBufferPool(NetworkBufferPool* global, std::vector<uint8_t*> segments)
    : global_(global), capacity_(segments.size()), buffer_size_(global->buffer_size()), all_(segments),
      free_(std::move(segments)) {}

// Every PooledBuffer holds a reference to its pool, so by now all segments
// are back and can return to the worker's budget.
LocalBufferPool::~LocalBufferPool() { global_->Return(all_); }

PooledBuffer LocalBufferPool::Take(int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  if (free_.empty() && timeout_ms > 0) {
    uint64_t wakeups = wakeups_;
    ++waiters_;
    available_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return !free_.empty() || wakeups_ != wakeups; });
    --waiters_;
  }
  if (free_.empty()) return PooledBuffer();
  uint8_t* segment = free_.back();
  free_.pop_back();
  lock.unlock();
  return PooledBuffer(Buffer{segment, buffer_size_, 0}, shared_from_this());
}

// Notifies only a producer that is actually waiting (see Wakeup::Signal).
void LocalBufferPool::Recycle(uint8_t* segment) {
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(segment);
  if (waiters_ > 0) available_cv_.notify_one();
}

uint8_t* LocalBufferPool::TakeSegment() {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.empty()) return nullptr;
  uint8_t* segment = free_.back();
  free_.pop_back();
  return segment;
}

void LocalBufferPool::WakeUp() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakeups_;
  }
  available_cv_.notify_all();
}

size_t LocalBufferPool::available() const {
  std::lock_guard<std::mutex> lock(mu_);
  return free_.size();
}

}  // namespace sluice
