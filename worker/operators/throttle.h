// The `throttle` operator: passes rows through at no more than a given rate
// per subtask, by making its task wait. Useful to replay data at a realistic
// pace, and to put a slow consumer into a pipeline on purpose.
#pragma once

#include <chrono>

#include "common/catalog/throttle_spec.h"
#include "worker/operators/operator.h"

namespace sluice {

class ThrottleOperator final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  Status Open() override;
  void Process(const RowView& row, Collector& out) override;

 private:
  explicit ThrottleOperator(double rows_per_second) : rows_per_second_(rows_per_second) {}

  const double rows_per_second_;
  std::chrono::steady_clock::time_point start_;
  int64_t rows_ = 0;
};

}  // namespace sluice
