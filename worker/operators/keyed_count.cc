#include "worker/operators/keyed_count.h"


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
  // The key's bytes: a null flag, then the 8-byte value or the string bytes
  // with their length, so distinct keys never collide.
  key_.clear();
  for (size_t f : key_fields_) {
    if (row.IsNull(f)) {
      key_.push_back('\0');
      continue;
    }
    key_.push_back('\1');
    if (input_.field(f).type == FieldType::kString) {
      std::string_view s = row.GetString(f);
      uint32_t n = static_cast<uint32_t>(s.size());
      key_.append(reinterpret_cast<const char*>(&n), sizeof(n));
      key_.append(s);
    } else {
      int64_t v = row.GetInt64(f);
      key_.append(reinterpret_cast<const char*>(&v), sizeof(v));
    }
  }
  auto [it, inserted] = counts_.try_emplace(key_);
  if (inserted) it->second.first_row = CopyRow(row);
  ++it->second.count;
}

Status KeyedCountOperator::Finish(Collector& out) {
  RowBuilder builder(key_fields_.size() + 1);
  for (const auto& [key, entry] : counts_) {
    RowView row(entry.first_row.data());
    builder.Reset();
    for (size_t i = 0; i < key_fields_.size(); ++i) {
      size_t f = key_fields_[i];
      if (row.IsNull(f)) continue;
      switch (input_.field(f).type) {
        case FieldType::kString: builder.SetString(i, row.GetString(f)); break;
        case FieldType::kDouble: builder.SetDouble(i, row.GetDouble(f)); break;
        case FieldType::kBool: builder.SetBool(i, row.GetBool(f)); break;
        default: builder.SetInt64(i, row.GetInt64(f)); break;
      }
    }
    builder.SetInt64(key_fields_.size(), entry.count);
    out.Collect(builder.Finish());
  }
  counts_.clear();
  return Status::Ok();
}

}  // namespace sluice
