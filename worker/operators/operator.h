// Runtime operators: what a task thread runs. Operators of one chain pass
// rows by reference through Collectors; nothing is copied between them.
// A task runs its chain in one thread, so operators need no locks.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/catalog/operator_catalog.h"
#include "common/logging.h"
#include "common/records/row.h"
#include "common/records/schema.h"
#include "common/status.h"
#include "worker/network/key_groups.h"
#include "worker/state/state_backend.h"

namespace sluice {

class Collector {
 public:
  virtual ~Collector() = default;
  virtual void Collect(const RowView& row) = 0;
  // Event time has reached `watermark` (ms): no row with an earlier event
  // time follows. INT64_MAX at the end of input fires everything pending.
  virtual void EmitWatermark(int64_t watermark) {}
};

// Everything an operator instance is built from.
struct OperatorSetup {
  std::string id;
  std::string type;
  OperatorOptions options;
  Schema input;   // empty for sources; a join's first (left) input
  Schema second_input;  // a join's second (right) input
  Schema output;  // empty for sinks
  int subtask = 0;
  int parallelism = 1;
  int max_parallelism = 128;  // key groups of the job
  KeyGroupRange key_groups{0, 128};  // those this subtask owns
  // Checkpointing is on for the job (checkpoint.interval > 0), and the
  // checkpoint the attempt restores from (0 = none): sinks stage their output
  // and publish it as checkpoints complete.
  bool checkpointing = false;
  int64_t restored_checkpoint = 0;
  int64_t attempt = 1;  // the job's execution attempt, growing with every restart
  // Opens a keyed state backend of the job's kind (state.backend) for the
  // operator, which owns it. Empty in unit tests: operators then keep state
  // in memory.
  std::function<Result<std::unique_ptr<KeyedStateBackend>>()> open_state;
  Logger log;
};

// The operator's spec, bound by its parser in common/catalog/<type>_spec.h
// (the one the catalog validated the job with), e.g.
//   SLUICE_ASSIGN_OR_RETURN(CalcSpec spec, BindSpec(setup, ParseCalc(setup.options, setup.input)));
// Errors name the operator. Runtimes take types and options from the spec
// and never read setup.options themselves.
template <typename Spec>
Result<Spec> BindSpec(const OperatorSetup& setup, Result<Spec> spec) {
  if (!spec.ok()) return NameOperator(setup.id, spec.status());
  return spec;
}

// Operators report errors met while processing a row through Fail(); the
// task checks failure() after every batch, which keeps Status off the
// per-row path.
class OperatorBase {
 public:
  virtual ~OperatorBase() = default;
  virtual Status Open() { return Status::Ok(); }
  const Status& failure() const { return failure_; }
  // The operator's keyed state, if it has any: for metrics and snapshots.
  virtual KeyedStateBackend* keyed_state() { return nullptr; }
  // Entries held in memory in front of the keyed state (pre-aggregation
  // buffers), counted with it in the task's state metric.
  virtual uint64_t buffered_entries() const { return 0; }

  // Checkpoints. Before its keyed state is snapshotted the operator puts
  // everything it holds in memory into it (buffers; what a flush emits goes
  // out before the barrier), and a sink stages what it wrote for checkpoint
  // `checkpoint_id`.
  virtual Status PrepareSnapshot(int64_t checkpoint_id, Collector& out) { return Status::Ok(); }
  // Every checkpoint up to `checkpoint_id` is complete: publish what was
  // staged for them.
  virtual Status NotifyCheckpointComplete(int64_t checkpoint_id) { return Status::Ok(); }
  // Keyed state was restored into keyed_state(): rebuild what is derived
  // from it in memory.
  virtual void AfterRestore() {}

 protected:
  void Fail(Status status) {
    if (failure_.ok()) failure_ = std::move(status);
  }

 private:
  Status failure_;
};

class Operator : public OperatorBase {
 public:
  virtual void Process(const RowView& row, Collector& out) = 0;
  // Operators with event-time state fire what the watermark completes, then
  // pass it on; the rest just pass it on.
  virtual void ProcessWatermark(int64_t watermark, Collector& out) { out.EmitWatermark(watermark); }
  // The task's clock ticks (wall-clock ms, at least every 10 ms while the
  // task runs): processing-time operators fire what is due.
  virtual void OnProcessingTime(int64_t now_ms, Collector& out) {}
  // End of input: emit what is pending and make output durable.
  virtual Status Finish(Collector& out) { return Status::Ok(); }
};

// An operator with two inputs (joins), as Flink's TwoInputStreamOperator:
// rows of the first input arrive through Process, those of the second
// through ProcessSecond. Its watermark is the minimum over both inputs,
// which the task computes. It always starts its chain.
class TwoInputOperator : public Operator {
 public:
  virtual void ProcessSecond(const RowView& row, Collector& out) = 0;
};

class SourceOperator : public OperatorBase {
 public:
  // Emits at most `max_rows` rows; sets *done once there will be no more. May
  // emit nothing (rate limiting) and return quickly so cancellation is seen.
  virtual Status Emit(Collector& out, size_t max_rows, bool* done) = 0;
  // The source's watermark now: event time below it will not be emitted any
  // more. The task emits it periodically; INT64_MIN = no event time.
  virtual int64_t CurrentWatermark() const { return INT64_MIN; }
  // The read position, for checkpoints: where the source goes on from after
  // a restore. Empty for sources that cannot rewind.
  virtual std::string SnapshotPosition() const { return ""; }
  virtual Status RestorePosition(std::string_view position) {
    return Status::FailedPrecondition("this source cannot restore a read position");
  }
  // The positions of every subtask at another parallelism, in subtask order:
  // go on with what none of them had read yet.
  virtual Status RestoreRescaled(const std::vector<std::string>& positions) {
    return Status::FailedPrecondition("this source cannot change its parallelism");
  }
};

}  // namespace sluice
