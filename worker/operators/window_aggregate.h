// The `window-aggregate` operator: event-time tumbling, sliding or session
// windows per key with count, sum, min, max and avg. A window fires when the watermark
// passes its end, and its state goes with it, so state stays bounded on an
// unbounded input. Rows for windows already fired are late and dropped, as
// Flink drops them without allowed lateness. State lives in memory; the
// keyed state backends replace it when they land.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/catalog/aggregate_spec.h"
#include "common/expr/expression.h"
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

  void Process(const RowView& row, Collector& out) override;
  void ProcessWatermark(int64_t watermark, Collector& out) override;
  void OnProcessingTime(int64_t now_ms, Collector& out) override;

  int64_t late_rows() const { return late_rows_; }
  size_t open_windows() const {
    size_t n = windows_.size();
    for (const auto& [key, list] : sessions_) n += list.size();
    return n;
  }

 private:
  using Accumulator = WindowAggregateAccumulator;
  struct Group {
    std::vector<uint8_t> key_row;  // the key's values
    std::vector<Accumulator> accumulators;
  };

  // A session of one key: [start, end) where end = last row's time + gap.
  struct Session {
    int64_t start = 0, end = 0;
    Group group;
  };

  WindowAggregateOperator() = default;
  void Fire(int64_t start, std::unordered_map<std::string, Group>& groups, Collector& out);
  void EmitGroup(int64_t start, int64_t end, const Group& group, Collector& out);
  void AccumulateRow(Group& group);
  void Merge(Group& into, const Group& from);
  void NewGroup(const RowView& row, Group* group);
  void ProcessSession(const RowView& row, int64_t t);
  void FireSessions(Collector& out);
  // Fires every window (or session) complete at `time`, which is the
  // watermark in event time and the clock in processing time.
  void FireUpTo(int64_t time, Collector& out);

  size_t time_field_ = 0;
  int64_t size_ = 0, slide_ = 0;
  int64_t gap_ = 0;  // > 0: session windows
  bool processing_time_ = false;  // windows of the wall clock at arrival
  std::unordered_map<std::string, std::vector<Session>> sessions_;  // by key
  std::vector<size_t> key_fields_;
  std::vector<size_t> key_positions_;  // 0..k-1: the fields of a group's key row
  Schema key_schema_;                  // the key fields' types
  Schema input_;
  std::vector<AggregateSpec> specs_;
  std::vector<std::unique_ptr<CompiledExpression>> arguments_;  // null for count(*)
  std::map<int64_t, std::unordered_map<std::string, Group>> windows_;  // by window start
  int64_t watermark_ = INT64_MIN;
  int64_t late_rows_ = 0;
  std::vector<Value> values_;  // this row's argument values
  EvalContext ctx_;
  std::string key_;
  std::unique_ptr<RowBuilder> key_builder_;
  std::unique_ptr<RowBuilder> out_builder_;
};

}  // namespace sluice
