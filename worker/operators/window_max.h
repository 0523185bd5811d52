// The `window-max` operator: for each window, the rows whose `field` is the
// window's maximum, ties included. Windows are those of the input (rows
// carrying window_start and window_end, as window-aggregate emits them) or
// tumbling windows of a time field ('time' and 'size'). It fires a window when
// the watermark passes its end. Nexmark q5's "hot items" is a window-aggregate
// count followed by this.
#pragma once

#include <map>
#include <vector>

#include "worker/operators/operator.h"

namespace sluice {

class WindowMaxOperator final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  void Process(const RowView& row, Collector& out) override;
  void ProcessWatermark(int64_t watermark, Collector& out) override;

 private:
  struct Window {
    int64_t end = 0;
    bool is_double = false;
    int64_t max_i = 0;
    double max_d = 0;
    std::vector<std::vector<uint8_t>> rows;  // those at the maximum
  };

  // With tumble_ms > 0, start_field is the row's time and windows tumble.
  WindowMaxOperator(size_t start_field, size_t end_field, size_t value_field, bool is_double, int64_t tumble_ms)
      : start_field_(start_field), end_field_(end_field), value_field_(value_field), is_double_(is_double),
        tumble_ms_(tumble_ms) {}

  const size_t start_field_, end_field_, value_field_;
  const bool is_double_;
  const int64_t tumble_ms_;
  std::map<std::pair<int64_t, int64_t>, Window> windows_;  // by (end, start): fire in end order
  int64_t watermark_ = INT64_MIN;
};

}  // namespace sluice
