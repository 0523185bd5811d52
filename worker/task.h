// One subtask of a vertex: a thread that runs the vertex's operator chain
// from its source to its sink and reports its state changes.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "proto/job.pb.h"
#include "worker/operators/operator.h"
#include "worker/operators/operator_registry.h"

namespace sluice {

struct TaskMetricsCounters {
  std::atomic<int64_t> records_in{0};
  std::atomic<int64_t> records_out{0};
  std::atomic<int64_t> bytes_in{0};
  std::atomic<int64_t> bytes_out{0};
};

class Task {
 public:
  // Called from the task thread on every state change.
  using StateListener = std::function<void(const proto::TaskId&, proto::TaskState, const std::string& failure,
                                           const proto::TaskMetrics&)>;

  // Builds every operator of the vertex's chain; a bad chain fails here,
  // before any thread starts.
  static Result<std::unique_ptr<Task>> Create(const proto::TaskId& id, const proto::Vertex& vertex,
                                              const OperatorRegistry& registry, StateListener listener,
                                              Logger log);
  ~Task();  // cancels and joins

  void Start();
  // Asks the task to stop; returns at once.
  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  void Join();

  const proto::TaskId& id() const { return id_; }
  bool done() const { return done_.load(); }
  proto::TaskState state() const { return state_.load(); }
  proto::TaskMetrics Metrics() const;

 private:
  Task(proto::TaskId id, StateListener listener, Logger log);
  void Run();
  Status RunChain();
  void Report(proto::TaskState state, const std::string& failure = "");

  const proto::TaskId id_;
  StateListener listener_;
  Logger log_;
  std::unique_ptr<SourceOperator> source_;
  std::vector<std::unique_ptr<Operator>> operators_;
  std::vector<std::unique_ptr<Collector>> collectors_;
  std::vector<Collector*> outputs_;  // operator i emits into outputs_[i]
  Collector* head_ = nullptr;        // where the source emits
  TaskMetricsCounters counters_;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> done_{false};
  std::atomic<proto::TaskState> state_{proto::DEPLOYING};
  std::thread thread_;
};

}  // namespace sluice
