#include "worker/operators/window_max.h"

namespace sluice {

Result<std::unique_ptr<Operator>> WindowMaxOperator::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(std::string field, setup.options.GetString("field"));
  auto value = setup.input.IndexOf(field);
  if (!value) return Status::InvalidArgument("operator '" + setup.id + "': no field '" + field + "'");
  bool is_double = setup.input.field(*value).type == FieldType::kDouble;
  SLUICE_ASSIGN_OR_RETURN(int64_t size, setup.options.GetDurationMs("size", 0));
  if (setup.options.Has("time")) {
    auto time = setup.input.IndexOf(setup.options.GetStringOr("time", ""));
    if (!time || size <= 0) return Status::InvalidArgument("operator '" + setup.id + "': bad 'time' or 'size'");
    return std::unique_ptr<Operator>(new WindowMaxOperator(*time, *time, *value, is_double, size));
  }
  auto start = setup.input.IndexOf("window_start");
  auto end = setup.input.IndexOf("window_end");
  if (!start || !end) {
    return Status::InvalidArgument("operator '" + setup.id + "': the input has no window_start and window_end");
  }
  return std::unique_ptr<Operator>(new WindowMaxOperator(*start, *end, *value, is_double, 0));
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
  auto [it, fresh] = windows_.try_emplace({end, start});
  Window& w = it->second;
  w.end = end;
  int cmp;
  if (is_double_) {
    double v = row.GetDouble(value_field_);
    cmp = fresh ? 1 : (v > w.max_d) - (v < w.max_d);
    if (cmp > 0) w.max_d = v;
  } else {
    int64_t v = row.GetInt64(value_field_);
    cmp = fresh ? 1 : (v > w.max_i) - (v < w.max_i);
    if (cmp > 0) w.max_i = v;
  }
  if (cmp > 0) w.rows.clear();
  if (cmp >= 0) w.rows.push_back(CopyRow(row));
}

void WindowMaxOperator::ProcessWatermark(int64_t watermark, Collector& out) {
  watermark_ = std::max(watermark_, watermark);
  while (!windows_.empty() && windows_.begin()->first.first - 1 <= watermark_) {
    for (const auto& row : windows_.begin()->second.rows) out.Collect(RowView(row.data()));
    windows_.erase(windows_.begin());
  }
  out.EmitWatermark(watermark);
}

}  // namespace sluice
