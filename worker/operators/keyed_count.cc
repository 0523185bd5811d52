#include "worker/operators/keyed_count.h"

#include "worker/operators/key_encoding.h"


namespace sluice {

Result<std::unique_ptr<Operator>> KeyedCountOperator::Create(const OperatorSetup& setup) {
  std::vector<size_t> keys;
  for (const auto& name : setup.options.GetList("key")) {
    auto index = setup.input.IndexOf(name);
    if (!index) return Status::InvalidArgument("operator '" + setup.id + "': key field '" + name + "' is not in the input");
    keys.push_back(*index);
  }
  return std::unique_ptr<Operator>(new KeyedCountOperator(std::move(keys), setup.input));
}

KeyedCountOperator::KeyedCountOperator(std::vector<size_t> key_fields, Schema input)
    : key_fields_(std::move(key_fields)), input_(std::move(input)) {}

void KeyedCountOperator::Process(const RowView& row, Collector&) {
  EncodeKey(row, key_fields_, input_, &key_);
  auto [it, inserted] = counts_.try_emplace(key_);
  if (inserted) it->second.first_row = CopyRow(row);
  ++it->second.count;
}

Status KeyedCountOperator::Finish(Collector& out) {
  RowBuilder builder(key_fields_.size() + 1);
  for (const auto& [key, entry] : counts_) {
    RowView row(entry.first_row.data());
    builder.Reset();
    CopyFields(row, key_fields_, input_, 0, builder);
    builder.SetInt64(key_fields_.size(), entry.count);
    out.Collect(builder.Finish());
  }
  counts_.clear();
  return Status::Ok();
}

}  // namespace sluice
