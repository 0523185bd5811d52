#include "worker/operators/throttle.h"

#include <thread>

namespace sluice {

Result<std::unique_ptr<Operator>> ThrottleOperator::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(ThrottleSpec spec, BindSpec(setup, ParseThrottle(setup.options, setup.input)));
  return std::unique_ptr<Operator>(new ThrottleOperator(spec.rows_per_second));
}

Status ThrottleOperator::Open() {
  start_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

void ThrottleOperator::Process(const RowView& row, Collector& out) {
  ++rows_;
  auto due = start_ + std::chrono::microseconds(static_cast<int64_t>(rows_ * 1e6 / rows_per_second_));
  // Sleep in slices of at most 10 ms so the task's loop stays responsive.
  while (true) {
    auto now = std::chrono::steady_clock::now();
    if (now >= due) break;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(due - now, std::chrono::milliseconds(10)));
  }
  out.Collect(row);
}

}  // namespace sluice
