// The `top-n` operator (common/catalog/top_n_spec.h has what it means): per
// partition key, the first n rows by the order, kept in keyed state as one
// value ([kg][1][key] -> the rows in rank order, one after another), and
// emitted as a changelog as they change:
//   - with a rank field, each rank whose row changed: -U old, +U new (+I for
//     a rank filled for the first time), as Flink's rank with row numbers;
//   - without one, n = 1: -U old, +U new (Flink's deduplication);
//     n > 1: -D the row pushed out, +I the new one.
// Rows that do not make the first n leave nothing behind.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/catalog/top_n_spec.h"
#include "worker/operators/keyed_state.h"
#include "worker/operators/operator.h"

namespace sluice {

class TopNOperator final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  KeyedStateBackend* keyed_state() override { return state_.get(); }
  void Process(const RowView& row, Collector& out) override;

 private:
  TopNOperator() = default;
  // <0 when a ranks before b.
  int Compare(const RowView& a, const RowView& b) const;
  void Emit(const char* op, const RowView& row, int64_t rank, Collector& out);

  TopNSpec spec_;
  Schema input_;
  KeyContext key_;
  std::unique_ptr<KeyedStateBackend> state_;
  std::vector<size_t> all_fields_;
  StateKey state_key_;
  std::string value_, new_value_;
  std::vector<RowView> old_rows_, new_rows_;
  std::unique_ptr<RowBuilder> out_builder_;
};

}  // namespace sluice
