// The consumer side of an edge: an InputGate gathers one InputChannel per
// producer subtask feeding this subtask. Channels tell the gate when they
// have data; the task thread polls the gate and sleeps on its Wakeup when
// nothing is ready.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/network/result_partition.h"

namespace sluice {

// Wakes a task thread from its wait: new input, a mailbox action, or a
// cancel. One per task, shared by its gates.
class Wakeup {
 public:
  // Notifies only when the task actually sleeps: a busy task is signalled
  // once per buffer, and a futex call each time would cost more than the
  // buffer's records.
  void Signal() {
    std::lock_guard<std::mutex> lock(mu_);
    signalled_ = true;
    if (waiting_) cv_.notify_one();
  }
  // Whether the task sleeps for want of input now (the stall watchdog asks:
  // a task busy or blocked on its output is not starved).
  bool waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }
  // Waits until signalled or timeout; clears the signal.
  void Wait(int64_t timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!signalled_) {
      waiting_ = true;
      cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return signalled_; });
      waiting_ = false;
    }
    signalled_ = false;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool signalled_ = false;
  bool waiting_ = false;
};

class InputGate;

class InputChannel {
 public:
  InputChannel(InputGate* gate, int index, std::string description)
      : gate_(gate), index_(index), description_(std::move(description)) {}
  virtual ~InputChannel() = default;

  // Asks the producer for the subpartition.
  virtual void Start() = 0;
  virtual bool Poll(BufferOrEvent* out) = 0;
  // Stops reading: the task is done with this channel or cancelled.
  virtual void Close() = 0;
  virtual size_t queued_buffers() const = 0;
  // Unaligned checkpoints: barrier `checkpoint_id`, queued in this channel
  // behind data it received, or still to come, overtakes that data, which
  // rides with it (BufferOrEvent::overtaken) as with a barrier that arrives
  // unaligned. A local channel has nothing of its own queued: its
  // producer's output queue is where its barrier jumps.
  virtual void PrioritizeBarrier(int64_t /*checkpoint_id*/) {}
  // The newest aligned barrier this channel has received, even if the task
  // has not reached it behind the data queued before it (as Flink's event
  // announcement): it starts the aligned timeout. False if none.
  virtual bool AnnouncedBarrier(Event* /*barrier*/) const { return false; }

  int index() const { return index_; }
  const std::string& description() const { return description_; }

 protected:
  void NotifyGate();
  void FailGate(const Status& status);

  InputGate* gate_;
  const int index_;
  const std::string description_;
};

class InputGate {
 public:
  explicit InputGate(Wakeup* wakeup) : wakeup_(wakeup) {}
  ~InputGate();

  void AddChannel(std::unique_ptr<InputChannel> channel);
  void Start();
  size_t num_channels() const { return channels_.size(); }
  InputChannel& channel(size_t i) { return *channels_[i]; }

  // The next queued entry of any ready channel, round robin.
  bool PollNext(BufferOrEvent* out, int* channel);
  void Notify(int channel);
  void Fail(const Status& status);
  Status failure() const;
  void Close();
  size_t queued_buffers() const;
  // Whether its task sleeps waiting for input.
  bool task_waiting() const { return wakeup_->waiting(); }

 private:
  Wakeup* wakeup_;
  std::vector<std::unique_ptr<InputChannel>> channels_;
  mutable std::mutex mu_;
  std::deque<int> ready_;
  std::vector<bool> in_ready_;
  Status failure_;
};

// A channel from a subpartition on this worker: buffers pass by handover,
// bounded by the producer's buffer pool, no copy, no TCP.
class LocalInputChannel final : public InputChannel, public SubpartitionListener {
 public:
  LocalInputChannel(InputGate* gate, int index, std::string description, class PartitionManager* partitions,
                    ResultPartitionId id, int subpartition);
  ~LocalInputChannel() override;
  void Start() override;
  bool Poll(BufferOrEvent* out) override;
  void Close() override;
  size_t queued_buffers() const override;
  void OnDataAvailable() override { NotifyGate(); }
  // A local reader takes as soon as its task looks: it could take now if
  // its task sleeps waiting for input.
  bool CanTakeData() const override { return gate_->task_waiting(); }
  std::string Describe() const override { return "local channel " + description_ + " (its task waits for input)"; }
  void OnStalled(const Status& why) override { FailGate(why); }

 private:
  // Outlives the channel in the partition manager's waiting list, so a late
  // binding finds the channel gone rather than freed.
  struct Binding {
    std::mutex mu;
    LocalInputChannel* channel = nullptr;  // null once closed
  };

  PartitionManager* partitions_;
  const ResultPartitionId id_;
  const int subpartition_index_;
  std::shared_ptr<Binding> binding_;
  mutable std::mutex mu_;
  std::shared_ptr<ResultPartition> partition_;  // set once bound
};

}  // namespace sluice
