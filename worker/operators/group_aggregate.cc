#include "worker/operators/group_aggregate.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "common/expr/values.h"
#include "worker/operators/key_encoding.h"

namespace sluice {
namespace {

constexpr uint8_t kResultState = 1;
constexpr uint8_t kDistinctState = 2;
constexpr uint8_t kExtremeState = 3;
constexpr size_t kPrefixBytes = 3;  // key group and state byte
// Flink's nexmark setup flushes mini-batches after at most 2 s; a second
// keeps results as fresh when watermarks do not come.
constexpr int64_t kFlushIntervalMs = 1000;
// BufferedGroup::flags of a changelog's min/max.
constexpr uint8_t kCandidate = 1;  // a value added since the last flush may be the new extreme
constexpr uint8_t kRetracted = 2;  // a value has gone: it may have been the extreme

template <typename Map>
std::vector<typename Map::value_type*> SortedByKey(Map& map) {
  std::vector<typename Map::value_type*> entries;
  entries.reserve(map.size());
  for (auto& entry : map) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(), [](const auto* a, const auto* b) { return a->first < b->first; });
  return entries;
}

// Order-preserving bytes of a value: integers as state_key.h writes them,
// doubles with the sign flipped (negatives inverted), strings as they are
// (always last in a key, so they need no length).
void AppendOrdered(FieldType type, int64_t i, double d, std::string_view s, std::string* out) {
  if (type == FieldType::kString) {
    out->append(s);
  } else if (type == FieldType::kDouble) {
    if (d == 0) d = 0;  // -0.0 is 0.0
    if (std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
    uint64_t u = std::bit_cast<uint64_t>(d);
    u = (u >> 63) ? ~u : u | (uint64_t{1} << 63);
    for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((u >> shift) & 0xff));
  } else {
    StateKey::AppendOrderedInt64(i, out);
  }
}

void AppendOrdered(const Value& v, std::string* out) {
  switch (v.type) {
    case FieldType::kString: AppendOrdered(v.type, 0, 0, v.str, out); break;
    case FieldType::kDouble: AppendOrdered(v.type, 0, v.d, {}, out); break;
    case FieldType::kBool: AppendOrdered(v.type, v.b ? 1 : 0, 0, {}, out); break;
    default: AppendOrdered(v.type, v.i, 0, {}, out); break;
  }
}

}  // namespace

Result<std::unique_ptr<Operator>> GroupAggregateOperator::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(GroupAggregateSpec spec, BindSpec(setup, ParseGroupAggregate(setup.options, setup.input)));
  std::unique_ptr<GroupAggregateOperator> op(new GroupAggregateOperator());
  const std::string where = "operator '" + setup.id + "'";
  const Schema& input = setup.input;
  op->id_ = setup.id;
  op->changelog_ = spec.changelog;
  op->input_ = input;
  std::vector<size_t> key_fields = spec.key;
  for (size_t i = 0; i < key_fields.size(); ++i) {
    op->key_positions_.push_back(i);
    op->key_schema_.Add(input.field(key_fields[i]));
  }
  op->max_entries_ = static_cast<size_t>(spec.buffer_entries);

  // Arguments and filters are compiled once each however many aggregates
  // share them: q15's twelve aggregates evaluate three filters and two fields.
  std::vector<std::string> texts;
  auto expression = [&](const std::string& text) -> Result<int> {
    auto compiled = CompileExpression(text, input);
    if (!compiled.ok()) return compiled.status().WithPrefix(where);
    std::string normal = (*compiled)->ToString();
    auto found = std::find(texts.begin(), texts.end(), normal);
    if (found != texts.end()) return static_cast<int>(found - texts.begin());
    texts.push_back(normal);
    op->expressions_.push_back(std::move(*compiled));
    return static_cast<int>(texts.size() - 1);
  };
  for (const AggregateSpec& aggregate : spec.aggregates) {
    Aggregate g;
    g.spec = aggregate;
    g.extreme = aggregate.function == AggregateFunction::kMin || aggregate.function == AggregateFunction::kMax;
    if (!aggregate.argument.empty()) {
      SLUICE_ASSIGN_OR_RETURN(g.argument, expression(aggregate.argument));
      g.type = op->expressions_[g.argument]->type();
      g.scale = op->expressions_[g.argument]->scale();
    }
    if (!aggregate.filter.empty()) {
      SLUICE_ASSIGN_OR_RETURN(g.filter, expression(aggregate.filter));
    }
    const size_t a = op->aggregates_.size();
    if (aggregate.distinct) {
      auto& sets = op->distinct_sets_;
      auto set = std::find_if(sets.begin(), sets.end(), [&](const DistinctSet& s) { return s.argument == g.argument; });
      if (set == sets.end()) set = sets.insert(sets.end(), DistinctSet{g.argument, {}});
      g.distinct_set = static_cast<int>(set - sets.begin());
      g.member = set->aggregates.size();
      set->aggregates.push_back(a);
    }
    if (g.extreme && g.type == FieldType::kString) op->has_string_extremes_ = true;
    if (g.extreme && op->changelog_) op->has_changelog_extremes_ = true;
    op->aggregates_.push_back(std::move(g));
  }
  op->out_schema_ = spec.output;
  for (size_t f = 1; f < op->out_schema_.size(); ++f) op->copy_positions_.push_back(f);
  op->values_.resize(op->expressions_.size());
  op->key_builder_ = std::make_unique<RowBuilder>(key_fields.size());
  op->out_builder_ = std::make_unique<RowBuilder>(op->out_schema_.size());
  op->copy_builder_ = std::make_unique<RowBuilder>(op->out_schema_.size());
  op->key_ = KeyContext(std::move(key_fields), input, setup.max_parallelism);
  SLUICE_ASSIGN_OR_RETURN(op->state_, OpenOperatorState(setup));
  return std::unique_ptr<Operator>(std::move(op));
}

bool GroupAggregateOperator::Check(const Status& s) {
  if (s.ok()) return true;
  Fail(s);
  return false;
}

bool GroupAggregateOperator::Better(const Aggregate& g, const Accumulator& x, std::string_view x_str,
                                    const Accumulator& y, std::string_view y_str) {
  int c;
  if (g.type == FieldType::kString) c = x_str.compare(y_str);
  else if (g.type == FieldType::kDouble) c = x.d < y.d ? -1 : (x.d > y.d ? 1 : 0);
  else c = x.i < y.i ? -1 : (x.i > y.i ? 1 : 0);
  return g.spec.function == AggregateFunction::kMin ? c < 0 : c > 0;
}

void GroupAggregateOperator::Process(const RowView& row, Collector& out) {
  if (!failure().ok()) return;
  int64_t sign = 1;
  if (changelog_) {
    std::string_view kind = row.IsNull(0) ? std::string_view("NULL") : row.GetString(0);
    if (kind == "-U" || kind == "-D") {
      sign = -1;
    } else if (kind != "+I" && kind != "+U") {
      Fail(Status::InvalidArgument("operator '" + id_ + "': input row kind '" + std::string(kind) +
                                   "' is not +I, -U, +U or -D"));
      return;
    }
  }
  ctx_.Reset();
  for (size_t e = 0; e < expressions_.size(); ++e) values_[e] = expressions_[e]->Evaluate(row, ctx_);
  key_.SetKey(row);
  state_key_.Reset(key_.key_group(), kResultState).AddBytes(key_.key());
  auto [it, fresh] = groups_.try_emplace(state_key_.bytes());
  BufferedGroup& group = it->second;
  const size_t n = aggregates_.size();
  if (fresh) {
    key_builder_->Reset();
    CopyFields(row, key_.fields(), input_, 0, *key_builder_);
    RowView key_row = key_builder_->Finish();
    group.key_row.assign(reinterpret_cast<const char*>(key_row.data()), key_row.size());
    group.delta.resize(n);
    if (has_string_extremes_) group.strings.resize(n);
    if (has_changelog_extremes_) group.flags.resize(n);
  }
  group.rows += sign;
  for (size_t a = 0; a < n; ++a) {
    const Aggregate& g = aggregates_[a];
    if (g.filter >= 0 && (values_[g.filter].is_null || !values_[g.filter].b)) continue;
    Accumulator& d = group.delta[a];
    if (g.argument < 0) {  // count(*)
      d.count += sign;
      continue;
    }
    const Value& v = values_[g.argument];
    if (v.is_null) continue;
    if (g.distinct_set >= 0) {
      AddValue(group, kDistinctState, static_cast<uint8_t>(g.distinct_set), v, g.member,
               distinct_sets_[g.distinct_set].aggregates.size(), sign);
      continue;
    }
    d.count += sign;
    if (g.spec.function == AggregateFunction::kCount) continue;
    if (!g.extreme) {  // sum, avg
      if (g.type == FieldType::kDouble) d.d += static_cast<double>(sign) * v.d;
      else d.i += sign * v.i;
      continue;
    }
    if (changelog_) {  // the extreme is found at the flush, from the values in state
      AddValue(group, kExtremeState, static_cast<uint8_t>(a), v, 0, 1, sign);
      continue;
    }
    Accumulator x;
    if (g.type == FieldType::kDouble) x.d = v.d;
    else if (g.type != FieldType::kString) x.i = v.i;
    if (d.count == 1 || Better(g, x, v.str, d, has_string_extremes_ ? group.strings[a] : std::string_view())) {
      d.i = x.i;
      d.d = x.d;
      if (g.type == FieldType::kString) group.strings[a].assign(v.str);
    }
  }
  if (groups_.size() + buffered_values_.size() >= max_entries_) Flush(out);
}

void GroupAggregateOperator::AddValue(BufferedGroup& group, uint8_t state, uint8_t index, const Value& v,
                                      size_t member, size_t members, int64_t sign) {
  value_key_.Reset(key_.key_group(), state)
      .AddBytes(key_.key())
      .AddBytes(std::string_view(reinterpret_cast<const char*>(&index), 1));
  const size_t value_offset = value_key_.size();
  ordered_.clear();
  AppendOrdered(v, &ordered_);
  value_key_.AddBytes(ordered_);
  auto [it, fresh] = buffered_values_.try_emplace(value_key_.bytes());
  if (fresh) {
    it->second.group = &group;  // unordered_map nodes stay put until the flush clears both maps
    it->second.state = state;
    it->second.index = index;
    it->second.value_offset = value_offset;
    it->second.counts.assign(members, 0);
  }
  it->second.counts[member] += sign;
}

void GroupAggregateOperator::ProcessWatermark(int64_t watermark, Collector& out) {
  Flush(out);
  out.EmitWatermark(watermark);
}

void GroupAggregateOperator::OnProcessingTime(int64_t now_ms, Collector& out) {
  if (now_ms - last_flush_ms_ < kFlushIntervalMs) return;
  last_flush_ms_ = now_ms;
  Flush(out);
}

Status GroupAggregateOperator::Finish(Collector& out) {
  Flush(out);
  return failure();
}

// Values first: they move the distinct counts and extremes that the groups'
// results then show. Both in key order, so consecutive state reads land near
// each other (a third faster on RocksDB for q16 than hash order).
void GroupAggregateOperator::Flush(Collector& out) {
  if (!failure().ok() || groups_.empty()) return;
  for (auto* entry : SortedByKey(buffered_values_)) {
    if (entry->second.state == kDistinctState) ApplyDistinct(entry->first, entry->second);
    else ApplyExtremeValue(entry->first, entry->second);
    if (!failure().ok()) return;
  }
  for (auto* entry : SortedByKey(groups_)) {
    ApplyGroup(entry->first, entry->second, out);
    if (!failure().ok()) return;
  }
  buffered_values_.clear();
  groups_.clear();
}

void GroupAggregateOperator::ApplyDistinct(const std::string& key, BufferedValue& entry) {
  auto found = state_->Get(key, &value_);
  if (!Check(found.status())) return;
  const DistinctSet& set = distinct_sets_[entry.index];
  bool seen = false, changed = false, live = false;
  size_t offset = 0;
  stored_.clear();
  for (size_t m = 0; m < set.aggregates.size(); ++m) {
    const int64_t before = *found ? ReadRaw<int64_t>(value_, &offset) : 0;
    // Retracting a value never added changes nothing, as in Flink.
    const int64_t after = std::max<int64_t>(0, before + entry.counts[m]);
    if ((before > 0) != (after > 0)) {
      entry.group->delta[set.aggregates[m]].count += after > 0 ? 1 : -1;
      seen = seen || after > 0;
    }
    changed = changed || after != before;
    live = live || after > 0;
    AppendRaw(after, &stored_);
  }
  if (!live) {
    if (*found) Check(state_->Delete(key));
    return;
  }
  // Without retraction only whether a value was seen matters: it is written
  // once, not on every flush that sees it again.
  if (changelog_ ? changed : seen) Check(state_->Put(key, stored_));
}

void GroupAggregateOperator::ApplyExtremeValue(const std::string& key, BufferedValue& entry) {
  auto found = state_->Get(key, &value_);
  if (!Check(found.status())) return;
  size_t offset = 0;
  const int64_t before = *found ? ReadRaw<int64_t>(value_, &offset) : 0;
  const int64_t after = std::max<int64_t>(0, before + entry.counts[0]);
  BufferedGroup& group = *entry.group;
  const size_t a = entry.index;
  if (after == 0) {
    if (before > 0) group.flags[a] |= kRetracted;
    if (*found) Check(state_->Delete(key));
    return;
  }
  if (after != before) {
    value_.clear();
    AppendRaw(after, &value_);
    if (!Check(state_->Put(key, value_))) return;
  }
  if (entry.counts[0] <= 0) return;
  Accumulator x;
  std::string_view x_str;
  Decode(aggregates_[a], std::string_view(key).substr(entry.value_offset), x, x_str);
  std::string_view current = has_string_extremes_ ? group.strings[a] : std::string_view();
  if (!(group.flags[a] & kCandidate) || Better(aggregates_[a], x, x_str, group.delta[a], current)) {
    group.delta[a].i = x.i;
    group.delta[a].d = x.d;
    if (aggregates_[a].type == FieldType::kString) group.strings[a].assign(x_str);
    group.flags[a] |= kCandidate;
  }
}

void GroupAggregateOperator::Decode(const Aggregate& g, std::string_view bytes, Accumulator& x,
                                    std::string_view& x_str) {
  if (g.type == FieldType::kString) {
    x_str = bytes;
    return;
  }
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(bytes[i]);
  if (g.type == FieldType::kDouble) {
    u = (u >> 63) ? u & ~(uint64_t{1} << 63) : ~u;
    x.d = std::bit_cast<double>(u);
  } else {
    x.i = static_cast<int64_t>(u ^ (uint64_t{1} << 63));
  }
}

void GroupAggregateOperator::ApplyGroup(const std::string& key, BufferedGroup& group, Collector& out) {
  auto found = state_->Get(key, &stored_);
  if (!Check(found.status())) return;
  const size_t n = aggregates_.size();
  accumulators_.assign(n, Accumulator{});
  if (has_string_extremes_) strings_.assign(n, std::string());
  RowView previous;
  int64_t rows = group.rows;
  if (*found) {
    previous = RowView(reinterpret_cast<const uint8_t*>(stored_.data()));
    size_t offset = previous.size();
    rows += ReadRaw<int64_t>(stored_, &offset);
    for (size_t a = 0; a < n; ++a) {
      accumulators_[a] = ReadRaw<Accumulator>(stored_, &offset);
      if (aggregates_[a].extreme && aggregates_[a].type == FieldType::kString) {
        const uint32_t size = ReadRaw<uint32_t>(stored_, &offset);
        strings_[a].assign(stored_, offset, size);
        offset += size;
      }
    }
  }
  if (rows <= 0) {
    // The last live row retracted: the key's result goes. Retractions alone
    // for a key without a result change nothing, as Flink ignores them.
    if (*found) {
      EmitCopy("-D", previous, out);
      if (!Check(state_->Delete(key))) return;
    }
    DropValues(key);
    return;
  }
  for (size_t a = 0; a < n; ++a) {
    const Aggregate& g = aggregates_[a];
    Accumulator& acc = accumulators_[a];
    const Accumulator& d = group.delta[a];
    const int64_t before = acc.count;
    acc.count += d.count;
    if (!g.extreme) {
      acc.i += d.i;
      acc.d += d.d;
      continue;
    }
    std::string* str = g.type == FieldType::kString ? &strings_[a] : nullptr;
    std::string_view d_str = str ? std::string_view(group.strings[a]) : std::string_view();
    if (acc.count <= 0) {
      acc = Accumulator{};
      if (str) str->clear();
      continue;
    }
    bool take;
    if (!changelog_) {
      take = d.count > 0 && (before <= 0 || Better(g, d, d_str, acc, str ? *str : std::string_view()));
    } else {
      if (before > 0 && (group.flags[a] & kRetracted) && !ExtremeStillThere(key, a)) {
        Rescan(key, a);
        continue;
      }
      take = (group.flags[a] & kCandidate) &&
             (before <= 0 || Better(g, d, d_str, acc, str ? *str : std::string_view()));
    }
    if (take) {
      acc.i = d.i;
      acc.d = d.d;
      if (str) str->assign(d_str);
    }
  }
  RowView row = BuildOutput(*found ? "+U" : "+I", group.key_row);
  if (!*found) {
    out.Collect(row);
  } else if (!SameResult(row, previous)) {
    EmitCopy("-U", previous, out);
    out.Collect(row);
  }
  value_.assign(reinterpret_cast<const char*>(row.data()), row.size());
  AppendRaw(rows, &value_);
  for (size_t a = 0; a < n; ++a) {
    AppendRaw(accumulators_[a], &value_);
    if (aggregates_[a].extreme && aggregates_[a].type == FieldType::kString) {
      AppendRaw(static_cast<uint32_t>(strings_[a].size()), &value_);
      value_.append(strings_[a]);
    }
  }
  Check(state_->Put(key, value_));
}

// value_key_ = [kg][3][key][a]: the prefix of aggregate a's values of the
// key whose result is at `result_key`.
void GroupAggregateOperator::ExtremePrefix(std::string_view result_key, size_t a) {
  const uint8_t index = static_cast<uint8_t>(a);
  value_key_.Reset(StateKey::KeyGroupOf(result_key), kExtremeState)
      .AddBytes(result_key.substr(kPrefixBytes))
      .AddBytes(std::string_view(reinterpret_cast<const char*>(&index), 1));
}

bool GroupAggregateOperator::ExtremeStillThere(std::string_view result_key, size_t a) {
  ExtremePrefix(result_key, a);
  ordered_.clear();
  const Accumulator& acc = accumulators_[a];
  AppendOrdered(aggregates_[a].type, acc.i, acc.d, has_string_extremes_ ? strings_[a] : std::string_view(), &ordered_);
  value_key_.AddBytes(ordered_);
  auto found = state_->Get(value_key_, &value_);
  if (!Check(found.status())) return true;
  return *found;
}

// The aggregate's extreme retracted: the next one is the first value in
// state for a min, the last for a max (a scan, as Flink's MinWithRetract
// and MaxWithRetract walk their maps when the extreme goes).
void GroupAggregateOperator::Rescan(std::string_view result_key, size_t a) {
  const Aggregate& g = aggregates_[a];
  ExtremePrefix(result_key, a);
  const size_t prefix = value_key_.size();
  std::string last;
  auto it = state_->Scan(value_key_);
  for (; it->Valid(); it->Next()) {
    last.assign(it->key());
    if (g.spec.function == AggregateFunction::kMin) break;
  }
  if (!Check(it->status())) return;
  Accumulator& acc = accumulators_[a];
  if (last.empty()) {  // nothing left (retractions of values never added)
    acc = Accumulator{};
    if (g.type == FieldType::kString) strings_[a].clear();
    return;
  }
  std::string_view x_str;
  Accumulator x;
  Decode(g, std::string_view(last).substr(prefix), x, x_str);
  acc.i = x.i;
  acc.d = x.d;
  if (g.type == FieldType::kString) strings_[a].assign(x_str);
}

// Deletes the key's distinct and min/max values, once its result is gone.
void GroupAggregateOperator::DropValues(std::string_view result_key) {
  std::vector<std::string> keys;
  for (uint8_t state : {kDistinctState, kExtremeState}) {
    if (state == kDistinctState ? distinct_sets_.empty() : !has_changelog_extremes_) continue;
    value_key_.Reset(StateKey::KeyGroupOf(result_key), state).AddBytes(result_key.substr(kPrefixBytes));
    auto it = state_->Scan(value_key_);
    for (; it->Valid(); it->Next()) keys.emplace_back(it->key());
    if (!Check(it->status())) return;
  }
  for (const auto& k : keys) {
    if (!Check(state_->Delete(k))) return;
  }
}

RowView GroupAggregateOperator::BuildOutput(const char* kind, std::string_view key_row) {
  RowBuilder& b = *out_builder_;
  b.Reset();
  b.SetString(0, kind);
  CopyFields(RowView(reinterpret_cast<const uint8_t*>(key_row.data())), key_positions_, key_schema_, 1, b);
  const size_t first = 1 + key_positions_.size();
  for (size_t a = 0; a < aggregates_.size(); ++a) {
    const Aggregate& g = aggregates_[a];
    const Accumulator& acc = accumulators_[a];
    const size_t f = first + a;
    if (g.spec.function == AggregateFunction::kCount) {
      b.SetInt64(f, acc.count);
    } else if (acc.count <= 0) {
      b.SetNull(f);
    } else if (g.spec.function == AggregateFunction::kAvg && g.spec.output.type == FieldType::kInt64) {
      b.SetInt64(f, acc.i / acc.count);  // truncated toward zero, as Java's long division
    } else if (g.spec.function == AggregateFunction::kAvg) {
      double sum = g.type == FieldType::kDouble    ? acc.d
                   : g.type == FieldType::kDecimal ? expr::DecimalToDouble(acc.i, g.scale)
                                                   : static_cast<double>(acc.i);
      b.SetDouble(f, sum / static_cast<double>(acc.count));
    } else if (g.type == FieldType::kString) {
      b.SetString(f, strings_[a]);
    } else if (g.type == FieldType::kDouble) {
      b.SetDouble(f, acc.d);
    } else {
      b.SetInt64(f, acc.i);  // INT64, DECIMAL (unscaled), TIMESTAMP
    }
  }
  return b.Finish();
}

bool GroupAggregateOperator::SameResult(const RowView& a, const RowView& b) const {
  for (size_t f = 1; f < out_schema_.size(); ++f) {
    if (a.IsNull(f) != b.IsNull(f)) return false;
    if (a.IsNull(f)) continue;
    if (out_schema_.field(f).type == FieldType::kString ? a.GetString(f) != b.GetString(f)
                                                         : a.GetInt64(f) != b.GetInt64(f)) {
      return false;
    }
  }
  return true;
}

void GroupAggregateOperator::EmitCopy(const char* kind, const RowView& row, Collector& out) {
  RowBuilder& b = *copy_builder_;
  b.Reset();
  b.SetString(0, kind);
  CopyFields(row, copy_positions_, out_schema_, 1, b);
  out.Collect(b.Finish());
}

}  // namespace sluice
