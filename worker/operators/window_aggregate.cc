#include "worker/operators/window_aggregate.h"

#include "worker/operators/key_encoding.h"

namespace sluice {

Result<std::unique_ptr<Operator>> WindowAggregateOperator::Create(const OperatorSetup& setup) {
  std::unique_ptr<WindowAggregateOperator> op(new WindowAggregateOperator());
  const auto& o = setup.options;
  SLUICE_ASSIGN_OR_RETURN(std::string time, o.GetString("time"));
  auto t = setup.input.IndexOf(time);
  if (!t) return Status::InvalidArgument("operator '" + setup.id + "': no time field '" + time + "'");
  op->time_field_ = *t;
  SLUICE_ASSIGN_OR_RETURN(op->size_, o.GetDurationMs("size", 0));
  SLUICE_ASSIGN_OR_RETURN(op->slide_, o.GetDurationMs("slide", op->size_));
  if (op->size_ <= 0 || op->slide_ <= 0 || op->size_ % op->slide_ != 0) {
    return Status::InvalidArgument("operator '" + setup.id + "': size must be a positive multiple of slide");
  }
  for (const auto& name : o.GetList("key")) {
    auto index = setup.input.IndexOf(name);
    if (!index) return Status::InvalidArgument("operator '" + setup.id + "': no key field '" + name + "'");
    op->key_fields_.push_back(*index);
  }
  op->input_ = setup.input;
  for (const auto& text : o.GetList("aggregates")) {
    auto spec = ParseAggregate(text, setup.input);
    if (!spec.ok()) return spec.status().WithPrefix("operator '" + setup.id + "'");
    std::unique_ptr<CompiledExpression> argument;
    if (!spec->argument.empty()) {
      auto compiled = CompileExpression(spec->argument, setup.input);
      if (!compiled.ok()) return compiled.status();
      argument = std::move(*compiled);
    }
    op->specs_.push_back(*spec);
    op->arguments_.push_back(std::move(argument));
  }
  op->values_.resize(op->specs_.size());
  op->key_builder_ = std::make_unique<RowBuilder>(op->key_fields_.size());
  op->out_builder_ = std::make_unique<RowBuilder>(op->key_fields_.size() + 2 + op->specs_.size());
  return std::unique_ptr<Operator>(std::move(op));
}

void WindowAggregateOperator::Process(const RowView& row, Collector&) {
  if (row.IsNull(time_field_)) return;  // no event time: in no window
  const int64_t t = row.GetTimestampMillis(time_field_);
  ctx_.Reset();
  for (size_t a = 0; a < specs_.size(); ++a) {
    if (arguments_[a]) values_[a] = arguments_[a]->Evaluate(row, ctx_);
  }
  EncodeKey(row, key_fields_, input_, &key_);
  // The windows holding t start at the last multiple of slide at or before
  // t, and every slide before it while the window still reaches t.
  const int64_t last_start = t - (((t % slide_) + slide_) % slide_);
  bool late = false;
  for (int64_t start = last_start; start > t - size_; start -= slide_) {
    if (start + size_ - 1 <= watermark_) {
      late = true;  // that window has fired
      continue;
    }
    auto& groups = windows_[start];
    auto [it, fresh] = groups.try_emplace(key_);
    Group& group = it->second;
    if (fresh) {
      key_builder_->Reset();
      CopyFields(row, key_fields_, input_, 0, *key_builder_);
      group.key_row = CopyRow(key_builder_->Finish());
      group.accumulators.resize(specs_.size());
    }
    for (size_t a = 0; a < specs_.size(); ++a) {
      Accumulator& acc = group.accumulators[a];
      const AggregateSpec& spec = specs_[a];
      if (!arguments_[a]) {  // count(*)
        ++acc.count;
        continue;
      }
      const Value& v = values_[a];
      if (v.is_null) continue;
      const bool is_double = v.type == FieldType::kDouble;
      switch (spec.function) {
        case AggregateFunction::kCount: break;
        case AggregateFunction::kSum:
          if (is_double) acc.d += v.d;
          else acc.i += v.i;
          break;
        case AggregateFunction::kAvg:
          acc.d += is_double ? v.d : static_cast<double>(v.i);
          break;
        case AggregateFunction::kMin:
          if (is_double) acc.d = acc.count == 0 ? v.d : std::min(acc.d, v.d);
          else acc.i = acc.count == 0 ? v.i : std::min(acc.i, v.i);
          break;
        case AggregateFunction::kMax:
          if (is_double) acc.d = acc.count == 0 ? v.d : std::max(acc.d, v.d);
          else acc.i = acc.count == 0 ? v.i : std::max(acc.i, v.i);
          break;
      }
      ++acc.count;
    }
  }
  if (late) ++late_rows_;
}

void WindowAggregateOperator::ProcessWatermark(int64_t watermark, Collector& out) {
  watermark_ = std::max(watermark_, watermark);
  // A window [start, start+size) is complete once the watermark reaches its
  // last millisecond.
  while (!windows_.empty() && windows_.begin()->first + size_ - 1 <= watermark_) {
    Fire(windows_.begin()->first, windows_.begin()->second, out);
    windows_.erase(windows_.begin());
  }
  out.EmitWatermark(watermark);
}

void WindowAggregateOperator::Fire(int64_t start, std::unordered_map<std::string, Group>& groups, Collector& out) {
  const size_t k = key_fields_.size();
  for (auto& [key, group] : groups) {
    RowBuilder& b = *out_builder_;
    b.Reset();
    RowView key_row(group.key_row.data());
    for (size_t i = 0; i < k; ++i) {
      // key_row holds the key fields in order, typed as in the input.
      if (key_row.IsNull(i)) continue;
      switch (input_.field(key_fields_[i]).type) {
        case FieldType::kString: b.SetString(i, key_row.GetString(i)); break;
        case FieldType::kDouble: b.SetDouble(i, key_row.GetDouble(i)); break;
        case FieldType::kBool: b.SetBool(i, key_row.GetBool(i)); break;
        default: b.SetInt64(i, key_row.GetInt64(i)); break;
      }
    }
    b.SetTimestampMillis(k, start);
    b.SetTimestampMillis(k + 1, start + size_);
    for (size_t a = 0; a < specs_.size(); ++a) {
      const Accumulator& acc = group.accumulators[a];
      const AggregateSpec& spec = specs_[a];
      const size_t f = k + 2 + a;
      if (spec.function == AggregateFunction::kCount) {
        b.SetInt64(f, acc.count);
      } else if (acc.count == 0) {
        b.SetNull(f);
      } else if (spec.function == AggregateFunction::kAvg) {
        b.SetDouble(f, acc.d / static_cast<double>(acc.count));
      } else if (spec.output.type == FieldType::kDouble) {
        b.SetDouble(f, acc.d);
      } else {
        b.SetInt64(f, acc.i);
      }
    }
    out.Collect(b.Finish());
  }
}

}  // namespace sluice
