#include "worker/network/result_partition.h"

#include <chrono>

namespace sluice {

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string ResultPartitionId::Key() const {
  return job_id + "/" + std::to_string(attempt) + "/" + vertex_id + "/" + std::to_string(subtask) + "/" +
         std::to_string(output_index);
}

std::string ResultPartitionId::ToString() const {
  return "output " + std::to_string(output_index) + " of subtask " + std::to_string(subtask) + " of vertex '" +
         vertex_id + "'";
}

void Subpartition::Add(PooledBuffer buffer) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) progress_ms_ = SteadyNowMs();
    BufferOrEvent entry;
    entry.buffer = std::move(buffer);
    queue_.push_back(std::move(entry));
    ++data_buffers_;
  }
  Notify();
}

void Subpartition::AddEvent(const Event& event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) progress_ms_ = SteadyNowMs();
    BufferOrEvent entry;
    entry.is_event = true;
    entry.event = event;
    queue_.push_back(std::move(entry));
  }
  Notify();
}

namespace {

void AppendData(const std::deque<BufferOrEvent>& queue, size_t end, std::string* out) {
  for (size_t i = 0; i < end; ++i) {
    if (queue[i].is_event) continue;
    const Buffer& b = queue[i].buffer.get();
    out->append(reinterpret_cast<const char*>(b.data), b.size);
  }
}

}  // namespace

void Subpartition::AddPriorityEvent(const Event& event, std::string* overtaken) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    AppendData(queue_, queue_.size(), overtaken);
    BufferOrEvent entry;
    entry.is_event = true;
    entry.event = event;
    queue_.push_front(std::move(entry));
  }
  Notify();
}

bool Subpartition::HasBarrier(int64_t checkpoint_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& e : queue_) {
    if (e.is_event && e.event.type == EventType::kCheckpointBarrier && e.event.checkpoint_id == checkpoint_id) {
      return true;
    }
  }
  return false;
}

bool Subpartition::PrioritizeBarrier(int64_t checkpoint_id, std::string* overtaken) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    size_t i = 0;
    while (i < queue_.size() && !(queue_[i].is_event && queue_[i].event.type == EventType::kCheckpointBarrier &&
                                  queue_[i].event.checkpoint_id == checkpoint_id)) {
      ++i;
    }
    if (i == queue_.size()) return false;
    AppendData(queue_, i, overtaken);
    BufferOrEvent entry = std::move(queue_[i]);
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
    entry.event.unaligned = true;
    queue_.push_front(std::move(entry));
  }
  Notify();
  return true;
}

// Under the lock, so a reader that detaches is never called afterwards.
// Listeners only queue a notification (gate or network thread) and never call
// back into the subpartition.
void Subpartition::Notify() {
  std::lock_guard<std::mutex> lock(mu_);
  if (listener_ != nullptr) listener_->OnDataAvailable();
}

bool Subpartition::Poll(BufferOrEvent* out, int* backlog, bool allow_data) {
  bool consumed_now = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.empty()) return false;
    if (!allow_data && !queue_.front().is_event) return false;
    *out = std::move(queue_.front());
    queue_.pop_front();
    progress_ms_ = SteadyNowMs();
    if (!out->is_event) --data_buffers_;
    if (backlog != nullptr) *backlog = static_cast<int>(data_buffers_);
    if (out->is_event && out->event.type == EventType::kEndOfPartition && !consumed_) {
      consumed_ = true;
      consumed_now = true;
    }
  }
  if (consumed_now) partition_->OnSubpartitionConsumed();
  return true;
}

bool Subpartition::HasData() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !queue_.empty();
}

Status Subpartition::SetListener(SubpartitionListener* listener) {
  std::lock_guard<std::mutex> lock(mu_);
  if (listener_ != nullptr) {
    return Status::FailedPrecondition("subpartition " + std::to_string(index_) + " of " +
                                      partition_->id().ToString() + " already has a reader");
  }
  listener_ = listener;
  if (!queue_.empty()) listener->OnDataAvailable();
  return Status::Ok();
}

void Subpartition::NotifyStalled(const Status& why) {
  // Under the lock like Notify, so a reader that detaches is never called
  // afterwards; OnStalled only posts or fails a gate.
  std::lock_guard<std::mutex> lock(mu_);
  if (listener_ != nullptr) listener_->OnStalled(why);
}

void Subpartition::DetachListener() {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = nullptr;
}

void Subpartition::Release() {
  std::deque<BufferOrEvent> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    dropped.swap(queue_);
    data_buffers_ = 0;
  }
  // Buffers are recycled here, outside the lock.
}

size_t Subpartition::queued_buffers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return data_buffers_;
}

int64_t Subpartition::StalledForMs(int64_t now_ms, std::string* state) const {
  std::lock_guard<std::mutex> lock(mu_);
  // No reader yet is not a stall of the data plane: the consumer may still
  // be deploying, and the scheduler's timeouts cover a consumer that never
  // comes. A reader without credit is backpressure, unless an event (which
  // needs none) waits at the head.
  if (queue_.empty() || listener_ == nullptr) return 0;
  if (!queue_.front().is_event && !listener_->CanTakeData()) return 0;
  *state = std::to_string(data_buffers_) + " buffers and " + std::to_string(queue_.size() - data_buffers_) +
           " events queued for subpartition " + std::to_string(index_) + ", read by " + listener_->Describe();
  return now_ms - progress_ms_;
}

ResultPartition::ResultPartition(ResultPartitionId id, int num_subpartitions, std::shared_ptr<LocalBufferPool> pool,
                                 ConsumedCallback on_consumed)
    : id_(std::move(id)), pool_(std::move(pool)), on_consumed_(std::move(on_consumed)),
      unconsumed_(num_subpartitions) {
  for (int i = 0; i < num_subpartitions; ++i) subpartitions_.push_back(std::make_unique<Subpartition>(this, i));
}

void ResultPartition::Fail(const Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (failure_.ok()) failure_ = status;
  }
  pool_->WakeUp();  // a producer blocked on a buffer sees the failure
}

Status ResultPartition::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

void ResultPartition::Release() {
  for (auto& s : subpartitions_) s->Release();
}

size_t ResultPartition::queued_buffers() const {
  size_t n = 0;
  for (const auto& s : subpartitions_) n += s->queued_buffers();
  return n;
}

Status ResultPartition::CheckStalled(int64_t now_ms) {
  const int64_t timeout = stall_timeout_ms_.load(std::memory_order_relaxed);
  if (timeout <= 0 || !failure().ok()) return Status::Ok();
  for (auto& s : subpartitions_) {
    std::string state;
    int64_t stalled = s->StalledForMs(now_ms, &state);
    if (stalled < timeout) continue;
    Status why = Status::DeadlineExceeded(
        "task.stall-timeout: " + id_.ToString() + " of job " + id_.job_id + " has sent nothing for " +
        std::to_string(stalled / 1000) + " s while its reader could take it: " + state +
        ". Its consumer gets nothing more, so the job fails (its restart strategy decides what next)");
    Fail(why);
    s->NotifyStalled(why);
    return why;
  }
  return Status::Ok();
}

void ResultPartition::OnSubpartitionConsumed() {
  if (--unconsumed_ == 0 && on_consumed_) on_consumed_(id_);
}

}  // namespace sluice
