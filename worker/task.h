// One subtask of a vertex: a thread that runs the vertex's operator chain.
// A source task drives its chain from the source; any other task reads its
// input gates. Either way the chain ends in a sink or in record writers, one
// per output edge. The thread is a mailbox loop: input, flush timer and
// cancellation are handled between batches, so operators need no locks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "proto/cluster_service.pb.h"
#include "proto/task_service.pb.h"
#include "worker/checkpoint_barrier_handler.h"
#include "worker/network/channel_state.h"
#include "worker/network/input_gate.h"
#include "worker/network/record_span.h"
#include "worker/operators/operator.h"
#include "worker/operators/operator_registry.h"
#include "worker/record_writer.h"
#include "worker/state/incremental_snapshot.h"

namespace sluice {

class DataPlane;

struct TaskMetricsCounters {
  std::atomic<int64_t> records_in{0};
  std::atomic<int64_t> records_out{0};
  std::atomic<int64_t> bytes_in{0};
  std::atomic<int64_t> bytes_out{0};
  std::atomic<int64_t> backpressured_ns{0};
  std::atomic<int64_t> buffers_queued_in{0};
  std::atomic<int64_t> buffers_queued_out{0};
  std::atomic<int64_t> state_entries{0};
  std::atomic<int64_t> last_barrier_id{0};
};

class Task {
 public:
  // Called from the task thread on every state change.
  using StateListener = std::function<void(const proto::TaskId&, proto::TaskState, const std::string& failure,
                                           const proto::TaskMetrics&)>;

  // Builds the operators, reserves network buffers and creates the task's
  // partitions and channels; a bad chain or too little network memory fails
  // here, before any thread starts. `data_plane` may be null for a task with
  // neither inputs nor outputs.
  static Result<std::unique_ptr<Task>> Create(const proto::DeployTaskRequest& request,
                                              const OperatorRegistry& registry, DataPlane* data_plane,
                                              StateListener listener, Logger log,
                                              const std::string& state_dir = "");
  ~Task();  // cancels and joins

  void Start();
  // Asks the task to stop; returns at once.
  void Cancel();

  // Checkpoints, from any thread. A source task snapshots and sends barrier
  // `checkpoint_id` between two batches; other tasks act on the barriers
  // that reach them. The listener gets every acknowledgement (or decline),
  // from the task's thread.
  using CheckpointListener = std::function<void(const proto::CheckpointAck&)>;
  void set_checkpoint_listener(CheckpointListener listener) { checkpoint_listener_ = std::move(listener); }
  bool is_source() const { return source_ != nullptr; }
  // With `drain` (stop --drain) a source first emits the maximum watermark,
  // and ends once it has passed the barrier on.
  void TriggerCheckpoint(int64_t checkpoint_id, int64_t timestamp_ms, bool drain = false);
  void NotifyCheckpointComplete(int64_t checkpoint_id);
  // Where checkpoint `checkpoint_id` is written, if not under checkpoint.dir
  // (a savepoint).
  void SetCheckpointDirectory(int64_t checkpoint_id, std::string directory);
  void Join();

  const proto::TaskId& id() const { return id_; }
  bool done() const { return done_.load(); }
  proto::TaskState state() const { return state_.load(); }
  // Counters only; rates are the executor's business.
  proto::TaskMetrics Metrics() const;

 private:
  Task(proto::TaskId id, StateListener listener, Logger log);
  // Duration `key` of the job config into *out (left as is when unset);
  // `positive`: 0 is refused too.
  static Status ReadJobDuration(const proto::DeployTaskRequest& request, const char* key, bool positive,
                                int64_t* out);
  Status BuildChain(const proto::DeployTaskRequest& request, const OperatorRegistry& registry, DataPlane* data_plane,
                    const std::string& state_dir);
  Status BuildInputs(const proto::DeployTaskRequest& request, DataPlane* data_plane);
  void Run();
  Status RunSource();
  Status RunInputs();
  static constexpr uint32_t kMaxRecordBytes = 16u << 20;  // bounds a channel's scratch memory
  // How far RunInputs has read its input channels.
  struct ChannelProgress {
    RecordSpanReader reader{kMaxRecordBytes};
    bool ended = false;
    bool idle = false;
    int64_t watermark = INT64_MIN;
  };
  struct InputProgress {
    std::vector<std::vector<ChannelProgress>> channels;  // per gate, per channel
    int64_t watermark = INT64_MIN;  // the newest passed on
    bool idle = false;              // every open channel is idle, and consumers were told
  };
  // Feeds a buffer's records (completing one begun in an earlier buffer) to
  // the chain input its gate feeds.
  Status ReadBuffer(size_t gate, int channel, const uint8_t* data, uint32_t size, InputProgress& progress);
  CheckpointBarrierHandler MakeBarrierHandler();
  // Does what barrier alignment asks for.
  void ActOn(const CheckpointBarrierHandler::Action& action, const InputProgress& progress);
  // Passes on the minimum watermark over open, active channels, and tells
  // consumers when every open channel has gone idle (or one is back).
  void UpdateInputWatermark(InputProgress& progress);
  Status CheckFailures() const;
  void MaybeFlush(bool force);
  Status FinishChain();
  Status Restore(const proto::TaskRestore& restore);
  // A task restored as finished ends at once and emits nothing.
  Status RunFinished();
  Status ReplayRestoredOutputs();
  struct CheckpointRequest {
    int64_t id = 0;
    int64_t timestamp_ms = 0;
    bool drain = false;
  };
  Status MaybeStartCheckpoint();
  void StartSourceCheckpoint(const CheckpointRequest& request);
  // A checkpoint's files, written off the task thread.
  struct Upload {
    struct File {
      std::string operator_id, path;
      std::unique_ptr<StateIterator> entries;  // a point-in-time view of the backend (full snapshot)
      // Incremental: RocksDB's native checkpoint, and who uploads it.
      std::string local_dir;
      IncrementalUploader* uploader = nullptr;
    };
    proto::CheckpointAck ack;
    std::string directory;  // where its files go, with a trailing '/'
    std::vector<File> files;
    ChannelState channels;  // in-flight data of an unaligned checkpoint
    // Removes the local copies of a snapshot that was never uploaded (given
    // up on for a newer barrier, or the task ended first).
    ~Upload();
  };
  // The synchronous part of a snapshot, on the task thread; a snapshot that
  // cannot be taken comes back as a decline.
  std::unique_ptr<Upload> BeginSnapshot(int64_t checkpoint_id);
  Status TakeSnapshot(int64_t checkpoint_id, Upload* upload);
  void QueueUpload(std::unique_ptr<Upload> upload);
  bool IsSavepoint(int64_t checkpoint_id);
  // Sends the barrier on after the snapshot. An unaligned barrier jumps the
  // output queues, whose data joins the checkpoint; the upload waits while
  // inputs still owe their barrier (unaligned) or an aligned barrier may
  // still have to jump its queue (checkpoint.aligned-timeout).
  void PassBarrier(const Event& barrier, std::unique_ptr<Upload> upload, std::set<std::pair<int, int>> inputs_owing,
                   ChannelState in_flight, bool may_overtake_later);
  // Moves queued aligned barriers ahead once the aligned timeout passed,
  // and hands the upload over once nothing is owed.
  void AdvancePendingCheckpoint(bool force = false);
  // The end of input: what is still owed will not come.
  void FinishPendingCheckpoint();
  void RunUploader();
  void StopUploader();
  void DeliverCheckpointNotifications();
  void Report(proto::TaskState state, const std::string& failure = "");
  std::string Name() const;

  const proto::TaskId id_;
  StateListener listener_;
  Logger log_;
  int64_t flush_timeout_ms_ = 10;
  int64_t stall_timeout_ms_ = 60000;  // task.stall-timeout: long past any pause a healthy channel takes
  int64_t watermark_interval_ms_ = 200;
  int64_t idle_timeout_ms_ = 0;  // 0: sources never declare themselves idle
  int64_t last_flush_ms_ = 0;
  int64_t last_tick_ms_ = 0;
  int64_t last_state_count_ms_ = 0;

  std::unique_ptr<SourceOperator> source_;
  std::vector<std::unique_ptr<Operator>> operators_;
  std::vector<std::string> operator_ids_;  // of operators_
  std::vector<std::unique_ptr<Collector>> collectors_;
  std::vector<Collector*> outputs_;  // operator i emits into outputs_[i]
  Collector* head_ = nullptr;        // where input rows enter the chain
  Collector* second_head_ = nullptr;  // where a join's second input enters
  std::vector<int> gate_inputs_;      // per gate: the input it feeds (0 or 1)
  std::vector<std::unique_ptr<RecordWriter>> writers_;
  Wakeup wakeup_;
  std::vector<std::unique_ptr<InputGate>> gates_;
  std::vector<std::shared_ptr<LocalBufferPool>> gate_pools_;

  TaskMetricsCounters counters_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> done_{false};
  std::atomic<proto::TaskState> state_{proto::DEPLOYING};
  std::thread thread_;

  std::string checkpoint_dir_;
  KeyGroupRange key_groups_;
  bool exactly_once_ = true;  // checkpoint.mode: align barriers
  CheckpointListener checkpoint_listener_;
  std::mutex checkpoint_mu_;
  // The newest trigger: written under checkpoint_mu_ (with requests_); read without it on
  // the task thread's fast path.
  std::atomic<int64_t> requested_checkpoint_{0};
  // Triggers not started yet, oldest first; guarded by checkpoint_mu_. A
  // queue, not the newest alone: with several checkpoints in flight a
  // source busy in a batch may get two, and starts each still in flight
  // (one after the other, at the same position) rather than leave the
  // older one hanging.
  std::deque<CheckpointRequest> requests_;
  bool drained_ = false;                // task thread: the source ends now
  std::atomic<int64_t> completed_checkpoint_{0};
  std::map<int64_t, std::string> checkpoint_dirs_;
  std::mutex upload_mu_;
  std::condition_variable upload_cv_;
  std::deque<std::unique_ptr<Upload>> uploads_;  // guarded by upload_mu_
  bool uploads_stopping_ = false;
  std::thread uploader_;
  int64_t started_checkpoint_ = 0;    // task thread only
  int64_t notified_checkpoint_ = 0;
  int64_t last_barrier_id_ = 0;       // the newest checkpoint passed on
  bool unaligned_ = false;            // checkpoint.unaligned
  // checkpoint.max-concurrent: of the triggers a busy source finds queued,
  // only this many newest can still be in flight; older ones are skipped.
  size_t max_concurrent_checkpoints_ = 1;
  int64_t aligned_timeout_ms_ = 0;    // checkpoint.aligned-timeout: 0 = unaligned at once
  bool finished_on_restore_ = false;
  std::unique_ptr<ChannelState> restored_channels_;  // replayed before anything else
  // A checkpoint snapshotted and passed on whose in-flight data is still
  // being collected; task thread only.
  struct PendingChannels {
    int64_t id = 0;
    std::unique_ptr<Upload> upload;
    ChannelState data;
    std::set<std::pair<int, int>> inputs_owing;              // (gate, channel)
    std::vector<std::pair<int, int>> outputs_owing;          // (output, subpartition)
    int64_t deadline_ms = 0;  // when queued aligned barriers jump ahead
  };
  std::unique_ptr<PendingChannels> pending_;
  int64_t last_advance_ms_ = 0;
  // Incremental RocksDB snapshots: one uploader per operator (null: full
  // snapshots), made at the first checkpoint.
  bool incremental_ = true;  // state.backend.incremental
  std::string state_base_;   // where the operators' RocksDB directories are
  std::vector<std::unique_ptr<IncrementalUploader>> uploaders_;
};

}  // namespace sluice
