#include "worker/operators/lookup_join.h"

#include <cerrno>
#include <cstdlib>
#include <fstream>

#include "worker/operators/csv_row.h"
#include "worker/operators/key_encoding.h"

namespace sluice {

Result<std::unique_ptr<Operator>> LookupJoinOperator::Create(const OperatorSetup& setup) {
  std::unique_ptr<LookupJoinOperator> op(new LookupJoinOperator());
  SLUICE_ASSIGN_OR_RETURN(op->spec_, BindSpec(setup, ParseLookupJoin(setup.options, setup.input)));
  op->input_ = setup.input;
  SLUICE_ASSIGN_OR_RETURN(op->key_, CompileExpression(op->spec_.key, setup.input));
  for (size_t i = 0; i < setup.input.size(); ++i) op->input_fields_.push_back(i);
  for (size_t i = 0; i < op->spec_.side.size(); ++i) op->side_fields_.push_back(i);
  op->out_builder_ = std::make_unique<RowBuilder>(op->spec_.output.size());
  Status loaded = op->Load();
  if (!loaded.ok()) return loaded.WithPrefix("operator '" + setup.id + "'");
  return std::unique_ptr<Operator>(std::move(op));
}

Status LookupJoinOperator::Load() {
  std::ifstream in(spec_.path);
  if (!in) return Status::NotFound("cannot read the side input '" + spec_.path + "'");
  const Schema& side = spec_.side;
  RowBuilder builder(side.size());
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::string where = spec_.path + ":" + std::to_string(number);
    Status parsed = ParseCsvRow(line, side, builder);
    if (!parsed.ok()) return parsed.WithPrefix(where);
    RowView row = builder.Finish();
    const size_t k = spec_.lookup_key;
    if (row.IsNull(k)) continue;  // a NULL key matches nothing
    if (side.field(k).type == FieldType::kString) {
      by_string_.emplace(std::string(row.GetString(k)), CopyRow(row));
    } else {
      by_int_.emplace(row.GetInt64(k), CopyRow(row));
    }
    ++side_rows_;
  }
  if (in.bad()) return Status::IoError("reading the side input '" + spec_.path + "' failed");
  return Status::Ok();
}

void LookupJoinOperator::Process(const RowView& row, Collector& out) {
  ctx_.Reset();
  Value key = key_->Evaluate(row, ctx_);
  if (key.is_null) return;
  auto emit = [&](const std::vector<uint8_t>& side_row) {
    RowBuilder& b = *out_builder_;
    b.Reset();
    CopyFields(row, input_fields_, input_, 0, b);
    CopyFields(RowView(side_row.data()), side_fields_, spec_.side, input_fields_.size(), b);
    out.Collect(b.Finish());
  };
  if (key.type == FieldType::kString) {
    string_key_.assign(key.str);
    auto [begin, end] = by_string_.equal_range(string_key_);
    for (auto it = begin; it != end; ++it) emit(it->second);
  } else {
    auto [begin, end] = by_int_.equal_range(key.i);
    for (auto it = begin; it != end; ++it) emit(it->second);
  }
}

}  // namespace sluice
