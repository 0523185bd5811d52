#include "worker/task.h"

#include "common/catalog/graph_schema.h"

namespace sluice {
namespace {

// Passes rows to the next operator of the chain.
class ChainCollector final : public Collector {
 public:
  ChainCollector(Operator* next, Collector* next_out) : next_(next), next_out_(next_out) {}
  void Collect(const RowView& row) override { next_->Process(row, *next_out_); }

 private:
  Operator* next_;
  Collector* next_out_;
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

 private:
  std::atomic<int64_t>* records_;
  std::atomic<int64_t>* bytes_;
  Collector* next_;
};

class DiscardCollector final : public Collector {
 public:
  void Collect(const RowView&) override {}
};

constexpr size_t kBatchRows = 1024;

}  // namespace

Task::Task(proto::TaskId id, StateListener listener, Logger log)
    : id_(std::move(id)), listener_(std::move(listener)), log_(std::move(log)) {}

Task::~Task() {
  Cancel();
  Join();
}

Result<std::unique_ptr<Task>> Task::Create(const proto::TaskId& id, const proto::Vertex& vertex,
                                           const OperatorRegistry& registry, StateListener listener,
                                           Logger log) {
  std::unique_ptr<Task> task(new Task(id, std::move(listener), log));
  if (vertex.operators_size() < 2) {
    return Status::InvalidArgument("vertex '" + vertex.id() + "' needs a source and at least one more operator");
  }
  std::vector<OperatorSetup> setups;
  Schema input;
  for (const auto& op : vertex.operators()) {
    OperatorSetup setup;
    setup.id = op.id();
    setup.type = op.type();
    setup.options = OptionsFromProto(op);
    setup.input = input;
    setup.output = SchemaFromProto(op.output_schema());
    setup.subtask = id.subtask();
    setup.parallelism = vertex.parallelism();
    setup.log = log;
    input = setup.output;
    setups.push_back(std::move(setup));
  }
  auto source = registry.CreateSource(setups[0]);
  if (!source.ok()) return source.status();
  task->source_ = std::move(*source);
  for (size_t i = 1; i < setups.size(); ++i) {
    auto op = registry.CreateOperator(setups[i]);
    if (!op.ok()) return op.status();
    task->operators_.push_back(std::move(*op));
  }
  // Wire the chain back to front. The task's output is what leaves the last
  // operator, or, when that is a sink, what enters it.
  bool ends_in_sink = setups.back().output.empty();
  auto& c = task->counters_;
  auto add = [&](std::unique_ptr<Collector> collector) {
    task->collectors_.push_back(std::move(collector));
    return task->collectors_.back().get();
  };
  Collector* end = ends_in_sink ? add(std::make_unique<DiscardCollector>())
                                : add(std::make_unique<CountingCollector>(&c.records_out, &c.bytes_out, nullptr));
  size_t n = task->operators_.size();
  task->outputs_.assign(n, nullptr);
  Collector* feed = nullptr;
  for (size_t i = n; i-- > 0;) {
    task->outputs_[i] = (i + 1 == n) ? end : feed;
    feed = add(std::make_unique<ChainCollector>(task->operators_[i].get(), task->outputs_[i]));
    if (i + 1 == n && ends_in_sink) {
      feed = add(std::make_unique<CountingCollector>(&c.records_out, &c.bytes_out, feed));
    }
  }
  task->head_ = add(std::make_unique<CountingCollector>(&c.records_in, &c.bytes_in, feed));
  return task;
}

void Task::Start() {
  thread_ = std::thread([this] { Run(); });
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
  return m;
}

void Task::Report(proto::TaskState state, const std::string& failure) {
  state_.store(state);
  if (listener_) listener_(id_, state, failure, Metrics());
}

void Task::Run() {
  Status result = RunChain();
  if (cancelled_.load()) {
    Report(proto::TASK_CANCELED);
  } else if (!result.ok()) {
    log_->warn("task {}/{}#{} failed: {}", id_.job_id(), id_.vertex_id(), id_.subtask(), result.message());
    Report(proto::TASK_FAILED, result.message());
  } else {
    Report(proto::TASK_FINISHED);
  }
  // Release operator resources (files, memory) as soon as the task ends.
  operators_.clear();
  source_.reset();
  done_.store(true);
}

Status Task::RunChain() {
  SLUICE_RETURN_IF_ERROR(source_->Open());
  for (auto& op : operators_) SLUICE_RETURN_IF_ERROR(op->Open());
  Report(proto::TASK_RUNNING);

  bool done = false;
  while (!done) {
    if (cancelled_.load(std::memory_order_relaxed)) return Status::Cancelled("cancelled");
    SLUICE_RETURN_IF_ERROR(source_->Emit(*head_, kBatchRows, &done));
    SLUICE_RETURN_IF_ERROR(source_->failure());
    for (auto& op : operators_) SLUICE_RETURN_IF_ERROR(op->failure());
  }
  // End of input: finish operators front to back, so what one emits on
  // finishing reaches the next before that one finishes.
  for (size_t i = 0; i < operators_.size(); ++i) {
    SLUICE_RETURN_IF_ERROR(operators_[i]->Finish(*outputs_[i]));
    SLUICE_RETURN_IF_ERROR(operators_[i]->failure());
  }
  return Status::Ok();
}

}  // namespace sluice
