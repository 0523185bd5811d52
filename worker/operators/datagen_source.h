// The `datagen` source: deterministic rows whose fields follow documented
// formulas of the row id (see DatagenSchema()), so tests can compute the
// expected output independently. Subtask i of p emits ids i, i+p, i+2p, ...
#pragma once

#include <optional>

#include "common/catalog/datagen_spec.h"
#include "common/records/row.h"
#include "worker/operators/operator.h"
#include "worker/operators/rescaled_positions.h"

namespace sluice {

class DatagenSource final : public SourceOperator {
 public:
  static Result<std::unique_ptr<SourceOperator>> Create(const OperatorSetup& setup);

  Status Open() override;
  Status Emit(Collector& out, size_t max_rows, bool* done) override;

  // The id this subtask emits next: its read position.
  int64_t next_id() const { return next_id_; }
  std::string SnapshotPosition() const override { return std::to_string(next_id_); }
  Status RestorePosition(std::string_view position) override;
  Status RestoreRescaled(const std::vector<std::string>& positions) override;
  // Rows of a subtask are in event-time order: its last row's time.
  int64_t CurrentWatermark() const override { return emitted_ == 0 ? INT64_MIN : base_time_ + next_id_ - parallelism_; }

 private:
  DatagenSource(int64_t events, int64_t keys, double rate, int64_t base_time, int subtask, int parallelism);

  const int64_t events_;  // < 0: unbounded
  const int64_t keys_;
  const double rows_per_ms_;  // this subtask's share; 0 = full speed
  const int64_t base_time_;
  const int parallelism_;
  int64_t next_id_;
  int64_t emitted_ = 0;
  int64_t start_ms_ = 0;
  int subtask_ = 0;
  std::optional<RescaledPositions> rescaled_;  // ids read before a parallelism change
  RowBuilder builder_;
};

}  // namespace sluice
