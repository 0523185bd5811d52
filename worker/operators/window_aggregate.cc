#include "worker/operators/window_aggregate.h"

#include <chrono>

#include "common/expr/values.h"
#include "worker/operators/key_encoding.h"

namespace sluice {
namespace {

constexpr uint8_t kWindowState = 1;
constexpr uint8_t kSessionState = 2;
constexpr uint8_t kSessionTimer = 3;
constexpr uint8_t kDistinctState = 4;
constexpr size_t kPrefixBytes = 3;  // key group and state byte
// Enough to combine the rows of a few watermark intervals of busy keys, small
// enough (a few MiB) to bound memory whatever the key count.
constexpr size_t kMaxBufferedGroups = 32768;

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

// The bytes that tell values apart; they come last in a state key, so a
// string needs no length.
void AppendDistinctValue(const Value& v, std::string* out) {
  if (v.type == FieldType::kString) {
    out->append(v.str);
    return;
  }
  int64_t bits = 0;
  if (v.type == FieldType::kDouble) {
    double d = v.d == 0 ? 0.0 : v.d;  // -0.0 is 0.0
    std::memcpy(&bits, &d, sizeof(d));
  } else if (v.type == FieldType::kBool) {
    bits = v.b ? 1 : 0;
  } else {
    bits = v.i;
  }
  out->append(reinterpret_cast<const char*>(&bits), sizeof(bits));
}

}  // namespace

Result<std::unique_ptr<Operator>> WindowAggregateOperator::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(WindowAggregateSpec spec,
                          BindSpec(setup, ParseWindowAggregate(setup.options, setup.input)));
  std::unique_ptr<WindowAggregateOperator> op(new WindowAggregateOperator());
  op->processing_time_ = spec.processing_time;
  if (spec.time) op->time_field_ = *spec.time;
  op->gap_ = spec.gap_ms;
  op->size_ = spec.size_ms;
  op->slide_ = spec.slide_ms;
  const std::vector<size_t>& key_fields = spec.key;
  for (size_t i = 0; i < key_fields.size(); ++i) {
    op->key_positions_.push_back(i);
    op->key_schema_.Add(setup.input.field(key_fields[i]));
  }
  op->input_ = setup.input;
  // The spec has type-checked every argument and filter against this input.
  for (const AggregateSpec& aggregate : spec.aggregates) {
    std::unique_ptr<CompiledExpression> argument, filter;
    if (!aggregate.argument.empty()) {
      SLUICE_ASSIGN_OR_RETURN(argument, CompileExpression(aggregate.argument, setup.input));
    }
    if (!aggregate.filter.empty()) {
      SLUICE_ASSIGN_OR_RETURN(filter, CompileExpression(aggregate.filter, setup.input));
    }
    op->has_distinct_ = op->has_distinct_ || aggregate.distinct;
    op->arguments_.push_back(std::move(argument));
    op->filters_.push_back(std::move(filter));
  }
  op->specs_ = spec.aggregates;
  op->values_.resize(op->specs_.size());
  op->passes_.resize(op->specs_.size());
  op->distinct_values_.resize(op->specs_.size());
  op->key_builder_ = std::make_unique<RowBuilder>(key_fields.size());
  op->out_builder_ = std::make_unique<RowBuilder>(key_fields.size() + 2 + op->specs_.size());
  op->key_ = KeyContext(key_fields, setup.input, setup.max_parallelism);
  op->touched_.assign(static_cast<size_t>(setup.max_parallelism), false);
  SLUICE_ASSIGN_OR_RETURN(op->state_, OpenOperatorState(setup));
  return std::unique_ptr<Operator>(std::move(op));
}

bool WindowAggregateOperator::Check(const Status& s) {
  if (s.ok()) return true;
  Fail(s);
  return false;
}

void WindowAggregateOperator::Process(const RowView& row, Collector&) {
  if (!failure().ok()) return;
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
    if (filters_[a]) {
      Value pass = filters_[a]->Evaluate(row, ctx_);
      passes_[a] = !pass.is_null && pass.b;  // NULL is not TRUE
    } else {
      passes_[a] = true;
    }
    if (specs_[a].distinct) {
      std::string& v = distinct_values_[a];
      v.clear();
      if (passes_[a] && !values_[a].is_null) {
        v.push_back(static_cast<char>(a));
        AppendDistinctValue(values_[a], &v);
      }
    }
  }
  key_.SetKey(row);
  touched_[key_.key_group()] = true;
  if (gap_ > 0) {
    ProcessSession(row, t);
    return;
  }
  // The windows holding t start at the last multiple of slide at or before
  // t, and every slide before it while the window still reaches t.
  const int64_t last_start = t - (((t % slide_) + slide_) % slide_);
  bool late = false;
  for (int64_t start = last_start; start > t - size_; start -= slide_) {
    const int64_t end = start + size_;
    // In processing time nothing is late (a clock stepping back yields a
    // second row for the window rather than a lost one).
    if (!processing_time_ && end - 1 <= watermark_) {
      late = true;  // that window has fired
      continue;
    }
    state_key_.Reset(key_.key_group(), kWindowState).AddInt64(end).AddBytes(key_.key());
    auto [it, fresh] = buffer_.try_emplace(state_key_.bytes());
    if (fresh) {
      NewValue(row);
      it->second.key_row = value_;
      it->second.accumulators.resize(specs_.size());
      next_fire_ = std::min(next_fire_, end);
    }
    AccumulateRow(it->second.accumulators.data());
    if (has_distinct_) {
      for (const auto& v : distinct_values_) {
        if (!v.empty() && it->second.distinct_values.insert(v).second) ++buffered_distinct_values_;
      }
    }
  }
  if (late) ++late_rows_;
  if (buffer_.size() + buffered_distinct_values_ >= kMaxBufferedGroups) FlushBuffer();
}

void WindowAggregateOperator::FlushBuffer() {
  const size_t n = specs_.size();
  accumulators_.resize(n);
  std::string distinct_key;
  for (auto& [key, group] : buffer_) {
    // A value new to the window counts once; its entry marks it seen.
    for (const auto& v : group.distinct_values) {
      distinct_key.assign(key);
      distinct_key[2] = static_cast<char>(kDistinctState);
      distinct_key.append(v);
      auto seen = state_->Get(distinct_key, &value_);
      if (!Check(seen.status())) return;
      if (*seen) continue;
      if (!Check(state_->Put(distinct_key, ""))) return;
      ++group.accumulators[static_cast<uint8_t>(v[0])].count;
    }
    auto found = state_->Get(key, &value_);
    if (!Check(found.status())) return;
    if (*found) {
      size_t payload = RowView(reinterpret_cast<const uint8_t*>(value_.data())).size();
      std::memcpy(accumulators_.data(), value_.data() + payload, n * sizeof(Accumulator));
      Merge(group.accumulators.data(), accumulators_.data());
    }
    value_ = group.key_row;
    value_.append(reinterpret_cast<const char*>(group.accumulators.data()), n * sizeof(Accumulator));
    if (!Check(state_->Put(key, value_))) return;
  }
  buffer_.clear();
  buffered_distinct_values_ = 0;
}

// value_ = the row's key fields as a row: the start of every state value.
void WindowAggregateOperator::NewValue(const RowView& row) {
  key_builder_->Reset();
  CopyFields(row, key_.fields(), input_, 0, *key_builder_);
  RowView key_row = key_builder_->Finish();
  value_.assign(reinterpret_cast<const char*>(key_row.data()), key_row.size());
}

void WindowAggregateOperator::LoadSessions(std::string_view value, std::vector<Session>* sessions) {
  sessions->clear();
  const size_t n = specs_.size();
  size_t offset = RowView(reinterpret_cast<const uint8_t*>(value.data())).size();
  while (offset < value.size()) {
    Session s;
    s.start = ReadRaw<int64_t>(value, &offset);
    s.end = ReadRaw<int64_t>(value, &offset);
    s.accumulators.resize(n);
    std::memcpy(s.accumulators.data(), value.data() + offset, n * sizeof(Accumulator));
    offset += n * sizeof(Accumulator);
    sessions->push_back(std::move(s));
  }
}

// The row opens [t, t + gap) and merges every session of its key that it
// overlaps or touches into one, as sessions grow and join. Touching counts,
// as in Flink (TimeWindow.intersects is inclusive at both ends): a row
// exactly `gap` after the last one continues its session.
void WindowAggregateOperator::ProcessSession(const RowView& row, int64_t t) {
  if (!processing_time_ && t + gap_ - 1 <= watermark_) {
    ++late_rows_;  // its session would already have fired
    return;
  }
  const int kg = key_.key_group();
  state_key_.Reset(kg, kSessionState).AddBytes(key_.key());
  auto found = state_->Get(state_key_, &value_);
  if (!Check(found.status())) return;
  if (*found) {
    LoadSessions(value_, &sessions_);
    value_.resize(RowView(reinterpret_cast<const uint8_t*>(value_.data())).size());
  } else {
    sessions_.clear();
    NewValue(row);
  }
  Session merged;
  merged.start = t;
  merged.end = t + gap_;
  merged.accumulators.resize(specs_.size());
  for (size_t i = 0; i < sessions_.size();) {
    Session& s = sessions_[i];
    if (s.start <= merged.end && merged.start <= s.end) {
      merged.start = std::min(merged.start, s.start);
      merged.end = std::max(merged.end, s.end);
      Merge(merged.accumulators.data(), s.accumulators.data());
      sessions_[i] = std::move(sessions_.back());
      sessions_.pop_back();
    } else {
      ++i;
    }
  }
  AccumulateRow(merged.accumulators.data());
  sessions_.push_back(std::move(merged));
  for (const Session& s : sessions_) {
    AppendRaw(s.start, &value_);
    AppendRaw(s.end, &value_);
    value_.append(reinterpret_cast<const char*>(s.accumulators.data()), s.accumulators.size() * sizeof(Accumulator));
  }
  if (!Check(state_->Put(state_key_, value_))) return;
  const int64_t end = sessions_.back().end;
  state_key_.Reset(kg, kSessionTimer).AddInt64(end).AddBytes(key_.key());
  if (!Check(state_->Put(state_key_, ""))) return;
  next_fire_ = std::min(next_fire_, end);
}

void WindowAggregateOperator::AccumulateRow(Accumulator* accumulators) {
  for (size_t a = 0; a < specs_.size(); ++a) {
    // Distinct counts grow when the buffer meets the window's seen values.
    if (!passes_[a] || specs_[a].distinct) continue;
    if (!arguments_[a]) {  // count(*)
      ++accumulators[a].count;
      continue;
    }
    const Value& v = values_[a];
    if (v.is_null) continue;
    Accumulator one;
    one.count = 1;
    if (v.type == FieldType::kDouble) {
      one.d = v.d;
    } else if (specs_[a].function == AggregateFunction::kAvg) {
      // avg sums integers exactly and decimals in double at their scale
      one.d = v.type == FieldType::kDecimal ? expr::DecimalToDouble(v.i, v.scale) : static_cast<double>(v.i);
      if (v.type == FieldType::kInt64) one.i = v.i;
    } else {
      one.i = v.i;
    }
    Combine(specs_[a], accumulators[a], one);
  }
}

void WindowAggregateOperator::Merge(Accumulator* into, const Accumulator* from) {
  for (size_t a = 0; a < specs_.size(); ++a) Combine(specs_[a], into[a], from[a]);
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
  watermark_ = std::max(watermark_, time);
  // A window [start, end) is complete once time reaches its last millisecond.
  if (!failure().ok() || next_fire_ == INT64_MAX || next_fire_ - 1 > watermark_) return;
  next_fire_ = INT64_MAX;
  if (gap_ > 0) {
    FireSessions(out);
  } else {
    FlushBuffer();
    FireWindows(out);
  }
}

void WindowAggregateOperator::FireWindows(Collector& out) {
  const size_t n = specs_.size();
  accumulators_.resize(n);
  auto next = TakeDue(*state_, touched_, kWindowState, DueWindowEnd(watermark_),
                      [&](int, std::string_view, std::string_view value, int64_t end) {
                        size_t payload = RowView(reinterpret_cast<const uint8_t*>(value.data())).size();
                        std::memcpy(accumulators_.data(), value.data() + payload, n * sizeof(Accumulator));
                        EmitGroup(end - size_, end, value.substr(0, payload), accumulators_.data(), out);
                        return Status::Ok();
                      });
  if (!Check(next.status())) return;
  next_fire_ = std::min(next_fire_, *next);
  // Distinct values are ordered by window end too: those of fired windows go.
  if (has_distinct_) {
    auto dropped = TakeDue(*state_, touched_, kDistinctState, DueWindowEnd(watermark_),
                           [](int, std::string_view, std::string_view, int64_t) { return Status::Ok(); });
    Check(dropped.status());
  }
}

// A due timer fires the sessions of its key that have ended; stale timers
// (the session grew since) find nothing to fire.
void WindowAggregateOperator::FireSessions(Collector& out) {
  auto next = TakeDue(
      *state_, touched_, kSessionTimer, DueWindowEnd(watermark_),
      [&](int kg, std::string_view timer, std::string_view, int64_t) -> Status {
        std::string_view key = timer.substr(kPrefixBytes + 8);
        state_key_.Reset(kg, kSessionState).AddBytes(key);
        SLUICE_ASSIGN_OR_RETURN(bool found, state_->Get(state_key_, &value_));
        if (!found) return Status::Ok();  // fired with an earlier timer of the key
        LoadSessions(value_, &sessions_);
        size_t key_row_size = RowView(reinterpret_cast<const uint8_t*>(value_.data())).size();
        std::string rest = value_.substr(0, key_row_size);
        bool kept = false;
        for (const Session& s : sessions_) {
          if (s.end - 1 <= watermark_) {
            EmitGroup(s.start, s.end, std::string_view(value_).substr(0, key_row_size), s.accumulators.data(), out);
            continue;
          }
          kept = true;
          AppendRaw(s.start, &rest);
          AppendRaw(s.end, &rest);
          rest.append(reinterpret_cast<const char*>(s.accumulators.data()),
                      s.accumulators.size() * sizeof(Accumulator));
        }
        return kept ? state_->Put(state_key_, rest) : state_->Delete(state_key_);
      });
  if (!Check(next.status())) return;
  next_fire_ = std::min(next_fire_, *next);
}

void WindowAggregateOperator::EmitGroup(int64_t start, int64_t end, std::string_view key_row,
                                        const Accumulator* accumulators, Collector& out) {
  const size_t k = key_positions_.size();
  RowBuilder& b = *out_builder_;
  b.Reset();
  // key_row holds the key fields in order, typed as in key_schema_.
  CopyFields(RowView(reinterpret_cast<const uint8_t*>(key_row.data())), key_positions_, key_schema_, 0, b);
  b.SetTimestampMillis(k, start);
  b.SetTimestampMillis(k + 1, end);
  for (size_t a = 0; a < specs_.size(); ++a) {
    const Accumulator& acc = accumulators[a];
    const AggregateSpec& spec = specs_[a];
    const size_t f = k + 2 + a;
    if (spec.function == AggregateFunction::kCount) {
      b.SetInt64(f, acc.count);
    } else if (acc.count == 0) {
      b.SetNull(f);
    } else if (spec.function == AggregateFunction::kAvg && spec.output.type == FieldType::kInt64) {
      b.SetInt64(f, acc.i / acc.count);  // truncated toward zero, as Flink's AVG(BIGINT)
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

}  // namespace sluice

namespace sluice {

Status WindowAggregateOperator::PrepareSnapshot(int64_t, Collector&) {
  FlushBuffer();
  return failure();
}

// Restored windows may be in any key group and due at any time: look
// everywhere at the next watermark.
void WindowAggregateOperator::AfterRestore() {
  touched_.assign(touched_.size(), true);
  next_fire_ = std::numeric_limits<int64_t>::min() + 1;
}

}  // namespace sluice
