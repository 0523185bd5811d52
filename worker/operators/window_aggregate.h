// The `window-aggregate` operator: tumbling, sliding or session windows per
// key, in event or processing time, with count, count(DISTINCT x), sum,
// min, max and avg, each optionally with FILTER (WHERE condition). A
// window fires when the watermark (or the clock) passes its end, and its
// state goes with it, so state stays bounded on an unbounded input. Rows for
// windows already fired are late and dropped, as Flink drops them without
// allowed lateness.
//
// State (keyed state backend, key group first):
//   [kg][1][window end][key]  -> key row + accumulators  (tumbling, sliding)
//   [kg][2][key]              -> key row + the key's open sessions
//   [kg][3][session end][key] -> ""  a session's timer; stale ones are no-ops
//   [kg][4][window end][key][aggregate][value] -> ""  a value a count(DISTINCT)
//                                have seen in the window; gone when it fires
// Window state is ordered by end, not [key][namespace]: the state itself is
// the timer queue, so firing is a scan of each key group's first entries.
//
// Tumbling and sliding windows pre-aggregate in a bounded in-memory buffer
// (as Flink's window aggregation combines records before touching state)
// that is folded into state when full and before windows fire: RocksDB then
// sees one read and write per window and key per flush, not per row.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/catalog/window_aggregate_spec.h"
#include "common/expr/expression.h"
#include "worker/operators/keyed_state.h"
#include "worker/operators/operator.h"

namespace sluice {

// A partial aggregate of one window, key and aggregate.
struct WindowAggregateAccumulator {
  int64_t count = 0;  // non-NULL values seen
  int64_t i = 0;      // INT64, DECIMAL, TIMESTAMP
  double d = 0;       // DOUBLE, and avg's sum
};

class WindowAggregateOperator final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  KeyedStateBackend* keyed_state() override { return state_.get(); }
  Status PrepareSnapshot(int64_t checkpoint_id, Collector& out) override;
  void AfterRestore() override;
  uint64_t buffered_entries() const override { return buffer_.size() + buffered_distinct_values_; }

  void Process(const RowView& row, Collector& out) override;
  void ProcessWatermark(int64_t watermark, Collector& out) override;
  void OnProcessingTime(int64_t now_ms, Collector& out) override;

  int64_t late_rows() const { return late_rows_; }
  // Entries in the state backend: windows, sessions and their timers.
  uint64_t state_entries() const { return state_->ApproximateEntries(); }

 private:
  using Accumulator = WindowAggregateAccumulator;
  struct Session {
    int64_t start = 0, end = 0;
    std::vector<Accumulator> accumulators;
  };

  WindowAggregateOperator() = default;
  void AccumulateRow(Accumulator* accumulators);
  void Merge(Accumulator* into, const Accumulator* from);
  void ProcessSession(const RowView& row, int64_t t);
  // Fires every window (or session) complete at `time`, which is the
  // watermark in event time and the clock in processing time.
  void FireUpTo(int64_t time, Collector& out);
  // Folds the pre-aggregation buffer into state.
  void FlushBuffer();
  void FireWindows(Collector& out);
  // Deletes the distinct values of windows that have fired.
  void FireSessions(Collector& out);
  void EmitGroup(int64_t start, int64_t end, std::string_view key_row, const Accumulator* accumulators,
                 Collector& out);
  // Every state value starts with the key's fields as a row (which knows
  // its size), then the window's accumulators or the key's sessions.
  void NewValue(const RowView& row);
  void LoadSessions(std::string_view value, std::vector<Session>* sessions);
  bool Check(const Status& s);

  size_t time_field_ = 0;
  int64_t size_ = 0, slide_ = 0;
  int64_t gap_ = 0;  // > 0: session windows
  bool processing_time_ = false;  // windows of the wall clock at arrival
  KeyContext key_;
  std::vector<bool> touched_;  // key groups that got state: where firing looks
  Schema key_schema_;                  // the key fields' types
  std::vector<size_t> key_positions_;  // 0..k-1: the fields of a key row
  Schema input_;
  std::vector<AggregateSpec> specs_;
  std::vector<std::unique_ptr<CompiledExpression>> arguments_;  // null for count(*)
  std::vector<std::unique_ptr<CompiledExpression>> filters_;    // null without FILTER
  bool has_distinct_ = false;
  std::unique_ptr<KeyedStateBackend> state_;
  int64_t watermark_ = INT64_MIN;
  int64_t next_fire_ = INT64_MAX;  // no window or session ends before this
  int64_t late_rows_ = 0;
  std::vector<Value> values_;  // this row's argument values
  std::vector<bool> passes_;   // whether this row passes each aggregate's filter
  // This row's [aggregate][value] for each count(DISTINCT) it counts in; empty where not.
  std::vector<std::string> distinct_values_;
  EvalContext ctx_;
  StateKey state_key_;
  std::string value_;
  std::vector<Session> sessions_;
  std::vector<Accumulator> accumulators_;
  struct BufferedGroup {
    std::string key_row;
    std::vector<Accumulator> accumulators;
    std::unordered_set<std::string> distinct_values;  // [aggregate][value], new to this buffer
  };
  // By state key; bounded by kMaxBufferedGroups, with the distinct values.
  std::unordered_map<std::string, BufferedGroup> buffer_;
  size_t buffered_distinct_values_ = 0;
  std::unique_ptr<RowBuilder> key_builder_;
  std::unique_ptr<RowBuilder> out_builder_;
};

}  // namespace sluice
