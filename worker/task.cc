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
#include "worker/state/state_snapshot.h"

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
  auto flush = request.job_config().find("pipeline.flush-timeout");
  if (flush != request.job_config().end()) {
    auto ms = ParseDurationMs(flush->second);
    if (!ms.ok() || *ms < 0) {
      return Status::InvalidArgument("pipeline.flush-timeout: '" + flush->second + "' is not a duration");
    }
    task->flush_timeout_ms_ = *ms;
  }
  auto interval = request.job_config().find("pipeline.auto-watermark-interval");
  if (interval != request.job_config().end()) {
    auto ms = ParseDurationMs(interval->second);
    if (!ms.ok() || *ms <= 0) {
      return Status::InvalidArgument("pipeline.auto-watermark-interval: '" + interval->second +
                                     "' is not a positive duration");
    }
    task->watermark_interval_ms_ = *ms;
  }
  auto idle = request.job_config().find("pipeline.idle-timeout");
  if (idle != request.job_config().end()) {
    auto ms = ParseDurationMs(idle->second);
    if (!ms.ok() || *ms < 0) {
      return Status::InvalidArgument("pipeline.idle-timeout: '" + idle->second + "' is not a duration");
    }
    task->idle_timeout_ms_ = *ms;
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
  auto dir = request.job_config().find("checkpoint.dir");
  if (dir != request.job_config().end()) checkpoint_dir_ = dir->second;
  std::filesystem::path base = state_dir.empty()
                                   ? std::filesystem::temp_directory_path() / ("sluice-state-" + std::to_string(::getpid()))
                                   : std::filesystem::path(state_dir);
  base /= id_.job_id() + "-" + std::to_string(id_.attempt());
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
    RecordWriter::Options options;
    options.partitioning = out.partitioning();
    for (int f : out.key_field_indices()) options.key_fields.push_back(static_cast<size_t>(f));
    options.max_parallelism = request.max_parallelism() > 0 ? request.max_parallelism() : 128;
    options.subtask = id_.subtask();
    options.flush_every_record = flush_timeout_ms_ == 0;
    writers_.push_back(std::make_unique<RecordWriter>(partition, options, SchemaFromProto(vertex.output_schema()),
                                                      &cancelled_, &counters_.backpressured_ns));
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
  result = source_ ? RunSource() : RunInputs();
  for (auto& g : gates_) g->Close();
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
  bool done = false;
  int64_t watermark = INT64_MIN;
  int64_t last_watermark_ms = NowMs();
  int64_t last_rows = 0, last_row_ms = NowMs();
  bool idle = false;
  while (!done) {
    if (cancelled_.load(std::memory_order_relaxed)) return Status::Cancelled("cancelled");
    SLUICE_RETURN_IF_ERROR(MaybeStartCheckpoint());
    DeliverCheckpointNotifications();
    SLUICE_RETURN_IF_ERROR(source_->Emit(*head_, kBatchRows, &done));
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
  head_->EmitWatermark(INT64_MAX);
  return FinishChain();
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

  struct ChannelState {
    RecordSpanReader reader{kMaxRecordBytes};
    bool ended = false;
    bool idle = false;
    bool blocked = false;  // delivered the barrier being aligned
    int64_t watermark = INT64_MIN;
  };
  std::vector<std::vector<ChannelState>> channels;
  size_t open_channels = 0;
  for (auto& g : gates_) {
    channels.emplace_back(g->num_channels());
    open_channels += g->num_channels();
  }
  int64_t watermark = INT64_MIN;
  bool idle = false;  // every open channel is idle, and consumers were told
  // Aligned checkpoints: once a channel delivers barrier N, what follows on
  // it is held back (its buffers keep their credit, so its sender stops)
  // until every open channel has delivered N; then the task snapshots,
  // passes the barrier on, and replays what it held back.
  int64_t aligning = 0;          // the barrier being aligned, 0 = none
  Event aligning_barrier;
  size_t barriers_seen = 0;
  struct Held {
    size_t gate;
    int channel;
    BufferOrEvent entry;
  };
  std::deque<Held> held, replay;
  size_t next_gate = 0;

  auto complete_alignment = [&]() -> Status {
    SLUICE_RETURN_IF_ERROR(SnapshotAndAcknowledge(aligning_barrier.checkpoint_id));
    for (auto& w : writers_) w->BroadcastEvent(aligning_barrier);
    aligning = 0;
    barriers_seen = 0;
    for (auto& gate : channels) {
      for (auto& c : gate) c.blocked = false;
    }
    while (!held.empty()) {
      replay.push_back(std::move(held.front()));
      held.pop_front();
    }
    return Status::Ok();
  };

  while (open_channels > 0 || !replay.empty()) {
    if (cancelled_.load(std::memory_order_relaxed)) return Status::Cancelled("cancelled");
    SLUICE_RETURN_IF_ERROR(CheckFailures());
    DeliverCheckpointNotifications();
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
    // Rows on an idle channel make it active again (they may come just
    // before the producer's "active"); its watermarks alone do not, as in
    // Flink, so a source creeping forward without rows stays idle.
    if (state.idle && !entry.is_event) state.idle = false;
    if (!entry.is_event) {
      const Buffer& b = entry.buffer.get();
      state.reader.SetBuffer(b.data, b.size);
      const uint8_t* record;
      uint32_t size;
      Collector* head = gate_inputs_[g] == 1 ? second_head_ : head_;
      while (true) {
        auto next = state.reader.Next(&record, &size);
        if (!next.ok()) return next.status().WithPrefix(gates_[g]->channel(ch).description());
        if (!*next) break;
        head->Collect(RowView(record));
      }
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
        // A channel that ends no longer owes the barrier.
        if (aligning != 0 && barriers_seen == open_channels) SLUICE_RETURN_IF_ERROR(complete_alignment());
      } else if (e.type == EventType::kWatermark) {
        state.watermark = std::max(state.watermark, e.watermark_ms);
      } else if (e.type == EventType::kWatermarkStatus) {
        state.idle = e.idle;
      } else if (e.type == EventType::kCheckpointBarrier) {
        if (aligning != 0 && e.checkpoint_id != aligning) {
          return Status::Internal(gates_[g]->channel(ch).description() + ": barrier " +
                                  std::to_string(e.checkpoint_id) + " while aligning " + std::to_string(aligning));
        }
        aligning = e.checkpoint_id;
        aligning_barrier = e;
        // At-least-once: the channel keeps flowing; rows after its barrier
        // enter the state before the snapshot, and a restore replays them.
        state.blocked = exactly_once_;
        if (++barriers_seen == open_channels) SLUICE_RETURN_IF_ERROR(complete_alignment());
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
  return FinishChain();
}

// ---- checkpoints ----

// Each operator takes, from the snapshots of every subtask of its vertex,
// the entries of the key groups this subtask owns; a source goes back to
// its position.
Status Task::Restore(const proto::TaskRestore& restore) {
  const KeyGroupRange range = key_groups_;
  for (size_t i = 0; i < operators_.size(); ++i) {
    KeyedStateBackend* state = operators_[i]->keyed_state();
    bool any = false;
    for (const auto& file : restore.files()) {
      if (file.operator_id() != operator_ids_[i]) continue;
      if (state == nullptr) {
        return Status::FailedPrecondition("checkpoint " + std::to_string(restore.checkpoint_id()) +
                                          " has keyed state for operator '" + operator_ids_[i] + "', which keeps none");
      }
      auto restored = RestoreStateSnapshot(file.file(), range.start, range.end, *state);
      if (!restored.ok()) {
        return restored.status().WithPrefix("restoring checkpoint " + std::to_string(restore.checkpoint_id()));
      }
      any = true;
    }
    if (any) operators_[i]->AfterRestore();
  }
  if (source_ && !restore.source_position().empty()) {
    SLUICE_RETURN_IF_ERROR(source_->RestorePosition(restore.source_position())
                               .WithPrefix("restoring checkpoint " + std::to_string(restore.checkpoint_id())));
  } else if (source_ && restore.source_positions_size() > 0) {
    std::vector<std::string> positions(restore.source_positions().begin(), restore.source_positions().end());
    SLUICE_RETURN_IF_ERROR(source_->RestoreRescaled(positions)
                               .WithPrefix("restoring checkpoint " + std::to_string(restore.checkpoint_id())));
  }
  started_checkpoint_ = restore.checkpoint_id();
  notified_checkpoint_ = restore.checkpoint_id();
  return Status::Ok();
}

void Task::TriggerCheckpoint(int64_t checkpoint_id, int64_t timestamp_ms) {
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    if (checkpoint_id > requested_checkpoint_.load(std::memory_order_relaxed)) {
      requested_timestamp_ms_ = timestamp_ms;
      requested_checkpoint_.store(checkpoint_id, std::memory_order_release);
    }
  }
  wakeup_.Signal();
}

void Task::SetCheckpointDirectory(int64_t checkpoint_id, std::string directory) {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  checkpoint_dirs_[checkpoint_id] = std::move(directory);
}

void Task::NotifyCheckpointComplete(int64_t checkpoint_id) {
  int64_t seen = completed_checkpoint_.load(std::memory_order_relaxed);
  while (checkpoint_id > seen && !completed_checkpoint_.compare_exchange_weak(seen, checkpoint_id)) {
  }
  wakeup_.Signal();
}

// Called between batches on the task thread: one atomic load when there is
// nothing new, so it costs nothing on the record path.
void Task::DeliverCheckpointNotifications() {
  const int64_t completed = completed_checkpoint_.load(std::memory_order_acquire);
  if (completed <= notified_checkpoint_) return;
  notified_checkpoint_ = completed;
  for (auto& op : operators_) {
    Status s = op->NotifyCheckpointComplete(completed);
    if (!s.ok()) log_->warn("{}: committing checkpoint {}: {}", Name(), completed, s.message());
  }
}

// The source side of a checkpoint: between two batches, so the position
// snapshotted is exactly where the barrier goes into the stream.
Status Task::MaybeStartCheckpoint() {
  if (requested_checkpoint_.load(std::memory_order_acquire) <= started_checkpoint_) return Status::Ok();
  int64_t id, timestamp;
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    id = requested_checkpoint_.load(std::memory_order_relaxed);
    timestamp = requested_timestamp_ms_;
  }
  started_checkpoint_ = id;
  SLUICE_RETURN_IF_ERROR(SnapshotAndAcknowledge(id));
  for (auto& w : writers_) w->BroadcastEvent(Event::Barrier(id, timestamp));
  return Status::Ok();
}

// The synchronous part runs on the task thread: operators flush into their
// state and each backend hands out a point-in-time view. Writing the files
// is the uploader thread's, so the barrier goes on at once and processing
// continues while the snapshot is written; the acknowledgement follows.
Status Task::SnapshotAndAcknowledge(int64_t checkpoint_id) {
  auto upload = std::make_unique<Upload>();
  upload->ack.mutable_task()->CopyFrom(id_);
  upload->ack.set_checkpoint_id(checkpoint_id);
  proto::TaskSnapshot* snapshot = upload->ack.mutable_snapshot();
  snapshot->set_vertex_id(id_.vertex_id());
  snapshot->set_subtask(id_.subtask());
  Status status = TakeSnapshot(checkpoint_id, upload.get());
  if (!status.ok()) {
    // A checkpoint that cannot be stored is declined, not the task failed;
    // the coordinator decides what that means for the job.
    log_->warn("{}: checkpoint {} declined: {}", Name(), checkpoint_id, status.message());
    upload->files.clear();
    upload->ack.clear_snapshot();
    upload->ack.set_decline_reason(Name() + ": " + status.message());
  }
  std::lock_guard<std::mutex> lock(upload_mu_);
  if (!uploader_.joinable()) uploader_ = std::thread([this] { RunUploader(); });
  uploads_.push_back(std::move(upload));
  upload_cv_.notify_all();
  return Status::Ok();
}

Status Task::TakeSnapshot(int64_t checkpoint_id, Upload* upload) {
  proto::TaskSnapshot* snapshot = upload->ack.mutable_snapshot();
  if (source_) snapshot->set_source_position(source_->SnapshotPosition());
  std::string dir;
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    auto it = checkpoint_dirs_.find(checkpoint_id);
    if (it != checkpoint_dirs_.end()) dir = it->second + "/";
    checkpoint_dirs_.erase(checkpoint_dirs_.begin(), checkpoint_dirs_.upper_bound(checkpoint_id));
  }
  if (dir.empty()) {
    if (checkpoint_dir_.empty()) return Status::FailedPrecondition("the job has no checkpoint.dir");
    dir = checkpoint_dir_ + "/" + id_.job_id() + "/chk-" + std::to_string(checkpoint_id) + "/";
  }
  for (size_t i = 0; i < operators_.size(); ++i) {
    SLUICE_RETURN_IF_ERROR(operators_[i]->PrepareSnapshot(checkpoint_id, *outputs_[i]));
    KeyedStateBackend* state = operators_[i]->keyed_state();
    if (state == nullptr) continue;
    Upload::File file;
    file.operator_id = operator_ids_[i];
    file.path = dir + id_.vertex_id() + "-" + std::to_string(id_.subtask()) + "-" + operator_ids_[i] + ".state";
    file.entries = state->SnapshotAll();
    upload->files.push_back(std::move(file));
  }
  return Status::Ok();
}

void Task::RunUploader() {
  std::unique_lock<std::mutex> lock(upload_mu_);
  while (true) {
    upload_cv_.wait(lock, [this] { return uploads_stopping_ || !uploads_.empty(); });
    if (uploads_.empty()) return;  // stopping, nothing left
    std::unique_ptr<Upload> upload = std::move(uploads_.front());
    uploads_.pop_front();
    lock.unlock();
    proto::CheckpointAck& ack = upload->ack;
    for (auto& file : upload->files) {
      auto written = WriteStateSnapshot(*file.entries, file.path);
      file.entries.reset();  // lets go of the backend's snapshot at once
      if (!written.ok()) {
        log_->warn("{}: checkpoint {} declined: {}", Name(), ack.checkpoint_id(), written.status().message());
        ack.clear_snapshot();
        ack.set_decline_reason(Name() + ": " + written.status().message());
        break;
      }
      auto* o = ack.mutable_snapshot()->add_operators();
      o->set_operator_id(file.operator_id);
      o->set_file(file.path);
      o->set_bytes(written->bytes);
    }
    upload->files.clear();
    if (checkpoint_listener_) checkpoint_listener_(ack);
    lock.lock();
  }
}

// Before the operators (and their backends) go: uploads in flight finish.
void Task::StopUploader() {
  {
    std::lock_guard<std::mutex> lock(upload_mu_);
    uploads_stopping_ = true;
  }
  upload_cv_.notify_all();
  if (uploader_.joinable()) uploader_.join();
}

}  // namespace sluice
