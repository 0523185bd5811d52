#include "worker/task.h"

#include <chrono>
#include <deque>
#include <map>

#include <pthread.h>

#include "common/config.h"
#include "worker/network/data_plane.h"
#include "worker/network/record_span.h"
#include "worker/state/state_backend.h"

namespace sluice {
namespace {

constexpr size_t kBatchRows = 1024;
constexpr size_t kBackpressuredBatchRows = 64;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Task::Task(proto::TaskId id, StateListener listener, Logger log)
    : id_(std::move(id)), listener_(std::move(listener)), log_(std::move(log)) {}

Task::~Task() {
  Cancel();
  Join();
}

std::string Task::Name() const {
  return "subtask " + std::to_string(id_.subtask()) + " of '" + id_.vertex_id() + "'";
}

Status Task::ReadJobDuration(const proto::DeployTaskRequest& request, const char* key, bool positive,
                             int64_t* out) {
  auto it = request.job_config().find(key);
  if (it == request.job_config().end()) return Status::Ok();
  auto ms = ParseDurationMs(it->second);
  if (!ms.ok() || *ms < (positive ? 1 : 0)) {
    return Status::InvalidArgument(std::string(key) + ": '" + it->second + "' is not a " +
                                   (positive ? "positive duration" : "duration"));
  }
  *out = *ms;
  return Status::Ok();
}

Result<std::unique_ptr<Task>> Task::Create(const proto::DeployTaskRequest& request, const OperatorRegistry& registry,
                                           DataPlane* data_plane, StateListener listener, Logger log,
                                           const std::string& state_dir) {
  std::unique_ptr<Task> task(new Task(request.task(), std::move(listener), std::move(log)));
  SLUICE_RETURN_IF_ERROR(ReadJobDuration(request, "pipeline.flush-timeout", false, &task->flush_timeout_ms_));
  SLUICE_RETURN_IF_ERROR(ReadJobDuration(request, "task.stall-timeout", false, &task->stall_timeout_ms_));
  SLUICE_RETURN_IF_ERROR(
      ReadJobDuration(request, "pipeline.auto-watermark-interval", true, &task->watermark_interval_ms_));
  SLUICE_RETURN_IF_ERROR(ReadJobDuration(request, "pipeline.idle-timeout", false, &task->idle_timeout_ms_));
  if ((request.inputs_size() > 0 || request.outputs_size() > 0) && data_plane == nullptr) {
    return Status::FailedPrecondition("a task with inputs or outputs needs the data plane");
  }
  SLUICE_RETURN_IF_ERROR(task->BuildChain(request, registry, data_plane, state_dir));
  SLUICE_RETURN_IF_ERROR(task->BuildInputs(request, data_plane));
  // Consumers can find the partitions only once nothing can fail any more,
  // so a task that fails to build leaves no partition (and no buffers) behind.
  for (auto& w : task->writers_) data_plane->partitions().Register(w->shared_partition());
  return task;
}

void Task::Start() {
  thread_ = std::thread([this] {
    // "t:<vertex>#<subtask>", cut to the 15 characters Linux keeps: what
    // perf and top show for the thread.
    std::string name = "t:" + id_.vertex_id().substr(0, 8) + "#" + std::to_string(id_.subtask());
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    Run();
  });
}

void Task::Cancel() {
  cancelled_.store(true, std::memory_order_relaxed);
  wakeup_.Signal();
}

void Task::Join() {
  if (thread_.joinable()) thread_.join();
}

proto::TaskMetrics Task::Metrics() const {
  proto::TaskMetrics m;
  m.set_records_in(counters_.records_in.load(std::memory_order_relaxed));
  m.set_records_out(counters_.records_out.load(std::memory_order_relaxed));
  m.set_bytes_in(counters_.bytes_in.load(std::memory_order_relaxed));
  m.set_bytes_out(counters_.bytes_out.load(std::memory_order_relaxed));
  m.set_buffers_queued_in(counters_.buffers_queued_in.load(std::memory_order_relaxed));
  m.set_buffers_queued_out(counters_.buffers_queued_out.load(std::memory_order_relaxed));
  m.set_state_entries(counters_.state_entries.load(std::memory_order_relaxed));
  m.set_last_barrier_id(counters_.last_barrier_id.load(std::memory_order_relaxed));
  m.set_backpressured_ms(counters_.backpressured_ns.load(std::memory_order_relaxed) / 1000000);
  return m;
}

void Task::Report(proto::TaskState state, const std::string& failure) {
  state_.store(state);
  if (listener_) listener_(id_, state, failure, Metrics());
}

void Task::Run() {
  Status result;
  for (auto& g : gates_) g->Start();
  if (finished_on_restore_) {
    result = RunFinished();
  } else {
    result = source_ ? RunSource() : RunInputs();
  }
  for (auto& g : gates_) g->Close();
  // Acknowledgements go out before the final state, in the same ordered
  // stream: the coordinator then knows whether a finished task took part in
  // the checkpoint in flight.
  if (result.ok() && !cancelled_.load()) StopUploader();
  if (cancelled_.load()) {
    Report(proto::TASK_CANCELED);
  } else if (!result.ok()) {
    log_->warn("task {} {} failed: {}", id_.job_id(), Name(), result.message());
    for (auto& w : writers_) w->partition().Fail(result);
    Report(proto::TASK_FAILED, result.message());
  } else {
    Report(proto::TASK_FINISHED);
  }
  // Release operator resources (files, memory) and network buffers as soon
  // as the task ends, not when the executor gets round to reaping it: the
  // next job may need them at once. A finished producer's partitions live on
  // in the partition manager until consumed or released.
  StopUploader();
  operators_.clear();
  source_.reset();
  writers_.clear();
  gates_.clear();
  gate_pools_.clear();
  done_.store(true);
}

Status Task::CheckFailures() const {
  if (source_) SLUICE_RETURN_IF_ERROR(source_->failure());
  for (const auto& op : operators_) SLUICE_RETURN_IF_ERROR(op->failure());
  for (const auto& w : writers_) SLUICE_RETURN_IF_ERROR(w->failure());
  for (const auto& g : gates_) SLUICE_RETURN_IF_ERROR(g->failure());
  return Status::Ok();
}

void Task::MaybeFlush(bool force) {
  int64_t now = NowMs();
  // Processing-time ticks: every 10 ms at most, checked where the flush is.
  if (force || now - last_tick_ms_ >= 10) {
    last_tick_ms_ = now;
    // State size for metrics, counted on the task thread (backends are not
    // thread-safe) about once a second.
    if (force || now - last_state_count_ms_ >= 1000) {
      last_state_count_ms_ = now;
      int64_t entries = 0;
      for (auto& op : operators_) {
        if (KeyedStateBackend* state = op->keyed_state()) entries += static_cast<int64_t>(state->ApproximateEntries());
        entries += static_cast<int64_t>(op->buffered_entries());
      }
      counters_.state_entries.store(entries, std::memory_order_relaxed);
    }
    int64_t wall = WallMs();
    for (size_t i = 0; i < operators_.size(); ++i) operators_[i]->OnProcessingTime(wall, *outputs_[i]);
  }
  if (!force && now - last_flush_ms_ < flush_timeout_ms_) return;
  last_flush_ms_ = now;
  int64_t out = 0, in = 0;
  for (auto& w : writers_) {
    w->Flush();
    out += static_cast<int64_t>(w->partition().queued_buffers());
  }
  for (auto& g : gates_) in += static_cast<int64_t>(g->queued_buffers());
  counters_.buffers_queued_out.store(out, std::memory_order_relaxed);
  counters_.buffers_queued_in.store(in, std::memory_order_relaxed);
}

Status Task::RunSource() {
  SLUICE_RETURN_IF_ERROR(source_->Open());
  for (auto& op : operators_) SLUICE_RETURN_IF_ERROR(op->Open());
  Report(proto::TASK_RUNNING);
  SLUICE_RETURN_IF_ERROR(ReplayRestoredOutputs());
  bool done = false;
  int64_t watermark = INT64_MIN;
  int64_t last_watermark_ms = NowMs();
  int64_t last_rows = 0, last_row_ms = NowMs();
  size_t batch_rows = kBatchRows;
  bool idle = false;
  while (!done) {
    if (cancelled_.load(std::memory_order_relaxed)) return Status::Cancelled("cancelled");
    DeliverCheckpointNotifications();
    SLUICE_RETURN_IF_ERROR(MaybeStartCheckpoint());
    AdvancePendingCheckpoint();
    if (drained_) break;
    // Under backpressure small batches: the source then sees a checkpoint
    // trigger soon, not after a whole batch has squeezed through.
    const int64_t blocked_before = counters_.backpressured_ns.load(std::memory_order_relaxed);
    SLUICE_RETURN_IF_ERROR(source_->Emit(*head_, batch_rows, &done));
    batch_rows = counters_.backpressured_ns.load(std::memory_order_relaxed) > blocked_before ? kBackpressuredBatchRows
                                                                                              : kBatchRows;
    SLUICE_RETURN_IF_ERROR(CheckFailures());
    // A source with nothing to emit for the idle timeout declares itself
    // idle, so consumers stop waiting for its watermark; its next row makes
    // it active again.
    const int64_t rows = counters_.records_in.load(std::memory_order_relaxed);
    if (rows != last_rows) {
      last_rows = rows;
      last_row_ms = NowMs();
      if (idle) {
        idle = false;
        for (auto& w : writers_) w->BroadcastEvent(Event::WatermarkStatus(false));
      }
    } else if (!idle && idle_timeout_ms_ > 0 && NowMs() - last_row_ms >= idle_timeout_ms_) {
      idle = true;
      for (auto& w : writers_) w->BroadcastEvent(Event::WatermarkStatus(true));
    }
    // Periodic watermarks, as Flink's auto-watermark interval: each one is an
    // event that flushes buffers, so not one per batch.
    if (NowMs() - last_watermark_ms >= watermark_interval_ms_) {
      last_watermark_ms = NowMs();
      int64_t current = source_->CurrentWatermark();
      if (current > watermark) {
        watermark = current;
        head_->EmitWatermark(watermark);
      }
    }
    MaybeFlush(false);
  }
  // The end of a bounded input completes every window.
  FinishPendingCheckpoint();
  head_->EmitWatermark(INT64_MAX);
  return FinishChain();
}

// Restored from a checkpoint taken after this subtask had ended: its output
// is all downstream already, so it only ends its partitions (and reads its
// inputs, whose producers ended too, to their ends).
Status Task::RunFinished() {
  Report(proto::TASK_RUNNING);
  size_t open = 0;
  for (auto& g : gates_) open += g->num_channels();
  while (open > 0) {
    if (cancelled_.load(std::memory_order_relaxed)) return Status::Cancelled("cancelled");
    SLUICE_RETURN_IF_ERROR(CheckFailures());
    BufferOrEvent entry;
    int ch = -1;
    bool got = false;
    for (auto& g : gates_) {
      if (g->PollNext(&entry, &ch)) {
        got = true;
        if (entry.is_event && entry.event.type == EventType::kEndOfPartition) {
          --open;
          g->channel(ch).Close();
        }
        break;
      }
    }
    if (!got) wakeup_.Wait(10);
  }
  for (auto& w : writers_) w->BroadcastEvent(Event::EndOfPartition());
  MaybeFlush(true);
  return CheckFailures();
}

// Output a restored unaligned checkpoint had queued goes out first.
Status Task::ReplayRestoredOutputs() {
  if (!restored_channels_) return Status::Ok();
  for (const auto& [key, bytes] : restored_channels_->outputs) {
    if (key.first < 0 || static_cast<size_t>(key.first) >= writers_.size() || key.second < 0 ||
        key.second >= writers_[key.first]->partition().num_subpartitions()) {
      return Status::FailedPrecondition("the checkpoint's in-flight data names output " + std::to_string(key.first) +
                                        "/" + std::to_string(key.second) + ", which " + Name() + " does not have");
    }
    writers_[key.first]->WriteRaw(key.second, bytes);
  }
  restored_channels_->outputs.clear();
  return CheckFailures();
}

// End of input: operators finish front to back, so what one emits on
// finishing reaches the next before that one finishes; then every consumer
// gets end-of-partition.
Status Task::FinishChain() {
  for (size_t i = 0; i < operators_.size(); ++i) {
    SLUICE_RETURN_IF_ERROR(operators_[i]->Finish(*outputs_[i]));
    SLUICE_RETURN_IF_ERROR(operators_[i]->failure());
  }
  for (auto& w : writers_) w->BroadcastEvent(Event::EndOfPartition());
  MaybeFlush(true);
  return CheckFailures();
}

Status Task::RunInputs() {
  for (auto& op : operators_) SLUICE_RETURN_IF_ERROR(op->Open());
  Report(proto::TASK_RUNNING);
  SLUICE_RETURN_IF_ERROR(ReplayRestoredOutputs());

  InputProgress progress;
  for (auto& g : gates_) progress.channels.emplace_back(g->num_channels());
  // A restored unaligned checkpoint's input comes first, each channel's
  // ahead of what its producer sends.
  if (restored_channels_) {
    for (const auto& [key, bytes] : restored_channels_->inputs) {
      auto [g, ch] = key;
      if (g < 0 || static_cast<size_t>(g) >= gates_.size() || ch < 0 ||
          static_cast<size_t>(ch) >= gates_[g]->num_channels()) {
        return Status::FailedPrecondition("the checkpoint's in-flight data names input " + std::to_string(g) + "/" +
                                          std::to_string(ch) + ", which " + Name() + " does not have");
      }
      SLUICE_RETURN_IF_ERROR(ReadBuffer(g, ch, reinterpret_cast<const uint8_t*>(bytes.data()),
                                        static_cast<uint32_t>(bytes.size()), progress));
    }
    restored_channels_.reset();
  }
  CheckpointBarrierHandler barriers = MakeBarrierHandler();
  size_t next_gate = 0;

  while (!barriers.exhausted()) {
    if (cancelled_.load(std::memory_order_relaxed)) return Status::Cancelled("cancelled");
    SLUICE_RETURN_IF_ERROR(CheckFailures());
    DeliverCheckpointNotifications();
    AdvancePendingCheckpoint();
    // Triggered directly: every producer of this task has ended, so no
    // barrier comes; each channel's end of partition stands in for it.
    if (requested_checkpoint_.load(std::memory_order_acquire) > started_checkpoint_) {
      Event barrier;
      {
        // The newest only: older ones would be given up on at once anyway.
        std::lock_guard<std::mutex> lock(checkpoint_mu_);
        const int64_t timestamp_ms = requests_.empty() ? 0 : requests_.back().timestamp_ms;
        requests_.clear();
        barrier = Event::Barrier(requested_checkpoint_.load(std::memory_order_relaxed), timestamp_ms);
      }
      started_checkpoint_ = barrier.checkpoint_id;
      ActOn(barriers.OnTriggered(barrier), progress);
    }
    ActOn(barriers.CheckTimeout(), progress);

    // What alignment held back comes before new input.
    BufferOrEvent entry;
    int ch = -1;
    size_t g = 0;
    bool got = barriers.NextReleased(&g, &ch, &entry);
    for (size_t k = 0; k < gates_.size() && !got; ++k) {
      g = (next_gate + k) % gates_.size();
      got = gates_[g]->PollNext(&entry, &ch);
    }
    if (!got) {
      int64_t wait = flush_timeout_ms_ > 0 ? std::max<int64_t>(1, flush_timeout_ms_ - (NowMs() - last_flush_ms_)) : 50;
      wakeup_.Wait(std::min<int64_t>(wait, 10));  // also the processing-time tick
      MaybeFlush(false);
      continue;
    }
    next_gate = (g + 1) % gates_.size();
    if (barriers.Hold(g, ch, entry)) continue;

    ChannelProgress& state = progress.channels[g][ch];
    const std::pair<int, int> key{static_cast<int>(g), ch};
    // Rows on an idle channel make it active again (they may come just
    // before the producer's "active"); its watermarks alone do not, as in
    // Flink, so a source creeping forward without rows stays idle.
    if (state.idle && !entry.is_event) state.idle = false;
    if (!entry.is_event) {
      const Buffer& b = entry.buffer.get();
      // Data that reached us before this channel's barrier, processed after
      // an unaligned snapshot: the checkpoint keeps a copy.
      if (pending_ && pending_->inputs_owing.count(key)) {
        pending_->data.inputs[key].append(reinterpret_cast<const char*>(b.data), b.size);
      }
      SLUICE_RETURN_IF_ERROR(ReadBuffer(g, ch, b.data, b.size, progress));
      entry.buffer.Release();  // credit goes back to the sender
    } else if (entry.event.type == EventType::kCheckpointBarrier) {
      if (pending_ && pending_->id == entry.event.checkpoint_id) {
        // The late barrier of an unaligned checkpoint: what it overtook
        // here is the last of this channel's in-flight data.
        if (pending_->inputs_owing.erase(key)) {
          if (entry.event.unaligned && entry.overtaken && !entry.overtaken->empty()) {
            pending_->data.inputs[key] += *entry.overtaken;
          }
          AdvancePendingCheckpoint(true);
        }
      } else {
        ActOn(barriers.OnBarrier(g, ch, std::move(entry)), progress);
      }
    } else {
      const Event& e = entry.event;
      if (e.type == EventType::kEndOfPartition) {
        if (state.reader.has_partial()) {
          return Status::Internal(gates_[g]->channel(ch).description() + ": stream ended inside a record");
        }
        state.ended = true;
        gates_[g]->channel(ch).Close();
        // A channel that ends no longer owes the barrier. The pending
        // checkpoint may complete with that, before alignment passes a newer
        // one on (which would give it up).
        if (pending_ && pending_->inputs_owing.erase(key)) AdvancePendingCheckpoint(true);
        ActOn(barriers.OnEndOfPartition(g, ch), progress);
      } else if (e.type == EventType::kWatermark) {
        state.watermark = std::max(state.watermark, e.watermark_ms);
      } else if (e.type == EventType::kWatermarkStatus) {
        state.idle = e.idle;
      }
      UpdateInputWatermark(progress);
    }
    SLUICE_RETURN_IF_ERROR(CheckFailures());
    MaybeFlush(false);
  }
  FinishPendingCheckpoint();
  return FinishChain();
}

CheckpointBarrierHandler Task::MakeBarrierHandler() {
  std::vector<size_t> channels_per_gate;
  for (auto& g : gates_) channels_per_gate.push_back(g->num_channels());
  CheckpointBarrierHandler::Options options;
  options.exactly_once = exactly_once_;
  options.unaligned = unaligned_;
  options.aligned_timeout_ms = aligned_timeout_ms_;
  options.last_checkpoint_id = last_barrier_id_;
  options.is_savepoint = [this](int64_t id) { return IsSavepoint(id); };
  options.announced_barrier = [this](size_t g, int ch, Event* barrier) {
    return gates_[g]->channel(ch).AnnouncedBarrier(barrier);
  };
  options.now_ms = NowMs;
  return CheckpointBarrierHandler(channels_per_gate, std::move(options));
}

Status Task::ReadBuffer(size_t gate, int channel, const uint8_t* data, uint32_t size, InputProgress& progress) {
  RecordSpanReader& reader = progress.channels[gate][channel].reader;
  reader.SetBuffer(data, size);
  const uint8_t* record;
  uint32_t length;
  Collector* head = gate_inputs_[gate] == 1 ? second_head_ : head_;
  while (true) {
    auto next = reader.Next(&record, &length);
    if (!next.ok()) return next.status().WithPrefix(gates_[gate]->channel(channel).description());
    if (!*next) return Status::Ok();
    head->Collect(RowView(record));
  }
}

void Task::ActOn(const CheckpointBarrierHandler::Action& action, const InputProgress& progress) {
  using Kind = CheckpointBarrierHandler::Action::Kind;
  const int64_t id = action.barrier.checkpoint_id;
  switch (action.kind) {
    case Kind::kNone:
      return;
    case Kind::kAbandoned:
      log_->debug("{}: alignment of checkpoint {} abandoned for a newer one", Name(), id);
      return;
    case Kind::kSnapshotAligned:
      PassBarrier(action.barrier, BeginSnapshot(id), {}, {}, action.may_overtake_later);
      return;
    case Kind::kSnapshotUnaligned: {
      auto upload = BeginSnapshot(id);
      ChannelState in_flight;
      for (const auto& [g, ch] : action.in_flight) {
        std::string bytes = progress.channels[g][ch].reader.PartialBytes();
        if (action.trigger == std::make_pair(g, ch) && action.overtaken) bytes += *action.overtaken;
        if (!bytes.empty()) in_flight.inputs[{g, ch}] = std::move(bytes);
      }
      // This checkpoint's barrier may already wait in a channel that owes
      // it, behind data received while it was aligned: it jumps that data
      // too.
      for (const auto& [g, ch] : action.owing) gates_[g]->channel(ch).PrioritizeBarrier(id);
      PassBarrier(action.barrier, std::move(upload), action.owing, std::move(in_flight), false);
      return;
    }
  }
}

void Task::UpdateInputWatermark(InputProgress& progress) {
  int64_t min = INT64_MAX;
  bool any_active = false, any_open = false;
  for (const auto& gate : progress.channels) {
    for (const auto& c : gate) {
      if (c.ended) continue;
      any_open = true;
      if (c.idle) continue;
      any_active = true;
      min = std::min(min, c.watermark);
    }
  }
  // INT64_MAX from every open channel is the end of event time: pass it.
  if (any_active && min > progress.watermark) {
    progress.watermark = min;
    head_->EmitWatermark(progress.watermark);
  }
  // When every open input is idle the task is idle too, and says so.
  const bool now_idle = any_open && !any_active;
  if (now_idle != progress.idle) {
    progress.idle = now_idle;
    for (auto& w : writers_) w->BroadcastEvent(Event::WatermarkStatus(progress.idle));
  }
}

}  // namespace sluice
