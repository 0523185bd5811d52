#include "worker/operators/csv_row.h"

#include <vector>

#include "common/expr/values.h"

namespace sluice {
namespace {

// As job files write types.
const char* SqlTypeName(FieldType type) {
  switch (type) {
    case FieldType::kBool: return "BOOLEAN";
    case FieldType::kInt64: return "BIGINT";
    case FieldType::kDouble: return "DOUBLE";
    case FieldType::kDecimal: return "DECIMAL";
    case FieldType::kString: return "STRING";
    case FieldType::kTimestamp: return "TIMESTAMP";
  }
  return "?";
}

}  // namespace

Status ParseCsvRow(std::string_view line, const Schema& schema, RowBuilder& builder) {
  std::vector<std::string_view> values;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    values.push_back(line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (values.size() != schema.size()) {
    return Status::InvalidArgument(std::to_string(values.size()) + " fields, expected " +
                                   std::to_string(schema.size()) + " (" + schema.ToString() + ")");
  }
  builder.Reset();
  for (size_t f = 0; f < schema.size(); ++f) {
    const Field& field = schema.field(f);
    std::string_view v = values[f];
    if (v.empty() && field.type != FieldType::kString) {
      builder.SetNull(f);
      continue;
    }
    bool ok = true;
    switch (field.type) {
      case FieldType::kString:
        builder.SetString(f, v);
        break;
      case FieldType::kInt64: {
        int64_t x = 0;
        ok = expr::ParseInt64Text(v, &x);
        builder.SetInt64(f, x);
        break;
      }
      case FieldType::kDouble: {
        double x = 0;
        ok = expr::ParseDoubleText(v, &x);
        builder.SetDouble(f, x);
        break;
      }
      case FieldType::kDecimal: {
        int64_t x = 0;
        ok = expr::ParseDecimalText(v, field.scale, &x);
        builder.SetDecimalUnscaled(f, x);
        break;
      }
      case FieldType::kBool: {
        bool x = false;
        ok = expr::ParseBoolText(v, &x);
        builder.SetBool(f, x);
        break;
      }
      case FieldType::kTimestamp: {
        int64_t x = 0;
        ok = expr::ParseTimestampText(v, &x);
        builder.SetTimestampMillis(f, x);
        break;
      }
    }
    if (!ok) {
      return Status::InvalidArgument("column '" + field.name + "': '" + std::string(v) + "' is not a " + SqlTypeName(field.type));
    }
  }
  return Status::Ok();
}

}  // namespace sluice
