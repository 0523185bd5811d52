// The `group-aggregate` operator: an unbounded GROUP BY that emits a
// changelog, as Flink's group aggregation with mini-batch does. Output rows
// are (op, key fields..., aggregates...) where op is Flink's row kind: "+I"
// for a key's first result, "-U" (the previous row) then "+U" (the new one)
// when a key's result changes, "-D" when a retracting input empties a key.
//
// Rows pre-aggregate per key in a bounded in-memory buffer that is folded
// into state, emitting the changed results, when it is full, on every
// watermark, at most every second on the clock, and at the end of input; so
// a key sees one state read and write per flush and one update per flush,
// however many rows it got.
//
// An input whose first field is `op` STRING is a changelog: "-U" and "-D"
// rows retract what "+I" and "+U" rows added.
//
// State (keyed state backend, key group first; no map outside the buffer):
//   [kg][1][key]                    -> last output row, live rows, accumulators
//   [kg][2][key][set][value]        -> occurrences per count(DISTINCT) of that
//                                      argument ("set": the aggregates over one
//                                      argument share their values' entries)
//   [kg][3][key][aggregate][value]  -> occurrences, for min/max of a changelog,
//                                      to find the next extreme when the current
//                                      one is retracted
// Values in keys are order-preserving (state_key.h integers, sign-flipped
// doubles, raw strings last), so a min is the first entry of its prefix.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/catalog/group_aggregate_spec.h"
#include "common/expr/expression.h"
#include "worker/operators/keyed_state.h"
#include "worker/operators/operator.h"

namespace sluice {

class GroupAggregateOperator final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);

  void Process(const RowView& row, Collector& out) override;
  void ProcessWatermark(int64_t watermark, Collector& out) override;
  void OnProcessingTime(int64_t now_ms, Collector& out) override;
  Status Finish(Collector& out) override;
  KeyedStateBackend* keyed_state() override { return state_.get(); }
  uint64_t buffered_entries() const override { return groups_.size() + buffered_values_.size(); }
  // The buffer is flushed (its updates emitted) before the barrier, as
  // Flink's mini-batch bundles are.
  Status PrepareSnapshot(int64_t, Collector& out) override {
    Flush(out);
    return failure();
  }

  // Entries in the state backend (results, distinct values, extremes).
  uint64_t state_entries() const { return state_->ApproximateEntries(); }

 private:
  // count: rows or non-NULL values, or distinct values; sum and avg: count
  // and the sum in i (INT64, DECIMAL) or d (DOUBLE); min and max: count and
  // the extreme in i or d, or in a group's strings for STRING.
  struct Accumulator {
    int64_t count = 0;
    int64_t i = 0;
    double d = 0;
  };
  struct Aggregate {
    AggregateSpec spec;
    int argument = -1;  // into expressions_; -1 for count(*)
    int filter = -1;    // into expressions_; -1 without FILTER
    int distinct_set = -1;
    size_t member = 0;  // its place in the distinct set
    FieldType type = FieldType::kInt64;  // of the argument
    int32_t scale = 0;
    bool extreme = false;  // min or max
  };
  // The count(DISTINCT x) aggregates over one x.
  struct DistinctSet {
    int argument = 0;
    std::vector<size_t> aggregates;
  };
  // A key's changes since the last flush.
  struct BufferedGroup {
    std::string key_row;
    int64_t rows = 0;  // added minus retracted
    std::vector<Accumulator> delta;
    std::vector<std::string> strings;  // STRING extremes, by aggregate
    std::vector<uint8_t> flags;        // changelog min/max: kCandidate, kRetracted
  };
  // Occurrences of one value of a distinct set or of a min/max (one count).
  struct BufferedValue {
    BufferedGroup* group = nullptr;
    uint8_t state = 0;
    uint8_t index = 0;  // distinct set or aggregate
    size_t value_offset = 0;  // where the value starts in the state key
    std::vector<int64_t> counts;
  };

  GroupAggregateOperator() = default;
  // Buffers one occurrence (sign -1: a retraction) of the row's value v.
  void AddValue(BufferedGroup& group, uint8_t state, uint8_t index, const Value& v, size_t member, size_t members,
                int64_t sign);
  void Flush(Collector& out);
  void ApplyDistinct(const std::string& key, BufferedValue& entry);
  void ApplyExtremeValue(const std::string& key, BufferedValue& entry);
  // Folds the group into its result at `key` and emits what changed.
  void ApplyGroup(const std::string& key, BufferedGroup& group, Collector& out);
  void ExtremePrefix(std::string_view result_key, size_t a);
  bool ExtremeStillThere(std::string_view result_key, size_t a);
  void Rescan(std::string_view result_key, size_t a);
  void DropValues(std::string_view result_key);
  // x is strictly before y in the order of g (min or max).
  static bool Better(const Aggregate& g, const Accumulator& x, std::string_view x_str, const Accumulator& y,
                     std::string_view y_str);
  // A min/max value from its order-preserving bytes.
  static void Decode(const Aggregate& g, std::string_view bytes, Accumulator& x, std::string_view& x_str);
  // The output row of the group's accumulators_ and strings_.
  RowView BuildOutput(const char* kind, std::string_view key_row);
  bool SameResult(const RowView& a, const RowView& b) const;  // all but op
  void EmitCopy(const char* kind, const RowView& row, Collector& out);
  bool Check(const Status& s);

  std::string id_;
  bool changelog_ = false;  // the input's first field is op
  size_t max_entries_ = 0;  // buffered groups and values before a flush
  KeyContext key_;
  Schema input_;
  Schema key_schema_;
  std::vector<size_t> key_positions_;   // 0..k-1: the fields of a key row
  Schema out_schema_;
  std::vector<size_t> copy_positions_;  // 1..: every output field but op
  std::vector<Aggregate> aggregates_;
  std::vector<DistinctSet> distinct_sets_;
  bool has_string_extremes_ = false;
  bool has_changelog_extremes_ = false;
  std::vector<std::unique_ptr<CompiledExpression>> expressions_;  // arguments and filters, each once
  std::vector<Value> values_;  // this row's values of expressions_
  EvalContext ctx_;
  std::unique_ptr<KeyedStateBackend> state_;

  // By the state keys they will update; bounded by max_entries_ together.
  std::unordered_map<std::string, BufferedGroup> groups_;
  std::unordered_map<std::string, BufferedValue> buffered_values_;
  int64_t last_flush_ms_ = 0;

  // Scratch, reused across rows and keys.
  StateKey state_key_, value_key_;
  std::string value_, stored_, ordered_;
  std::vector<Accumulator> accumulators_;
  std::vector<std::string> strings_;
  std::unique_ptr<RowBuilder> key_builder_;
  std::unique_ptr<RowBuilder> out_builder_;
  std::unique_ptr<RowBuilder> copy_builder_;  // -U and -D rows, while out_builder_ holds the new one
};

}  // namespace sluice
