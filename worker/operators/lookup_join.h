// The `lookup-join` operator (common/catalog/lookup_join_spec.h has what it
// means): the side input is read whole when the task deploys, so a missing
// or malformed file fails the deployment with its path and line, and then
// each row is enriched from an in-memory index. The side input is bounded
// and identical on every subtask, so nothing of it is keyed state.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/catalog/lookup_join_spec.h"
#include "common/expr/expression.h"
#include "worker/operators/operator.h"

namespace sluice {

class LookupJoinOperator final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  void Process(const RowView& row, Collector& out) override;

  size_t side_rows() const { return side_rows_; }

 private:
  LookupJoinOperator() = default;
  Status Load();

  LookupJoinSpec spec_;
  Schema input_;
  std::unique_ptr<CompiledExpression> key_;
  // Side rows (encoded) by their lookup key.
  std::unordered_multimap<int64_t, std::vector<uint8_t>> by_int_;
  std::unordered_multimap<std::string, std::vector<uint8_t>> by_string_;
  size_t side_rows_ = 0;
  std::vector<size_t> input_fields_, side_fields_;
  EvalContext ctx_;
  std::string string_key_;
  std::unique_ptr<RowBuilder> out_builder_;
};

}  // namespace sluice
