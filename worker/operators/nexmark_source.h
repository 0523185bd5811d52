// The `nexmark` source: the rows of one Nexmark event kind (docs/nexmark.md).
//
// Subtask i of p reads event numbers n = i, i+p, i+2p, ... of the one global
// event sequence (all kinds), skips the ones of other kinds without
// generating them, and emits the rest as rows of NexmarkSchema(kind). Two
// sources of different kinds thus together see exactly the events a single
// generator produces, at any parallelism.
#pragma once

#include <optional>

#include <cstdint>
#include <limits>

#include "common/catalog/nexmark_spec.h"
#include "common/records/row.h"
#include "worker/operators/nexmark/generator.h"
#include "worker/operators/operator.h"
#include "worker/operators/rescaled_positions.h"

namespace sluice {

class NexmarkSource final : public SourceOperator {
 public:
  static Result<std::unique_ptr<SourceOperator>> Create(const OperatorSetup& setup);

  Status Open() override;
  Status Emit(Collector& out, size_t max_rows, bool* done) override;

  // The read position: the next event number this subtask looks at (of any
  // kind; always congruent to the subtask index modulo the parallelism).
  int64_t next_event() const { return next_event_; }
  std::string SnapshotPosition() const override { return std::to_string(next_event_); }
  Status RestorePosition(std::string_view position) override;
  Status RestoreRescaled(const std::vector<std::string>& positions) override;

  // Event time of the last emitted event minus the watermark delay; INT64_MIN
  // before the first row. Event time grows with the event number, so this is
  // a bound on everything emitted later minus the delay.
  int64_t CurrentWatermark() const override {
    if (last_event_time_ == std::numeric_limits<int64_t>::min()) return last_event_time_;
    return last_event_time_ - generator_.config().watermark_delay_ms;
  }

 private:
  NexmarkSource(nexmark::EventKind kind, nexmark::NexmarkConfig config, double rate, int subtask,
                int parallelism);

  void EmitOne(int64_t n, Collector& out);

  const nexmark::EventKind kind_;
  const nexmark::NexmarkGenerator generator_;
  const int64_t end_;             // one past the last event number; INT64_MAX if unbounded
  const double events_per_ms_;    // this subtask's share of `rate`; 0 = full speed
  const int64_t subtask_;
  const int64_t parallelism_;
  bool reachable_ = true;         // whether any n = subtask (mod p) is of this kind
  int64_t next_event_;
  int64_t last_event_time_ = std::numeric_limits<int64_t>::min();
  int64_t start_ms_ = 0;
  int64_t paced_from_ = 0;
  std::optional<RescaledPositions> rescaled_;  // events read before a parallelism change  // events passed before this run (a restore): `rate` paces from here
  nexmark::Person person_;
  nexmark::Auction auction_;
  nexmark::Bid bid_;
  RowBuilder builder_;
};

}  // namespace sluice
