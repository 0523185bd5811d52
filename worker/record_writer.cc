#include "worker/record_writer.h"

#include <chrono>
#include <cstring>

#include "worker/network/key_groups.h"

namespace sluice {

RecordWriter::RecordWriter(std::shared_ptr<ResultPartition> partition, Options options, Schema schema,
                           const std::atomic<bool>* cancelled, std::atomic<int64_t>* backpressured_ns)
    : partition_(std::move(partition)),
      options_(std::move(options)),
      schema_(std::move(schema)),
      cancelled_(cancelled),
      backpressured_ns_(backpressured_ns),
      current_(partition_->num_subpartitions()),
      // Producers start at different consumers so they spread from the first
      // row; there may be more producers than consumers.
      next_rebalance_(options_.subtask % partition_->num_subpartitions()) {}

void RecordWriter::Collect(const RowView& row) {
  const int n = partition_->num_subpartitions();
  switch (options_.partitioning) {
    case proto::HASH: {
      uint64_t hash = HashKeyFields(row, options_.key_fields, schema_);
      int key_group = KeyGroupOf(hash, options_.max_parallelism);
      Write(OperatorIndexForKeyGroup(key_group, options_.max_parallelism, n), row);
      break;
    }
    case proto::REBALANCE:
      Write(next_rebalance_, row);
      next_rebalance_ = next_rebalance_ + 1 == n ? 0 : next_rebalance_ + 1;
      break;
    case proto::BROADCAST:
      for (int i = 0; i < n; ++i) Write(i, row);
      break;
    default:  // FORWARD: the one consumer with our index
      Write(0, row);
  }
}

void RecordWriter::Write(int target, const RowView& row) {
  if (!failure_.ok()) return;
  span_.Start(row.data(), row.size());
  while (true) {
    if (!current_[target].valid() && !NextBuffer(target)) return;
    bool whole = span_.CopyTo(current_[target].get());
    if (current_[target].get().full()) FlushTarget(target);
    if (whole) break;
  }
  if (options_.flush_every_record) FlushTarget(target);
}

// Blocks while the pool is empty: that is backpressure, and its time is
// measured. Wakes periodically to notice cancellation or a failed consumer.
bool RecordWriter::NextBuffer(int target) {
  PooledBuffer buffer = partition_->pool().Take(0);
  if (!buffer.valid()) {
    auto start = std::chrono::steady_clock::now();
    while (!buffer.valid()) {
      Status failed = partition_->failure();
      if (!failed.ok()) {
        failure_ = failed;
        break;
      }
      if (cancelled_ != nullptr && cancelled_->load(std::memory_order_relaxed)) {
        failure_ = Status::Cancelled("cancelled while waiting for an output buffer");
        break;
      }
      buffer = partition_->pool().Take(50);
      if (wait_hook_) wait_hook_();
    }
    if (backpressured_ns_ != nullptr) {
      backpressured_ns_->fetch_add(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count(),
          std::memory_order_relaxed);
    }
    if (!buffer.valid()) return false;
  }
  current_[target] = std::move(buffer);
  return true;
}

void RecordWriter::FlushTarget(int target) {
  if (!current_[target].valid() || current_[target].get().size == 0) return;
  partition_->subpartition(target).Add(std::move(current_[target]));
}

void RecordWriter::Flush() {
  for (int i = 0; i < partition_->num_subpartitions(); ++i) FlushTarget(i);
}

void RecordWriter::BroadcastEvent(const Event& event) {
  Flush();
  for (int i = 0; i < partition_->num_subpartitions(); ++i) partition_->subpartition(i).AddEvent(event);
}

void RecordWriter::BroadcastPriorityEvent(const Event& event, std::vector<std::string>* overtaken) {
  Flush();
  overtaken->assign(partition_->num_subpartitions(), std::string());
  for (int i = 0; i < partition_->num_subpartitions(); ++i) {
    partition_->subpartition(i).AddPriorityEvent(event, &(*overtaken)[i]);
  }
}

void RecordWriter::WriteRaw(int target, std::string_view bytes) {
  FlushTarget(target);
  while (!bytes.empty() && failure_.ok()) {
    if (!current_[target].valid() && !NextBuffer(target)) return;
    Buffer& b = current_[target].get();
    size_t n = std::min<size_t>(bytes.size(), b.capacity - b.size);
    std::memcpy(b.data + b.size, bytes.data(), n);
    b.size += static_cast<uint32_t>(n);
    bytes.remove_prefix(n);
    if (b.full()) FlushTarget(target);
  }
  FlushTarget(target);
}

Status RecordWriter::failure() const {
  if (!failure_.ok()) return failure_;
  return partition_->failure();
}

}  // namespace sluice
