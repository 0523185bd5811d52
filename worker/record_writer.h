// Serializes a task's output rows into network buffers, one result partition
// per output edge, choosing the subpartition (consumer) of each row by the
// edge's partitioning. A row is serialized once per target; a full buffer is
// handed over at once, a partly filled one on flush.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/records/schema.h"
#include "proto/job.pb.h"
#include "worker/network/record_span.h"
#include "worker/network/result_partition.h"
#include "worker/operators/operator.h"

namespace sluice {

class RecordWriter final : public Collector {
 public:
  struct Options {
    proto::Partitioning partitioning = proto::FORWARD;
    std::vector<size_t> key_fields;  // HASH only
    int max_parallelism = 128;
    int subtask = 0;                  // where REBALANCE starts, so producers spread
    bool flush_every_record = false;  // flush timeout 0
  };

  RecordWriter(std::shared_ptr<ResultPartition> partition, Options options, Schema schema,
               const std::atomic<bool>* cancelled, std::atomic<int64_t>* backpressured_ns);

  void Collect(const RowView& row) override;
  void EmitWatermark(int64_t watermark) override { BroadcastEvent(Event::Watermark(watermark)); }
  // Hands every partly filled buffer to its subpartition.
  void Flush();
  // Flushes, then puts the event into every subpartition, in order with data.
  void BroadcastEvent(const Event& event);
  // Unaligned checkpoints: flushes, then puts the barrier at the head of
  // every subpartition; (*overtaken)[i] gets the bytes it overtook in
  // subpartition i, which the checkpoint stores.
  void BroadcastPriorityEvent(const Event& event, std::vector<std::string>* overtaken);
  // Restoring an unaligned checkpoint: the stored bytes of subpartition
  // `target` go out again, before anything else.
  void WriteRaw(int target, std::string_view bytes);
  // Called after every wait (50 ms at most) while the task waits for an output buffer
  // (backpressure): the task uses it to move queued barriers ahead when
  // alignment takes too long. It must not write rows.
  void set_wait_hook(std::function<void()> hook) { wait_hook_ = std::move(hook); }
  // Why rows could not be written: the consumer failed, or the task was
  // cancelled while waiting for a buffer.
  Status failure() const;
  ResultPartition& partition() { return *partition_; }
  const std::shared_ptr<ResultPartition>& shared_partition() const { return partition_; }

 private:
  void Write(int target, const RowView& row);
  void FlushTarget(int target);
  bool NextBuffer(int target);

  std::shared_ptr<ResultPartition> partition_;
  const Options options_;
  const Schema schema_;
  const std::atomic<bool>* cancelled_;
  std::atomic<int64_t>* backpressured_ns_;
  std::vector<PooledBuffer> current_;  // per subpartition, being filled
  RecordSpanWriter span_;
  int next_rebalance_;
  Status failure_;
  std::function<void()> wait_hook_;
};

}  // namespace sluice
