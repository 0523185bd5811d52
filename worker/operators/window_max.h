// The `window-max` operator: for each window, the rows whose `field` is the
// window's maximum, ties included. Windows are those of the input (rows
// carrying window_start and window_end, as window-aggregate emits them) or
// tumbling windows of a time field ('time' and 'size'). It fires a window when
// the watermark passes its end. Nexmark q5's "hot items" is a window-aggregate
// count followed by this.
//
// State: [kg][1][window end][window start] -> maximum (8 bytes) + the rows
// at it, one after another. The key group is that of window_start, which
// the input is hashed by, or of the empty key for tumbling windows (one
// global window at a time, as in q7). A bounded buffer in front keeps the
// running maxima, so state is touched when the buffer is flushed, not per row.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/catalog/window_max_spec.h"
#include "worker/operators/keyed_state.h"
#include "worker/operators/operator.h"

namespace sluice {

class WindowMaxOperator final : public Operator {
 public:
  static Result<std::unique_ptr<Operator>> Create(const OperatorSetup& setup);
  KeyedStateBackend* keyed_state() override { return state_.get(); }
  Status PrepareSnapshot(int64_t checkpoint_id, Collector& out) override;
  void AfterRestore() override;
  uint64_t buffered_entries() const override { return buffer_.size(); }
  void Process(const RowView& row, Collector& out) override;
  void ProcessWatermark(int64_t watermark, Collector& out) override;

 private:
  struct Window {
    int64_t end = 0;
    uint64_t max = 0;   // the maximum's 8 bytes (int64 or double)
    std::string rows;  // those at the maximum, one after another
  };

  // With tumble_ms > 0, start_field is the row's time and windows tumble.
  WindowMaxOperator(size_t start_field, size_t end_field, size_t value_field, bool is_double, int64_t tumble_ms)
      : start_field_(start_field), end_field_(end_field), value_field_(value_field), is_double_(is_double),
        tumble_ms_(tumble_ms) {}
  // <0, 0, >0 as a's maximum is below, equal to or above b's.
  int Compare(uint64_t a, uint64_t b) const;
  Status FlushBuffer();
  Status Fire(Collector& out);

  const size_t start_field_, end_field_, value_field_;
  const bool is_double_;
  const int64_t tumble_ms_;
  KeyContext key_;
  std::vector<bool> touched_;
  std::unique_ptr<KeyedStateBackend> state_;
  std::map<std::string, Window> buffer_;  // by state key
  int64_t watermark_ = INT64_MIN;
  int64_t next_fire_ = INT64_MAX;
  StateKey state_key_;
  std::string value_;
};

}  // namespace sluice
