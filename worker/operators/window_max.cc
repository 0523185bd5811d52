#include "worker/operators/window_max.h"

#include <cstring>

namespace sluice {
namespace {

constexpr uint8_t kWindowState = 1;
constexpr size_t kPrefixBytes = 3;
// Windows in the buffer; past this it is folded into state. Its rows are
// bounded by the ties at a maximum, which is what the output holds anyway.
constexpr size_t kMaxBufferedWindows = 4096;

}  // namespace

Result<std::unique_ptr<Operator>> WindowMaxOperator::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(WindowMaxSpec spec, BindSpec(setup, ParseWindowMax(setup.options, setup.input)));
  const bool is_double = setup.input.field(spec.field).type == FieldType::kDouble;
  std::unique_ptr<WindowMaxOperator> op(
      new WindowMaxOperator(spec.window_start, spec.window_end, spec.field, is_double, spec.size_ms));
  // The key is the window: its start, or one global key for tumbling windows
  // of a time field (as the catalog's input_keys says).
  std::vector<size_t> key_fields;
  if (!spec.tumbling()) key_fields.push_back(spec.window_start);
  op->key_ = KeyContext(std::move(key_fields), setup.input, setup.max_parallelism);
  op->touched_.assign(static_cast<size_t>(setup.max_parallelism), false);
  SLUICE_ASSIGN_OR_RETURN(op->state_, OpenOperatorState(setup));
  return std::unique_ptr<Operator>(std::move(op));
}

int WindowMaxOperator::Compare(uint64_t a, uint64_t b) const {
  if (is_double_) {
    double x, y;
    std::memcpy(&x, &a, 8);
    std::memcpy(&y, &b, 8);
    return (x > y) - (x < y);
  }
  int64_t x = static_cast<int64_t>(a), y = static_cast<int64_t>(b);
  return (x > y) - (x < y);
}

void WindowMaxOperator::Process(const RowView& row, Collector&) {
  if (row.IsNull(value_field_) || row.IsNull(start_field_) || row.IsNull(end_field_)) return;
  int64_t start, end;
  if (tumble_ms_ > 0) {  // tumbling windows of the row's own time
    int64_t t = row.GetTimestampMillis(start_field_);
    start = t - (((t % tumble_ms_) + tumble_ms_) % tumble_ms_);
    end = start + tumble_ms_;
  } else {
    start = row.GetTimestampMillis(start_field_);
    end = row.GetTimestampMillis(end_field_);
  }
  if (end - 1 <= watermark_) return;  // late: that window has fired
  key_.SetKey(row);
  touched_[key_.key_group()] = true;
  state_key_.Reset(key_.key_group(), kWindowState).AddInt64(end).AddInt64(start);
  auto [it, fresh] = buffer_.try_emplace(state_key_.bytes());
  Window& w = it->second;
  const uint64_t v = static_cast<uint64_t>(row.GetInt64(value_field_));  // the slot's bytes
  const int cmp = fresh ? 1 : Compare(v, w.max);
  if (cmp > 0) {
    w.end = end;
    w.max = v;
    w.rows.clear();
    next_fire_ = std::min(next_fire_, end);
  }
  if (cmp >= 0) w.rows.append(reinterpret_cast<const char*>(row.data()), row.size());
  if (buffer_.size() >= kMaxBufferedWindows) {
    Status s = FlushBuffer();
    if (!s.ok()) Fail(s);
  }
}

Status WindowMaxOperator::FlushBuffer() {
  for (auto& [key, w] : buffer_) {
    SLUICE_ASSIGN_OR_RETURN(bool found, state_->Get(key, &value_));
    if (found) {
      uint64_t stored;
      std::memcpy(&stored, value_.data(), 8);
      int cmp = Compare(w.max, stored);
      if (cmp < 0) continue;  // state holds the higher maximum
      if (cmp == 0) {
        value_.append(w.rows);
        SLUICE_RETURN_IF_ERROR(state_->Put(key, value_));
        continue;
      }
    }
    value_.assign(reinterpret_cast<const char*>(&w.max), 8);
    value_.append(w.rows);
    SLUICE_RETURN_IF_ERROR(state_->Put(key, value_));
  }
  buffer_.clear();
  return Status::Ok();
}

void WindowMaxOperator::ProcessWatermark(int64_t watermark, Collector& out) {
  watermark_ = std::max(watermark_, watermark);
  if (next_fire_ != INT64_MAX && next_fire_ - 1 <= watermark_ && failure().ok()) {
    Status s = Fire(out);
    if (!s.ok()) Fail(s);
  }
  out.EmitWatermark(watermark);
}

Status WindowMaxOperator::Fire(Collector& out) {
  SLUICE_RETURN_IF_ERROR(FlushBuffer());
  SLUICE_ASSIGN_OR_RETURN(next_fire_, TakeDue(*state_, touched_, kWindowState, DueWindowEnd(watermark_),
                                              [&](int, std::string_view, std::string_view value, int64_t) {
                                                std::string_view rows = value.substr(8);
                                                for (size_t offset = 0; offset < rows.size();) {
                                                  RowView row(reinterpret_cast<const uint8_t*>(rows.data() + offset));
                                                  out.Collect(row);
                                                  offset += row.size();
                                                }
                                                return Status::Ok();
                                              }));
  return Status::Ok();
}

}  // namespace sluice

namespace sluice {

Status WindowMaxOperator::PrepareSnapshot(int64_t, Collector&) { return FlushBuffer(); }

void WindowMaxOperator::AfterRestore() {
  touched_.assign(touched_.size(), true);
  next_fire_ = std::numeric_limits<int64_t>::min() + 1;
}

}  // namespace sluice
