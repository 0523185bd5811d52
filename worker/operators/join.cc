#include "worker/operators/join.h"

#include "worker/operators/key_encoding.h"

namespace sluice {
namespace {

constexpr uint8_t kRowState[2] = {1, 2};
constexpr uint8_t kExpiryState = 3;
constexpr size_t kPrefixBytes = 3;

}  // namespace

Result<std::unique_ptr<Operator>> JoinOperator::Create(const OperatorSetup& setup) {
  std::unique_ptr<JoinOperator> op(new JoinOperator());
  SLUICE_ASSIGN_OR_RETURN(op->spec_,
                          BindSpec(setup, ParseJoin(setup.type, setup.options, setup.input, setup.second_input)));
  const std::string* expires[2] = {&op->spec_.left_expires, &op->spec_.right_expires};
  const std::vector<size_t>* keys[2] = {&op->spec_.left_keys, &op->spec_.right_keys};
  const Schema* schemas[2] = {&setup.input, &setup.second_input};
  for (int s = 0; s < 2; ++s) {
    Side& side = op->sides_[s];
    side.schema = *schemas[s];
    // A window join's keys end with window_start, which is not hashed.
    const size_t hashed = keys[s]->size() - (op->spec_.window ? 1 : 0);
    side.key = KeyContext(*keys[s], side.schema, setup.max_parallelism, hashed);
    if (!expires[s]->empty()) {
      SLUICE_ASSIGN_OR_RETURN(side.expires, CompileExpression(*expires[s], side.schema));
    }
  }
  if (!op->spec_.where.empty()) {
    SLUICE_ASSIGN_OR_RETURN(op->where_, CompileExpression(op->spec_.where, op->spec_.output));
  }
  for (size_t i = 0; i < setup.input.size(); ++i) op->left_fields_.push_back(i);
  for (size_t i = 0; i < setup.second_input.size(); ++i) op->right_fields_.push_back(i);
  op->out_builder_ = std::make_unique<RowBuilder>(op->spec_.output.size());
  op->touched_.assign(static_cast<size_t>(setup.max_parallelism), false);
  op->next_seq_ = setup.attempt << 40;
  SLUICE_ASSIGN_OR_RETURN(op->state_, OpenOperatorState(setup));
  return std::unique_ptr<Operator>(std::move(op));
}

bool JoinOperator::Check(const Status& s) {
  if (s.ok()) return true;
  Fail(s);
  return false;
}

void JoinOperator::ProcessSide(int s, const RowView& row, Collector& out) {
  if (!failure().ok()) return;
  Side& side = sides_[s];
  for (size_t f : side.key.fields()) {
    if (row.IsNull(f)) return;  // NULL equals nothing
  }
  side.key.SetKey(row);
  const int kg = side.key.key_group();
  touched_[kg] = true;
  // A row that has expired can still meet the rows stored now, but no
  // later one: it is matched and not kept.
  int64_t expiry = INT64_MAX;
  if (side.expires) {
    ctx_.Reset();
    Value v = side.expires->Evaluate(row, ctx_);
    expiry = v.is_null ? INT64_MIN : v.i;
  }
  if (expiry >= watermark_) {
    const int64_t seq = next_seq_++;
    state_key_.Reset(kg, kRowState[s]).AddBytes(side.key.key()).AddInt64(seq);
    if (!Check(state_->Put(state_key_, std::string_view(reinterpret_cast<const char*>(row.data()), row.size())))) {
      return;
    }
    if (side.expires) {
      timer_key_.Reset(kg, kExpiryState).AddInt64(expiry);
      timer_key_.AddBytes(std::string_view(s == 0 ? "L" : "R", 1)).AddBytes(side.key.key()).AddInt64(seq);
      if (!Check(state_->Put(timer_key_, ""))) return;
      next_expiry_ = std::min(next_expiry_, expiry);
    }
  }
  const int other = 1 - s;
  state_key_.Reset(kg, kRowState[other]).AddBytes(side.key.key());
  auto it = state_->Scan(state_key_);
  for (; it->Valid(); it->Next()) {
    RowView match(reinterpret_cast<const uint8_t*>(it->value().data()));
    if (s == 0) {
      Emit(row, match, out);
    } else {
      Emit(match, row, out);
    }
  }
  Check(it->status());
}

void JoinOperator::Emit(const RowView& left, const RowView& right, Collector& out) {
  RowBuilder& b = *out_builder_;
  b.Reset();
  CopyFields(left, left_fields_, sides_[0].schema, 0, b);
  CopyFields(right, right_fields_, sides_[1].schema, left_fields_.size(), b);
  RowView joined = b.Finish();
  if (where_) {
    ctx_.Reset();
    Value keep = where_->Evaluate(joined, ctx_);
    if (keep.is_null || !keep.b) return;
  }
  out.Collect(joined);
}

void JoinOperator::ProcessWatermark(int64_t watermark, Collector& out) {
  watermark_ = std::max(watermark_, watermark);
  // A row expiring at t can match rows of event time up to t; once the
  // watermark is past t no such row can come.
  // At the end of input (INT64_MAX) nothing is left to match and the state
  // goes with the task: deleting it row by row would only cost time.
  if (failure().ok() && watermark != INT64_MAX && next_expiry_ != INT64_MAX && next_expiry_ < watermark_) {
    // Expiry timers [kg][3][expiry][side][key][seq] name the row at
    // [kg][1|2][key][seq]: the row goes with its timer.
    auto next = TakeDue(*state_, touched_, kExpiryState, watermark_ - 1,
                        [&](int kg, std::string_view timer, std::string_view, int64_t) {
                          std::string_view rest = timer.substr(kPrefixBytes + 8);
                          int s = rest[0] == 'L' ? 0 : 1;
                          return state_->Delete(state_key_.Reset(kg, kRowState[s]).AddBytes(rest.substr(1)));
                        });
    if (Check(next.status())) next_expiry_ = *next;
  }
  out.EmitWatermark(watermark);
}

}  // namespace sluice
