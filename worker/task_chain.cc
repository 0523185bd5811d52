// Building a Task (task.h) from its deployment: the operator chain, its
// output partitions and the collectors that wire them (BuildChain), and the
// input gates with their channels (BuildInputs). Running it is task.cc's.
#include <filesystem>

#include <unistd.h>

#include "common/catalog/graph_schema.h"
#include "common/config.h"
#include "worker/network/data_plane.h"
#include "worker/state/state_backend.h"
#include "worker/task.h"

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

}  // namespace

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
  SLUICE_RETURN_IF_ERROR(ReadJobDuration(request, "checkpoint.interval", false, &checkpoint_interval_ms));
  auto mode = request.job_config().find("checkpoint.mode");
  exactly_once_ = mode == request.job_config().end() || mode->second != "at-least-once";
  auto unaligned = request.job_config().find("checkpoint.unaligned");
  unaligned_ = exactly_once_ && unaligned != request.job_config().end() && unaligned->second == "true";
  SLUICE_RETURN_IF_ERROR(ReadJobDuration(request, "checkpoint.aligned-timeout", false, &aligned_timeout_ms_));
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

}  // namespace sluice
