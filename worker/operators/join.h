// The `join` and `window-join` operators (common/catalog/join_spec.h has
// what they mean): inner equi-joins of two insert-only inputs. Each row is
// kept in keyed state and matched against the other side's rows of its key,
// so the output is append-only and the same whatever the arrival order.
//
// State (key group first; the key group is that of the join key, which both
// inputs are hashed by):
//   [kg][1][key][seq]                    -> a left row
//   [kg][2][key][seq]                    -> a right row
//   [kg][3][expiry][side][key][seq]      -> ""  when the row leaves state
// `seq` numbers the rows of this subtask, so equal rows are kept apart.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/catalog/join_spec.h"
#include "common/expr/expression.h"
#include "worker/operators/keyed_state.h"
#include "worker/operators/operator.h"

namespace sluice {

class JoinOperator final : public TwoInputOperator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  KeyedStateBackend* keyed_state() override { return state_.get(); }

  void Process(const RowView& row, Collector& out) override { ProcessSide(0, row, out); }
  void ProcessSecond(const RowView& row, Collector& out) override { ProcessSide(1, row, out); }
  void ProcessWatermark(int64_t watermark, Collector& out) override;

  uint64_t state_entries() const { return state_->ApproximateEntries(); }
  void AfterRestore() override {
    touched_.assign(touched_.size(), true);
    next_expiry_ = std::numeric_limits<int64_t>::min() + 1;
  }

 private:
  struct Side {
    Schema schema;
    KeyContext key;
    std::unique_ptr<CompiledExpression> expires;  // null: kept for ever
  };

  JoinOperator() = default;
  void ProcessSide(int side, const RowView& row, Collector& out);
  void Emit(const RowView& left, const RowView& right, Collector& out);
  bool Check(const Status& s);

  JoinSpec spec_;
  Side sides_[2];
  std::unique_ptr<CompiledExpression> where_;
  std::unique_ptr<KeyedStateBackend> state_;
  std::vector<bool> touched_;  // key groups with state
  int64_t watermark_ = INT64_MIN;
  int64_t next_expiry_ = INT64_MAX;  // no row expires before this
  int64_t next_seq_ = 0;  // starts at attempt << 40: rows of earlier attempts keep their numbers
  EvalContext ctx_;
  StateKey state_key_, timer_key_;
  std::unique_ptr<RowBuilder> out_builder_;
  std::vector<size_t> left_fields_, right_fields_;  // identity maps for CopyFields
};

}  // namespace sluice
