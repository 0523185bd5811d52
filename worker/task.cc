#include "worker/task.h"

#include <chrono>
#include <filesystem>
#include <deque>
#include <map>

#include <pthread.h>
#include <unistd.h>

#include "common/catalog/graph_schema.h"
#include "common/config.h"
#include "worker/network/data_plane.h"
#include "worker/network/record_span.h"
#include "worker/state/state_backend.h"

namespace sluice {
namespace {

// Passes rows to the next operator of the chain.
class ChainCollector final : public Collector {
 public:
  ChainCollector(Operator* next, Collector* next_out) : next_(next), next_out_(next_out) {}
  void Collect(const RowView& row) override { next_->Process(row, *next_out_); }
  void EmitWatermark(int64_t watermark) override { next_->ProcessWatermark(watermark, *next_out_); }

 private:
  Operator* next_;
  Collector* next_out_;
};

// Feeds a join's second input.
class SecondInputCollector final : public Collector {
 public:
  SecondInputCollector(TwoInputOperator* op, Collector* out) : op_(op), out_(out) {}
  void Collect(const RowView& row) override { op_->ProcessSecond(row, *out_); }

 private:
  TwoInputOperator* op_;
  Collector* out_;
};

// Counts rows and bytes on their way to `next` (or nowhere).
class CountingCollector final : public Collector {
 public:
  CountingCollector(std::atomic<int64_t>* records, std::atomic<int64_t>* bytes, Collector* next)
      : records_(records), bytes_(bytes), next_(next) {}
  void Collect(const RowView& row) override {
    // Relaxed: the counters are read only for metrics.
    records_->fetch_add(1, std::memory_order_relaxed);
    bytes_->fetch_add(row.size(), std::memory_order_relaxed);
    if (next_ != nullptr) next_->Collect(row);
  }
  void EmitWatermark(int64_t watermark) override {
    if (next_ != nullptr) next_->EmitWatermark(watermark);
  }

 private:
  std::atomic<int64_t>* records_;
  std::atomic<int64_t>* bytes_;
  Collector* next_;
};

class DiscardCollector final : public Collector {
 public:
  void Collect(const RowView&) override {}
};

// Every output edge gets every row the chain emits.
class FanOutCollector final : public Collector {
 public:
  explicit FanOutCollector(std::vector<Collector*> targets) : targets_(std::move(targets)) {}
  void Collect(const RowView& row) override {
    for (Collector* t : targets_) t->Collect(row);
  }
  void EmitWatermark(int64_t watermark) override {
    for (Collector* t : targets_) t->EmitWatermark(watermark);
  }

 private:
  std::vector<Collector*> targets_;
};

constexpr size_t kBatchRows = 1024;
constexpr size_t kBackpressuredBatchRows = 64;
constexpr uint32_t kMaxRecordBytes = 16u << 20;  // bounds a channel's scratch memory

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

Result<std::unique_ptr<Task>> Task::Create(const proto::DeployTaskRequest& request, const OperatorRegistry& registry,
                                           DataPlane* data_plane, StateListener listener, Logger log,
                                           const std::string& state_dir) {
  std::unique_ptr<Task> task(new Task(request.task(), std::move(listener), std::move(log)));
  // Durations of the job config, each left at its default when unset.
  struct DurationKey {
    const char* key;
    int64_t* out;
    bool positive;  // 0 not allowed
  };
  for (const DurationKey& d : {DurationKey{"pipeline.flush-timeout", &task->flush_timeout_ms_, false},
                               DurationKey{"task.stall-timeout", &task->stall_timeout_ms_, false},
                               DurationKey{"pipeline.auto-watermark-interval", &task->watermark_interval_ms_, true},
                               DurationKey{"pipeline.idle-timeout", &task->idle_timeout_ms_, false}}) {
    auto it = request.job_config().find(d.key);
    if (it == request.job_config().end()) continue;
    auto ms = ParseDurationMs(it->second);
    if (!ms.ok() || *ms < (d.positive ? 1 : 0)) {
      return Status::InvalidArgument(std::string(d.key) + ": '" + it->second + "' is not a " +
                                     (d.positive ? "positive duration" : "duration"));
    }
    *d.out = *ms;
  }
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

Status Task::BuildChain(const proto::DeployTaskRequest& request, const OperatorRegistry& registry,
                        DataPlane* data_plane, const std::string& state_dir) {
  const proto::Vertex& vertex = request.vertex();
  if (vertex.operators_size() == 0) return Status::InvalidArgument("vertex '" + vertex.id() + "' has no operators");
  bool is_source = registry.IsSource(vertex.operators(0).type());
  if (is_source == (request.inputs_size() > 0)) {
    return Status::InvalidArgument("vertex '" + vertex.id() + "': " +
                                   (is_source ? "a source vertex cannot have inputs" : "'" +
                                                vertex.operators(0).type() + "' is not a source and the vertex has no inputs"));
  }
  // Keyed state: the job's backend kind; RocksDB works in a directory of
  // its own per operator subtask, gone with the task.
  StateBackendOptions state;
  auto kind = request.job_config().find("state.backend");
  if (kind != request.job_config().end()) state.kind = kind->second;
  if (state.kind != "rocksdb" && state.kind != "memory") {
    return Status::InvalidArgument("state.backend: '" + state.kind + "' is not a backend (rocksdb or memory)");
  }
  const int max_parallelism = request.max_parallelism() > 0 ? request.max_parallelism() : 128;
  int64_t checkpoint_interval_ms = 0;
  auto interval = request.job_config().find("checkpoint.interval");
  if (interval != request.job_config().end()) {
    auto ms = ParseDurationMs(interval->second);
    if (!ms.ok() || *ms < 0) {
      return Status::InvalidArgument("checkpoint.interval: '" + interval->second + "' is not a duration");
    }
    checkpoint_interval_ms = *ms;
  }
  auto mode = request.job_config().find("checkpoint.mode");
  exactly_once_ = mode == request.job_config().end() || mode->second != "at-least-once";
  auto unaligned = request.job_config().find("checkpoint.unaligned");
  unaligned_ = exactly_once_ && unaligned != request.job_config().end() && unaligned->second == "true";
  auto aligned_timeout = request.job_config().find("checkpoint.aligned-timeout");
  if (aligned_timeout != request.job_config().end()) {
    auto ms = ParseDurationMs(aligned_timeout->second);
    if (!ms.ok() || *ms < 0) {
      return Status::InvalidArgument("checkpoint.aligned-timeout: '" + aligned_timeout->second + "' is not a duration");
    }
    aligned_timeout_ms_ = *ms;
  }
  auto concurrent = request.job_config().find("checkpoint.max-concurrent");
  if (concurrent != request.job_config().end()) {
    auto n = ParseInt(concurrent->second);
    if (!n.ok() || *n < 1) {
      return Status::InvalidArgument("checkpoint.max-concurrent: '" + concurrent->second + "' is not a count");
    }
    max_concurrent_checkpoints_ = static_cast<size_t>(*n);
  }
  auto dir = request.job_config().find("checkpoint.dir");
  if (dir != request.job_config().end()) checkpoint_dir_ = dir->second;
  std::filesystem::path base = state_dir.empty()
                                   ? std::filesystem::temp_directory_path() / ("sluice-state-" + std::to_string(::getpid()))
                                   : std::filesystem::path(state_dir);
  base /= id_.job_id() + "-" + std::to_string(id_.attempt());
  state_base_ = base.string();
  auto incremental = request.job_config().find("state.backend.incremental");
  if (incremental != request.job_config().end()) {
    if (incremental->second != "true" && incremental->second != "false") {
      return Status::InvalidArgument("state.backend.incremental: '" + incremental->second + "' is not true or false");
    }
    incremental_ = incremental->second == "true";
  }
  std::vector<OperatorSetup> setups;
  Schema input = is_source ? Schema() : SchemaFromProto(request.input_schema());
  Schema second_input;
  for (const auto& in : request.inputs()) {
    if (in.input_index() == 1) second_input = SchemaFromProto(in.schema());
  }
  for (const auto& op : vertex.operators()) {
    OperatorSetup setup;
    setup.id = op.id();
    setup.type = op.type();
    setup.options = OptionsFromProto(op);
    setup.input = input;
    if (setups.empty()) setup.second_input = second_input;
    setup.output = SchemaFromProto(op.output_schema());
    setup.subtask = id_.subtask();
    setup.parallelism = vertex.parallelism();
    setup.max_parallelism = max_parallelism;
    setup.key_groups = KeyGroupRangeForOperator(id_.subtask(), max_parallelism, vertex.parallelism());
    key_groups_ = setup.key_groups;
    StateBackendOptions options = state;
    options.directory = (base / (id_.vertex_id() + "-" + std::to_string(id_.subtask()) + "-" + op.id())).string();
    setup.open_state = [options] { return OpenStateBackend(options); };
    setup.checkpointing = checkpoint_interval_ms > 0;
    setup.attempt = id_.attempt();
    setup.restored_checkpoint = request.restore().checkpoint_id();
    setup.log = log_;
    input = setup.output;
    setups.push_back(std::move(setup));
  }
  size_t first_operator = 0;
  if (is_source) {
    auto source = registry.CreateSource(setups[0]);
    if (!source.ok()) return source.status();
    source_ = std::move(*source);
    first_operator = 1;
  }
  for (size_t i = first_operator; i < setups.size(); ++i) {
    auto op = registry.CreateOperator(setups[i]);
    if (!op.ok()) return op.status();
    operators_.push_back(std::move(*op));
    operator_ids_.push_back(setups[i].id);
  }
  uploaders_.resize(operators_.size());
  if (incremental_ && !checkpoint_dir_.empty()) {
    for (size_t i = 0; i < operators_.size(); ++i) {
      uploaders_[i] = std::make_unique<IncrementalUploader>(
          checkpoint_dir_ + "/" + id_.job_id() + "/shared",
          id_.vertex_id() + "-" + std::to_string(id_.subtask()) + "-" + operator_ids_[i] + "-a" +
              std::to_string(id_.attempt()));
    }
  }
  if (request.has_restore()) SLUICE_RETURN_IF_ERROR(Restore(request.restore()));

  // Output edges: one partition each, registered so consumers can find it.
  for (int k = 0; k < request.outputs_size(); ++k) {
    const auto& out = request.outputs(k);
    ResultPartitionId pid{id_.job_id(), id_.attempt(), id_.vertex_id(), id_.subtask(), k};
    const auto& o = data_plane->options();
    size_t buffers = static_cast<size_t>(out.num_subpartitions()) * o.exclusive_buffers + o.floating_buffers;
    auto pool = LocalBufferPool::Create(&data_plane->buffers(), buffers,
                                        Name() + " output to '" + out.consumer_vertex() + "'");
    if (!pool.ok()) return pool.status();
    PartitionManager* manager = &data_plane->partitions();
    auto partition = std::make_shared<ResultPartition>(
        pid, out.num_subpartitions(), std::move(*pool),
        [manager](const ResultPartitionId& consumed) { manager->OnConsumed(consumed); });
    partition->set_stall_timeout_ms(stall_timeout_ms_);
    RecordWriter::Options options;
    options.partitioning = out.partitioning();
    for (int f : out.key_field_indices()) options.key_fields.push_back(static_cast<size_t>(f));
    options.max_parallelism = request.max_parallelism() > 0 ? request.max_parallelism() : 128;
    options.subtask = id_.subtask();
    options.flush_every_record = flush_timeout_ms_ == 0;
    writers_.push_back(std::make_unique<RecordWriter>(partition, options, SchemaFromProto(vertex.output_schema()),
                                                      &cancelled_, &counters_.backpressured_ns));
    // A task stuck on a full output still lets its queued barriers jump
    // ahead when the aligned timeout passes.
    if (unaligned_ && aligned_timeout_ms_ > 0) writers_.back()->set_wait_hook([this] { AdvancePendingCheckpoint(); });
  }

  // Wire the chain back to front. The task's output is what leaves the last
  // operator into the writers, or, when that is a sink, what enters it.
  auto add = [&](std::unique_ptr<Collector> collector) {
    collectors_.push_back(std::move(collector));
    return collectors_.back().get();
  };
  auto& c = counters_;
  bool ends_in_sink = writers_.empty();
  Collector* end;
  if (ends_in_sink) {
    end = add(std::make_unique<DiscardCollector>());
  } else {
    std::vector<Collector*> targets;
    for (auto& w : writers_) targets.push_back(w.get());
    Collector* fan = targets.size() == 1 ? targets[0] : add(std::make_unique<FanOutCollector>(targets));
    end = add(std::make_unique<CountingCollector>(&c.records_out, &c.bytes_out, fan));
  }
  size_t n = operators_.size();
  outputs_.assign(n, nullptr);
  Collector* feed = end;
  for (size_t i = n; i-- > 0;) {
    outputs_[i] = (i + 1 == n) ? end : feed;
    feed = add(std::make_unique<ChainCollector>(operators_[i].get(), outputs_[i]));
    if (i + 1 == n && ends_in_sink) feed = add(std::make_unique<CountingCollector>(&c.records_out, &c.bytes_out, feed));
  }
  head_ = add(std::make_unique<CountingCollector>(&c.records_in, &c.bytes_in, feed));
  if (n > 0) {
    if (auto* join = dynamic_cast<TwoInputOperator*>(operators_[0].get())) {
      Collector* second = add(std::make_unique<SecondInputCollector>(join, outputs_[0]));
      if (n == 1 && ends_in_sink) second = add(std::make_unique<CountingCollector>(&c.records_out, &c.bytes_out, second));
      second_head_ = add(std::make_unique<CountingCollector>(&c.records_in, &c.bytes_in, second));
    }
  }
  // A join reads its gates as two inputs; any other operator reads the
  // union of all its gates.
  bool has_second_input = false;
  for (const auto& in : request.inputs()) has_second_input = has_second_input || in.input_index() == 1;
  if (second_head_ != nullptr && (!has_second_input || request.inputs_size() != 2)) {
    return Status::InvalidArgument("vertex '" + vertex.id() + "': a join needs exactly two inputs");
  }
  return Status::Ok();
}

Status Task::BuildInputs(const proto::DeployTaskRequest& request, DataPlane* data_plane) {
  std::string consumer = id_.vertex_id() + "#" + std::to_string(id_.subtask());
  for (const auto& in : request.inputs()) {
    auto gate = std::make_unique<InputGate>(&wakeup_);
    int remote = 0;
    for (const auto& ch : in.channels()) remote += ch.local() ? 0 : 1;
    auto pool = data_plane->CreateGatePool(remote, Name() + " input from '" + in.producer_vertex() + "'");
    if (!pool.ok()) return pool.status();
    for (int i = 0; i < in.channels_size(); ++i) {
      const auto& ch = in.channels(i);
      ResultPartitionId pid{id_.job_id(), id_.attempt(), in.producer_vertex(), ch.producer_subtask(),
                            in.output_index()};
      std::string description = "channel from subtask " + std::to_string(ch.producer_subtask()) + " of '" +
                                in.producer_vertex() + "' on worker " + ch.producer_worker_id() + " (" +
                                ch.producer_data_address() + ") to " + Name();
      if (ch.local()) {
        gate->AddChannel(std::make_unique<LocalInputChannel>(gate.get(), i, description, &data_plane->partitions(),
                                                             pid, ch.subpartition()));
      } else {
        gate->AddChannel(data_plane->CreateRemoteChannel(gate.get(), i, description, ch.producer_data_address(),
                                                         ch.producer_worker_id(), pid, ch.subpartition(), *pool,
                                                         consumer));
      }
    }
    gate_pools_.push_back(std::move(*pool));
    gates_.push_back(std::move(gate));
    gate_inputs_.push_back(second_head_ != nullptr && in.input_index() == 1 ? 1 : 0);
  }
  return Status::Ok();
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

  struct ChannelState {
    RecordSpanReader reader{kMaxRecordBytes};
    bool ended = false;
    bool idle = false;
    bool blocked = false;      // delivered the barrier being aligned (exactly-once: held back)
    bool saw_barrier = false;  // delivered the barrier being aligned (counted in barriers_seen)
    int64_t watermark = INT64_MIN;
  };
  std::vector<std::vector<ChannelState>> channels;
  size_t open_channels = 0;
  for (auto& g : gates_) {
    channels.emplace_back(g->num_channels());
    open_channels += g->num_channels();
  }
  auto process = [&](size_t g, int ch, const uint8_t* data, uint32_t size) -> Status {
    RecordSpanReader& reader = channels[g][ch].reader;
    reader.SetBuffer(data, size);
    const uint8_t* record;
    uint32_t length;
    Collector* head = gate_inputs_[g] == 1 ? second_head_ : head_;
    while (true) {
      auto next = reader.Next(&record, &length);
      if (!next.ok()) return next.status().WithPrefix(gates_[g]->channel(ch).description());
      if (!*next) return Status::Ok();
      head->Collect(RowView(record));
    }
  };
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
      SLUICE_RETURN_IF_ERROR(process(g, ch, reinterpret_cast<const uint8_t*>(bytes.data()),
                                     static_cast<uint32_t>(bytes.size())));
    }
    restored_channels_.reset();
  }
  int64_t watermark = INT64_MIN;
  bool idle = false;  // every open channel is idle, and consumers were told
  // Aligned checkpoints: once a channel delivers barrier N, what follows on
  // it is held back (its buffers keep their credit, so its sender stops)
  // until every open channel has delivered N; then the task snapshots,
  // passes the barrier on, and replays what it held back.
  int64_t aligning = 0;  // the barrier being aligned, 0 = none
  int64_t given_up = 0;  // the newest checkpoint abandoned for a newer one
  Event aligning_barrier;
  size_t barriers_seen = 0;
  int64_t align_started_ms = 0;
  bool may_switch = false;  // alignment may turn unaligned after the aligned timeout
  int64_t announcements_checked_ms = 0;
  struct Held {
    size_t gate;
    int channel;
    BufferOrEvent entry;
  };
  std::deque<Held> held, replay;
  size_t next_gate = 0;

  auto release_held = [&]() {
    aligning = 0;
    barriers_seen = 0;
    for (auto& gate : channels) {
      for (auto& c : gate) c.blocked = c.saw_barrier = false;
    }
    // Ahead of what is left to replay: a held entry came before any entry
    // of its channel still in the replay.
    while (!held.empty()) {
      replay.push_front(std::move(held.back()));
      held.pop_back();
    }
  };
  auto complete_alignment = [&]() {
    auto upload = BeginSnapshot(aligning_barrier.checkpoint_id);
    Event barrier = aligning_barrier;
    release_held();
    PassBarrier(barrier, std::move(upload), {}, {}, may_switch);
  };
  auto begin_alignment = [&](const Event& barrier) {
    aligning = barrier.checkpoint_id;
    aligning_barrier = barrier;
    aligning_barrier.unaligned = false;
    barriers_seen = 0;
    align_started_ms = NowMs();
    may_switch = unaligned_ && !IsSavepoint(aligning);
  };
  // Unaligned: the snapshot is taken now. What the channels that have not
  // delivered the barrier yet bring until they do is in flight: it is
  // stored with the checkpoint (and processed as usual). `trigger` is the
  // channel whose barrier overtook `overtaken`.
  auto start_unaligned = [&](const Event& barrier, int trigger_gate, int trigger_channel,
                             const std::string* overtaken) {
    auto upload = BeginSnapshot(barrier.checkpoint_id);
    ::sluice::ChannelState in_flight;
    std::set<std::pair<int, int>> owing;
    for (size_t g = 0; g < channels.size(); ++g) {
      for (size_t ch = 0; ch < channels[g].size(); ++ch) {
        const ChannelState& c = channels[g][ch];
        if (c.ended || c.blocked) continue;  // a blocked channel's barrier came in line: nothing in flight
        std::string bytes = c.reader.PartialBytes();
        if (static_cast<int>(g) == trigger_gate && static_cast<int>(ch) == trigger_channel) {
          if (overtaken != nullptr) bytes += *overtaken;
        } else {
          owing.insert({static_cast<int>(g), static_cast<int>(ch)});
        }
        if (!bytes.empty()) in_flight.inputs[{static_cast<int>(g), static_cast<int>(ch)}] = std::move(bytes);
      }
    }
    // This checkpoint's barrier may already wait in a channel that owes it,
    // behind data received while it was aligned: it jumps that data too.
    for (const auto& [g, ch] : owing) gates_[g]->channel(ch).PrioritizeBarrier(barrier.checkpoint_id);
    release_held();
    Event out = barrier;
    out.unaligned = true;
    PassBarrier(out, std::move(upload), std::move(owing), std::move(in_flight), false);
  };

  while (open_channels > 0 || !replay.empty()) {
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
      if (barrier.checkpoint_id > last_barrier_id_ && aligning == 0 && exactly_once_) {
        begin_alignment(barrier);
        may_switch = false;
        if (barriers_seen == open_channels) complete_alignment();
      }
    }
    // Aligned first, unaligned after the timeout: a barrier still queued in
    // a channel behind data (the task has not reached it) starts the clock,
    // so a task whose barriers all wait in remote channels switches too.
    if (aligning == 0 && unaligned_ && aligned_timeout_ms_ > 0 && NowMs() - announcements_checked_ms >= 5) {
      announcements_checked_ms = NowMs();
      for (size_t g = 0; g < gates_.size() && aligning == 0; ++g) {
        for (size_t ch = 0; ch < gates_[g]->num_channels(); ++ch) {
          Event announced;
          if (!channels[g][ch].ended && gates_[g]->channel(ch).AnnouncedBarrier(&announced) &&
              announced.checkpoint_id > std::max(last_barrier_id_, given_up) &&
              !IsSavepoint(announced.checkpoint_id)) {
            begin_alignment(announced);
            break;
          }
        }
      }
    }
    if (aligning != 0 && may_switch && NowMs() - align_started_ms >= aligned_timeout_ms_) {
      start_unaligned(aligning_barrier, -1, -1, nullptr);
    }
    BufferOrEvent entry;
    int ch = -1;
    size_t g = 0;
    bool got = false;
    if (!replay.empty()) {
      g = replay.front().gate;
      ch = replay.front().channel;
      entry = std::move(replay.front().entry);
      replay.pop_front();
      got = true;
    }
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
    ChannelState& state = channels[g][ch];
    if (state.blocked) {
      held.push_back({g, ch, std::move(entry)});
      continue;
    }
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
      SLUICE_RETURN_IF_ERROR(process(g, ch, b.data, b.size));
      entry.buffer.Release();  // credit goes back to the sender
    } else {
      const Event& e = entry.event;
      if (e.type == EventType::kEndOfPartition) {
        if (state.reader.has_partial()) {
          return Status::Internal(gates_[g]->channel(ch).description() + ": stream ended inside a record");
        }
        state.ended = true;
        --open_channels;
        gates_[g]->channel(ch).Close();
        // A channel that ends no longer owes the barrier (and one that
        // delivered it, at-least-once, no longer counts).
        if (pending_ && pending_->inputs_owing.erase(key)) AdvancePendingCheckpoint(true);
        if (aligning != 0 && state.saw_barrier) --barriers_seen;
        if (aligning != 0 && barriers_seen == open_channels) complete_alignment();
      } else if (e.type == EventType::kWatermark) {
        state.watermark = std::max(state.watermark, e.watermark_ms);
      } else if (e.type == EventType::kWatermarkStatus) {
        state.idle = e.idle;
      } else if (e.type == EventType::kCheckpointBarrier) {
        const int64_t id = e.checkpoint_id;
        if (pending_ && pending_->id == id) {
          // The late barrier of an unaligned checkpoint: what it overtook
          // here is the last of this channel's in-flight data.
          if (pending_->inputs_owing.erase(key)) {
            if (e.unaligned && entry.overtaken && !entry.overtaken->empty()) {
              pending_->data.inputs[key] += *entry.overtaken;
            }
            AdvancePendingCheckpoint(true);
          }
        } else if (id <= last_barrier_id_ || id <= given_up || (aligning != 0 && id < aligning)) {
          // Of a checkpoint given up on: its successor is under way.
        } else if (aligning != 0 && id > aligning) {
          // The checkpoint being aligned was given up on (it timed out):
          // this barrier comes first (what follows on its channel may be in
          // the replay behind it), then what was held.
          given_up = std::max(given_up, aligning);
          release_held();
          replay.push_front({g, ch, std::move(entry)});
          continue;
        } else if (!exactly_once_) {
          // At-least-once: the channel keeps flowing; rows after its barrier
          // enter the state before the snapshot, and a restore replays them.
          if (aligning == 0) begin_alignment(e);
          state.saw_barrier = true;
          if (++barriers_seen == open_channels) complete_alignment();
        } else if (e.unaligned) {
          if (pending_) {
            given_up = std::max(given_up, pending_->id);  // an older one
            pending_.reset();
          }
          start_unaligned(e, static_cast<int>(g), ch, entry.overtaken.get());
        } else {
          if (aligning == 0) begin_alignment(e);
          state.blocked = state.saw_barrier = true;
          if (++barriers_seen == open_channels) complete_alignment();
        }
      }
      // The task's watermark is the minimum over channels open and active.
      if (e.type != EventType::kCheckpointBarrier) {
        int64_t min = INT64_MAX;
        bool any_active = false, any_open = false;
        for (const auto& gate : channels) {
          for (const auto& c : gate) {
            if (c.ended) continue;
            any_open = true;
            if (c.idle) continue;
            any_active = true;
            min = std::min(min, c.watermark);
          }
        }
        // INT64_MAX from every open channel is the end of event time: pass it.
        if (any_active && min > watermark) {
          watermark = min;
          head_->EmitWatermark(watermark);
        }
        // When every open input is idle the task is idle too, and says so.
        const bool now_idle = any_open && !any_active;
        if (now_idle != idle) {
          idle = now_idle;
          for (auto& w : writers_) w->BroadcastEvent(Event::WatermarkStatus(idle));
        }
      }
    }
    SLUICE_RETURN_IF_ERROR(CheckFailures());
    MaybeFlush(false);
  }
  FinishPendingCheckpoint();
  return FinishChain();
}

}  // namespace sluice
