#include "worker/operators/window_aggregate.h"

#include <chrono>

#include "worker/operators/key_encoding.h"

namespace sluice {

Result<std::unique_ptr<Operator>> WindowAggregateOperator::Create(const OperatorSetup& setup) {
  std::unique_ptr<WindowAggregateOperator> op(new WindowAggregateOperator());
  const auto& o = setup.options;
  op->processing_time_ = o.GetStringOr("processing-time", "false") == "true";
  if (!op->processing_time_) {
    SLUICE_ASSIGN_OR_RETURN(std::string time, o.GetString("time"));
    auto t = setup.input.IndexOf(time);
    if (!t) return Status::InvalidArgument("operator '" + setup.id + "': no time field '" + time + "'");
    op->time_field_ = *t;
  }
  SLUICE_ASSIGN_OR_RETURN(op->gap_, o.GetDurationMs("gap", 0));
  SLUICE_ASSIGN_OR_RETURN(op->size_, o.GetDurationMs("size", 0));
  SLUICE_ASSIGN_OR_RETURN(op->slide_, o.GetDurationMs("slide", op->size_));
  if (op->gap_ <= 0 && (op->size_ <= 0 || op->slide_ <= 0 || op->size_ % op->slide_ != 0)) {
    return Status::InvalidArgument("operator '" + setup.id + "': size must be a positive multiple of slide");
  }
  for (const auto& name : o.GetList("key")) {
    auto index = setup.input.IndexOf(name);
    if (!index) return Status::InvalidArgument("operator '" + setup.id + "': no key field '" + name + "'");
    op->key_positions_.push_back(op->key_fields_.size());
    op->key_fields_.push_back(*index);
    op->key_schema_.Add(setup.input.field(*index));
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
  int64_t t;
  if (processing_time_) {
    t = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
  } else {
    if (row.IsNull(time_field_)) return;  // no event time: in no window
    t = row.GetTimestampMillis(time_field_);
  }
  ctx_.Reset();
  for (size_t a = 0; a < specs_.size(); ++a) {
    if (arguments_[a]) values_[a] = arguments_[a]->Evaluate(row, ctx_);
  }
  EncodeKey(row, key_fields_, input_, &key_);
  if (gap_ > 0) {
    ProcessSession(row, t);
    return;
  }
  // The windows holding t start at the last multiple of slide at or before
  // t, and every slide before it while the window still reaches t.
  const int64_t last_start = t - (((t % slide_) + slide_) % slide_);
  bool late = false;
  for (int64_t start = last_start; start > t - size_; start -= slide_) {
    // In processing time nothing is late (a clock stepping back yields a
    // second row for the window rather than a lost one).
    if (!processing_time_ && start + size_ - 1 <= watermark_) {
      late = true;  // that window has fired
      continue;
    }
    auto& groups = windows_[start];
    auto [it, fresh] = groups.try_emplace(key_);
    Group& group = it->second;
    if (fresh) NewGroup(row, &group);
    AccumulateRow(group);
  }
  if (late) ++late_rows_;
}

void WindowAggregateOperator::NewGroup(const RowView& row, Group* group) {
  key_builder_->Reset();
  CopyFields(row, key_fields_, input_, 0, *key_builder_);
  group->key_row = CopyRow(key_builder_->Finish());
  group->accumulators.resize(specs_.size());
}

// The row opens [t, t + gap) and merges every session of its key that it
// overlaps into one, as sessions grow and join.
void WindowAggregateOperator::ProcessSession(const RowView& row, int64_t t) {
  if (!processing_time_ && t + gap_ - 1 <= watermark_) {
    ++late_rows_;  // its session would already have fired
    return;
  }
  auto& list = sessions_[key_];
  Session merged;
  merged.start = t;
  merged.end = t + gap_;
  bool have_group = false;
  for (size_t i = 0; i < list.size();) {
    Session& s = list[i];
    if (s.start < merged.end && merged.start < s.end) {
      merged.start = std::min(merged.start, s.start);
      merged.end = std::max(merged.end, s.end);
      if (!have_group) {
        merged.group = std::move(s.group);
        have_group = true;
      } else {
        Merge(merged.group, s.group);
      }
      list[i] = std::move(list.back());
      list.pop_back();
    } else {
      ++i;
    }
  }
  if (!have_group) NewGroup(row, &merged.group);
  AccumulateRow(merged.group);
  list.push_back(std::move(merged));
}

void WindowAggregateOperator::FireSessions(Collector& out) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    auto& list = it->second;
    for (size_t i = 0; i < list.size();) {
      if (list[i].end - 1 <= watermark_) {
        EmitGroup(list[i].start, list[i].end, list[i].group, out);
        list[i] = std::move(list.back());
        list.pop_back();
      } else {
        ++i;
      }
    }
    it = list.empty() ? sessions_.erase(it) : std::next(it);
  }
}

namespace {

// Folds the partial aggregate `src` into `dst`; one row is a partial
// aggregate of count 1, and merging sessions folds whole ones.
void Combine(const AggregateSpec& spec, WindowAggregateAccumulator& dst, const WindowAggregateAccumulator& src) {
  if (src.count == 0) return;
  const bool is_double = spec.output.type == FieldType::kDouble;
  switch (spec.function) {
    case AggregateFunction::kCount: break;
    case AggregateFunction::kSum:
    case AggregateFunction::kAvg:
      dst.i += src.i;
      dst.d += src.d;
      break;
    case AggregateFunction::kMin:
      if (is_double) dst.d = dst.count == 0 ? src.d : std::min(dst.d, src.d);
      else dst.i = dst.count == 0 ? src.i : std::min(dst.i, src.i);
      break;
    case AggregateFunction::kMax:
      if (is_double) dst.d = dst.count == 0 ? src.d : std::max(dst.d, src.d);
      else dst.i = dst.count == 0 ? src.i : std::max(dst.i, src.i);
      break;
  }
  dst.count += src.count;
}

}  // namespace

void WindowAggregateOperator::AccumulateRow(Group& group) {
  for (size_t a = 0; a < specs_.size(); ++a) {
    if (!arguments_[a]) {  // count(*)
      ++group.accumulators[a].count;
      continue;
    }
    const Value& v = values_[a];
    if (v.is_null) continue;
    Accumulator one;
    one.count = 1;
    if (v.type == FieldType::kDouble) {
      one.d = v.d;
    } else if (specs_[a].function == AggregateFunction::kAvg) {
      one.d = static_cast<double>(v.i);  // avg sums in double
    } else {
      one.i = v.i;
    }
    Combine(specs_[a], group.accumulators[a], one);
  }
}

void WindowAggregateOperator::Merge(Group& into, const Group& from) {
  for (size_t a = 0; a < specs_.size(); ++a) Combine(specs_[a], into.accumulators[a], from.accumulators[a]);
}

void WindowAggregateOperator::ProcessWatermark(int64_t watermark, Collector& out) {
  // In processing time only the end of input matters: it completes every
  // window, so a bounded run counts every row.
  if (!processing_time_ || watermark == INT64_MAX) FireUpTo(watermark, out);
  out.EmitWatermark(watermark);
}

void WindowAggregateOperator::OnProcessingTime(int64_t now_ms, Collector& out) {
  if (processing_time_) FireUpTo(now_ms, out);
}

void WindowAggregateOperator::FireUpTo(int64_t time, Collector& out) {
  const bool advanced = time > watermark_;
  watermark_ = std::max(watermark_, time);
  if (gap_ > 0 && advanced) FireSessions(out);
  // A window [start, start+size) is complete once time reaches its last
  // millisecond.
  while (!windows_.empty() && windows_.begin()->first + size_ - 1 <= watermark_) {
    Fire(windows_.begin()->first, windows_.begin()->second, out);
    windows_.erase(windows_.begin());
  }
}

void WindowAggregateOperator::Fire(int64_t start, std::unordered_map<std::string, Group>& groups, Collector& out) {
  for (auto& [key, group] : groups) EmitGroup(start, start + size_, group, out);
}

void WindowAggregateOperator::EmitGroup(int64_t start, int64_t end, const Group& group, Collector& out) {
  const size_t k = key_fields_.size();
  {
    RowBuilder& b = *out_builder_;
    b.Reset();
    // key_row holds the key fields in order, typed as in key_schema_.
    CopyFields(RowView(group.key_row.data()), key_positions_, key_schema_, 0, b);
    b.SetTimestampMillis(k, start);
    b.SetTimestampMillis(k + 1, end);
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
