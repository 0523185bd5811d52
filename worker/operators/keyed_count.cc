#include "worker/operators/keyed_count.h"

#include "worker/operators/key_encoding.h"

namespace sluice {
namespace {

constexpr uint8_t kCountState = 1;
constexpr size_t kMaxBufferedKeys = 32768;

}  // namespace

Result<std::unique_ptr<Operator>> KeyedCountOperator::Create(const OperatorSetup& setup) {
  SLUICE_ASSIGN_OR_RETURN(KeyedCountSpec spec, BindSpec(setup, ParseKeyedCount(setup.options, setup.input)));
  std::unique_ptr<KeyedCountOperator> op(new KeyedCountOperator());
  op->key_builder_ = std::make_unique<RowBuilder>(spec.key.size());
  op->key_ = KeyContext(std::move(spec.key), setup.input, setup.max_parallelism);
  op->input_ = setup.input;
  op->touched_.assign(static_cast<size_t>(setup.max_parallelism), false);
  SLUICE_ASSIGN_OR_RETURN(op->state_, OpenOperatorState(setup));
  return std::unique_ptr<Operator>(std::move(op));
}

void KeyedCountOperator::Process(const RowView& row, Collector&) {
  key_.SetKey(row);
  touched_[key_.key_group()] = true;
  state_key_.Reset(key_.key_group(), kCountState).AddBytes(key_.key());
  auto [it, fresh] = buffer_.try_emplace(state_key_.bytes());
  if (fresh) {
    key_builder_->Reset();
    CopyFields(row, key_.fields(), input_, 0, *key_builder_);
    RowView key_row = key_builder_->Finish();
    it->second.key_row.assign(reinterpret_cast<const char*>(key_row.data()), key_row.size());
  }
  ++it->second.count;
  if (buffer_.size() >= kMaxBufferedKeys) {
    Status s = FlushBuffer();
    if (!s.ok()) Fail(s);
  }
}

Status KeyedCountOperator::FlushBuffer() {
  for (auto& [key, entry] : buffer_) {
    SLUICE_ASSIGN_OR_RETURN(bool found, state_->Get(key, &value_));
    int64_t count = entry.count;
    if (found) {
      size_t offset = RowView(reinterpret_cast<const uint8_t*>(value_.data())).size();
      count += ReadRaw<int64_t>(value_, &offset);
    }
    value_ = entry.key_row;
    AppendRaw(count, &value_);
    SLUICE_RETURN_IF_ERROR(state_->Put(key, value_));
  }
  buffer_.clear();
  return Status::Ok();
}

Status KeyedCountOperator::Finish(Collector& out) {
  SLUICE_RETURN_IF_ERROR(FlushBuffer());
  const size_t k = key_.fields().size();
  std::vector<size_t> positions(k);
  Schema key_schema;
  for (size_t i = 0; i < k; ++i) {
    positions[i] = i;
    key_schema.Add(input_.field(key_.fields()[i]));
  }
  RowBuilder builder(k + 1);
  for (int kg = 0; kg < static_cast<int>(touched_.size()); ++kg) {
    if (!touched_[kg]) continue;
    std::vector<std::string> emitted;
    auto it = state_->Scan(state_key_.Reset(kg, kCountState));
    for (; it->Valid(); it->Next()) {
      std::string_view value = it->value();
      RowView key_row(reinterpret_cast<const uint8_t*>(value.data()));
      size_t offset = key_row.size();
      builder.Reset();
      CopyFields(key_row, positions, key_schema, 0, builder);
      builder.SetInt64(k, ReadRaw<int64_t>(value, &offset));
      out.Collect(builder.Finish());
      emitted.emplace_back(it->key());
    }
    SLUICE_RETURN_IF_ERROR(it->status());
    for (const auto& key : emitted) SLUICE_RETURN_IF_ERROR(state_->Delete(key));
  }
  return Status::Ok();
}

}  // namespace sluice

namespace sluice {

Status KeyedCountOperator::PrepareSnapshot(int64_t, Collector&) { return FlushBuffer(); }

void KeyedCountOperator::AfterRestore() { touched_.assign(touched_.size(), true); }

}  // namespace sluice
