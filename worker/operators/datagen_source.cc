#include "worker/operators/datagen_source.h"

#include <charconv>
#include <chrono>
#include <thread>

namespace sluice {
namespace {
int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Result<std::unique_ptr<SourceOperator>> DatagenSource::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(DatagenSpec spec, BindSpec(setup, ParseDatagen(setup.options)));
  return std::unique_ptr<SourceOperator>(new DatagenSource(spec.events, spec.keys, spec.rate, spec.base_time_ms,
                                                           setup.subtask, setup.parallelism));
}

DatagenSource::DatagenSource(int64_t events, int64_t keys, double rate, int64_t base_time, int subtask,
                             int parallelism)
    : events_(events),
      keys_(keys),
      rows_per_ms_(rate / 1000.0 / parallelism),
      base_time_(base_time),
      parallelism_(parallelism),
      next_id_(subtask),
      subtask_(subtask),
      builder_(DatagenSchema().size()) {}

// A position is the next row id, as SnapshotPosition wrote it; it must
// belong to this subtask (same parallelism as when it was taken).
Status DatagenSource::RestorePosition(std::string_view position) {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(position.data(), position.data() + position.size(), id);
  if (ec != std::errc() || end != position.data() + position.size() || id < 0 ||
      id % parallelism_ != next_id_ % parallelism_) {
    return Status::InvalidArgument("datagen source: position '" + std::string(position) + "' is not one of this subtask");
  }
  next_id_ = id;
  return Status::Ok();
}

Status DatagenSource::RestoreRescaled(const std::vector<std::string>& positions) {
  auto parsed = RescaledPositions::Parse(positions);
  if (!parsed.ok()) return parsed.status().WithPrefix("datagen source");
  rescaled_ = std::move(*parsed);
  next_id_ = rescaled_->Start(subtask_, parallelism_);
  return Status::Ok();
}

Status DatagenSource::Open() {
  start_ms_ = MonotonicMs();
  return Status::Ok();
}

Status DatagenSource::Emit(Collector& out, size_t max_rows, bool* done) {
  size_t budget = max_rows;
  if (rows_per_ms_ > 0) {
    int64_t due = static_cast<int64_t>((MonotonicMs() - start_ms_) * rows_per_ms_) + 1 - emitted_;
    if (due <= 0) {
      // Sleep a little, never long, so the task sees a cancel promptly.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      *done = false;
      return Status::Ok();
    }
    budget = std::min<size_t>(budget, static_cast<size_t>(due));
  }
  for (size_t n = 0; n < budget; ++n) {
    while (rescaled_ && rescaled_->Read(next_id_)) next_id_ += parallelism_;
    if (rescaled_ && next_id_ >= rescaled_->end()) rescaled_.reset();
    if (events_ >= 0 && next_id_ >= events_) break;
    int64_t id = next_id_;
    int64_t key = id % keys_;
    builder_.Reset();
    builder_.SetInt64(0, id);
    builder_.SetInt64(1, key);
    builder_.SetInt64(2, (id * 7919) % 1000);
    char name[32] = "name-";
    char* end = std::to_chars(name + 5, name + sizeof(name), key).ptr;
    builder_.SetString(3, std::string_view(name, end - name));
    builder_.SetTimestampMillis(4, base_time_ + id);
    out.Collect(builder_.Finish());
    next_id_ += parallelism_;
    ++emitted_;
  }
  *done = events_ >= 0 && next_id_ >= events_;
  return Status::Ok();
}

}  // namespace sluice
