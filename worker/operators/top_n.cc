#include "worker/operators/top_n.h"

#include "worker/operators/key_encoding.h"

namespace sluice {
namespace {

constexpr uint8_t kRankState = 1;

void SplitRows(std::string_view bytes, std::vector<RowView>* rows) {
  rows->clear();
  for (size_t offset = 0; offset < bytes.size();) {
    RowView row(reinterpret_cast<const uint8_t*>(bytes.data() + offset));
    rows->push_back(row);
    offset += row.size();
  }
}

}  // namespace

Result<std::unique_ptr<Operator>> TopNOperator::Create(const OperatorSetup& setup) {
  std::unique_ptr<TopNOperator> op(new TopNOperator());
  SLUICE_ASSIGN_OR_RETURN(op->spec_, BindSpec(setup, ParseTopN(setup.options, setup.input)));
  op->input_ = setup.input;
  op->key_ = KeyContext(op->spec_.partition_by, setup.input, setup.max_parallelism);
  for (size_t i = 0; i < setup.input.size(); ++i) op->all_fields_.push_back(i);
  op->out_builder_ = std::make_unique<RowBuilder>(op->spec_.output.size());
  SLUICE_ASSIGN_OR_RETURN(op->state_, OpenOperatorState(setup));
  return std::unique_ptr<Operator>(std::move(op));
}

int TopNOperator::Compare(const RowView& a, const RowView& b) const {
  for (const auto& order : spec_.order_by) {
    const size_t f = order.field;
    int c;
    const bool na = a.IsNull(f), nb = b.IsNull(f);
    if (na || nb) {
      c = (na == nb) ? 0 : (na ? -1 : 1);  // NULL is the smallest value
    } else {
      switch (input_.field(f).type) {
        case FieldType::kString: {
          int s = a.GetString(f).compare(b.GetString(f));
          c = (s > 0) - (s < 0);
          break;
        }
        case FieldType::kDouble: {
          double x = a.GetDouble(f), y = b.GetDouble(f);
          c = (x > y) - (x < y);
          break;
        }
        default: {
          int64_t x = a.GetInt64(f), y = b.GetInt64(f);
          c = (x > y) - (x < y);
          break;
        }
      }
    }
    if (c != 0) return order.descending ? -c : c;
  }
  return 0;
}

void TopNOperator::Emit(const char* op, const RowView& row, int64_t rank, Collector& out) {
  RowBuilder& b = *out_builder_;
  b.Reset();
  b.SetString(0, op);
  CopyFields(row, all_fields_, input_, 1, b);
  if (!spec_.rank_field.empty()) b.SetInt64(1 + all_fields_.size(), rank);
  out.Collect(b.Finish());
}

void TopNOperator::Process(const RowView& row, Collector& out) {
  if (!failure().ok()) return;
  key_.SetKey(row);
  state_key_.Reset(key_.key_group(), kRankState).AddBytes(key_.key());
  auto found = state_->Get(state_key_, &value_);
  if (!found.ok()) {
    Fail(found.status());
    return;
  }
  if (!*found) value_.clear();
  SplitRows(value_, &old_rows_);
  // Equal sort keys keep arrival order: the new row goes after them.
  size_t pos = 0;
  while (pos < old_rows_.size() && Compare(old_rows_[pos], row) <= 0) ++pos;
  const size_t n = static_cast<size_t>(spec_.n);
  if (pos >= n) return;  // not among the first n

  new_rows_.assign(old_rows_.begin(), old_rows_.begin() + pos);
  new_rows_.push_back(row);
  for (size_t i = pos; i < old_rows_.size() && new_rows_.size() < n; ++i) new_rows_.push_back(old_rows_[i]);
  const bool evicts = old_rows_.size() == n;  // the last old row falls out

  if (!spec_.rank_field.empty()) {
    for (size_t i = pos; i < new_rows_.size(); ++i) {
      if (i < old_rows_.size()) {
        Emit("-U", old_rows_[i], static_cast<int64_t>(i + 1), out);
        Emit("+U", new_rows_[i], static_cast<int64_t>(i + 1), out);
      } else {
        Emit("+I", new_rows_[i], static_cast<int64_t>(i + 1), out);
      }
    }
  } else if (n == 1 && !old_rows_.empty()) {
    Emit("-U", old_rows_[0], 0, out);
    Emit("+U", row, 0, out);
  } else {
    if (evicts) Emit("-D", old_rows_.back(), 0, out);
    Emit("+I", row, 0, out);
  }

  new_value_.clear();
  for (const RowView& r : new_rows_) new_value_.append(reinterpret_cast<const char*>(r.data()), r.size());
  Status s = state_->Put(state_key_, new_value_);
  if (!s.ok()) Fail(s);
}

}  // namespace sluice
