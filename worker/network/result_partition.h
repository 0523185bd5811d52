// The producer side of an edge: one ResultPartition per producing subtask and
// output edge, with one Subpartition per consuming subtask. Finished buffers
// and events queue in a subpartition until its one reader (a local channel or
// a remote connection) takes them.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/network/buffer_pool.h"
#include "worker/network/event.h"

namespace sluice {

struct ResultPartitionId {
  std::string job_id;
  int64_t attempt = 0;
  std::string vertex_id;
  int32_t subtask = 0;
  int32_t output_index = 0;

  std::string Key() const;       // unique on a worker
  std::string ToString() const;  // for messages
};

// One queued entry: a data buffer, or an event.
struct BufferOrEvent {
  PooledBuffer buffer;
  bool is_event = false;
  Event event;
  // An unaligned barrier that overtook buffers already in the consumer's
  // channel: their bytes, in order, for the checkpoint to store. They are
  // still delivered after the barrier.
  std::shared_ptr<const std::string> overtaken;
};

// Told when a subpartition has something new. Called without locks held,
// from the producer's thread.
class SubpartitionListener {
 public:
  virtual ~SubpartitionListener() = default;
  virtual void OnDataAvailable() = 0;
  // Whether the reader could take a data buffer now: a remote reader only
  // with credit. Called under the subpartition's lock, from the watchdog.
  virtual bool CanTakeData() const { return true; }
  // The reader as the stall report names it: its channel and its state.
  virtual std::string Describe() const = 0;
  // The watchdog gave up on this subpartition: the reader fails its
  // consumer. Called under the subpartition's lock (as OnDataAvailable), so
  // it must only post or fail a gate, never call back.
  virtual void OnStalled(const Status& /*why*/) {}
};

class ResultPartition;

class Subpartition {
 public:
  Subpartition(ResultPartition* partition, int index) : partition_(partition), index_(index) {}

  // Producer side.
  void Add(PooledBuffer buffer);
  void AddEvent(const Event& event);
  // Unaligned checkpoints: puts the barrier ahead of everything queued and
  // appends the bytes of the data buffers it overtook to *overtaken (they
  // are still sent, after it).
  void AddPriorityEvent(const Event& event, std::string* overtaken);
  // Whether barrier `checkpoint_id` is still queued (its reader has not
  // taken it yet).
  bool HasBarrier(int64_t checkpoint_id) const;
  // Turns barrier `checkpoint_id`, if still queued, into an unaligned one at
  // the head, with *overtaken as AddPriorityEvent; false if it was taken.
  bool PrioritizeBarrier(int64_t checkpoint_id, std::string* overtaken);

  // Reader side. Pops the head entry if there is one; *backlog is the number
  // of data buffers still queued after it.
  // With allow_data false (a remote reader without credit) only an event at
  // the head is taken.
  bool Poll(BufferOrEvent* out, int* backlog, bool allow_data = true);
  bool HasData() const;
  // Attaches the one reader; FAILED_PRECONDITION if it already has one.
  Status SetListener(SubpartitionListener* listener);
  void DetachListener();

  // Drops everything queued (their buffers go back to the pool).
  void Release();
  size_t queued_buffers() const;
  int index() const { return index_; }

  // The watchdog: how long the reader has taken nothing although entries
  // are queued and it could take them (0 if it is not stalled), and what
  // the report says of it.
  int64_t StalledForMs(int64_t now_ms, std::string* state) const;
  void NotifyStalled(const Status& why);

 private:
  void Notify();

  ResultPartition* partition_;
  const int index_;
  mutable std::mutex mu_;
  std::deque<BufferOrEvent> queue_;
  size_t data_buffers_ = 0;
  SubpartitionListener* listener_ = nullptr;
  bool consumed_ = false;  // its end-of-partition was taken
  // When the reader last took an entry, or the queue last became non-empty,
  // whichever is later (steady clock): the start of a possible stall.
  int64_t progress_ms_ = 0;
};

class ResultPartition {
 public:
  using ConsumedCallback = std::function<void(const ResultPartitionId&)>;

  ResultPartition(ResultPartitionId id, int num_subpartitions, std::shared_ptr<LocalBufferPool> pool,
                  ConsumedCallback on_consumed);

  const ResultPartitionId& id() const { return id_; }
  int num_subpartitions() const { return static_cast<int>(subpartitions_.size()); }
  Subpartition& subpartition(int i) { return *subpartitions_[i]; }
  LocalBufferPool& pool() { return *pool_; }

  // A consumer's failure (its connection broke): the producer fails on its
  // next write with this status.
  void Fail(const Status& status);
  Status failure() const;
  // Drops all queued data; readers see nothing more.
  void Release();
  size_t queued_buffers() const;

  // task.stall-timeout of the producing task's job; 0 turns the watchdog off.
  void set_stall_timeout_ms(int64_t ms) { stall_timeout_ms_ = ms; }
  // The watchdog, about once a second: a subpartition whose reader could
  // take its queued entries but has taken nothing for the stall timeout
  // fails the producer (on its next write) and its reader's consumer, with
  // a message that gives the channel's state. Returns that failure, or OK.
  Status CheckStalled(int64_t now_ms);

 private:
  friend class Subpartition;
  void OnSubpartitionConsumed();

  const ResultPartitionId id_;
  std::vector<std::unique_ptr<Subpartition>> subpartitions_;
  std::shared_ptr<LocalBufferPool> pool_;
  ConsumedCallback on_consumed_;
  std::atomic<int> unconsumed_;
  std::atomic<int64_t> stall_timeout_ms_{0};
  mutable std::mutex mu_;
  Status failure_;
};

// Milliseconds of the steady clock, as the watchdog counts.
int64_t SteadyNowMs();

}  // namespace sluice
