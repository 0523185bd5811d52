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

struct CsvField {
  std::string_view text;  // without quotes
  bool quoted = false;
};

// The field of `line` from `*pos` on, unquoted into `*unquoted` if quoted;
// leaves *pos after its delimiter, or at npos after the last field.
Status NextField(std::string_view line, const CsvFormat& format, size_t* pos, std::string* unquoted, CsvField* field) {
  const size_t start = *pos;
  if (format.quote == '\0' || start >= line.size() || line[start] != format.quote) {
    size_t end = line.find(format.delimiter, start);
    field->text = line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    field->quoted = false;
    *pos = end == std::string_view::npos ? std::string_view::npos : end + 1;
    return Status::Ok();
  }
  unquoted->clear();
  size_t i = start + 1;
  while (true) {
    size_t q = line.find(format.quote, i);
    if (q == std::string_view::npos) {
      return Status::InvalidArgument("the quote opened at character " + std::to_string(start + 1) +
                                     " is not closed on this line");
    }
    unquoted->append(line.substr(i, q - i));
    if (q + 1 < line.size() && line[q + 1] == format.quote) {  // a doubled quote is one of the text
      unquoted->push_back(format.quote);
      i = q + 2;
      continue;
    }
    i = q + 1;
    break;
  }
  if (i < line.size() && line[i] != format.delimiter) {
    return Status::InvalidArgument("text after the quoted field ending at character " + std::to_string(i));
  }
  field->text = *unquoted;
  field->quoted = true;
  *pos = i < line.size() ? i + 1 : std::string_view::npos;
  return Status::Ok();
}

}  // namespace

Status ParseCsvRow(std::string_view line, const Schema& schema, RowBuilder& builder, const CsvFormat& format) {
  // Quoted fields are copied out without their quotes, one buffer each (kept
  // per thread: this runs per line), so their views stay valid until the row
  // is built; fields beyond the schema's are only counted.
  thread_local std::vector<std::string> unquoted;
  thread_local std::vector<CsvField> values;
  thread_local std::string scratch;
  unquoted.resize(schema.size());
  values.clear();
  size_t pos = 0;
  while (pos != std::string_view::npos) {
    CsvField field;
    std::string* buffer = values.size() < unquoted.size() ? &unquoted[values.size()] : &scratch;
    Status s = NextField(line, format, &pos, buffer, &field);
    if (!s.ok()) return s.WithPrefix("field " + std::to_string(values.size() + 1));
    values.push_back(field);
  }
  if (values.size() != schema.size()) {
    return Status::InvalidArgument(std::to_string(values.size()) + " fields, expected " +
                                   std::to_string(schema.size()) + " (" + schema.ToString() + ")");
  }
  builder.Reset();
  for (size_t f = 0; f < schema.size(); ++f) {
    const Field& field = schema.field(f);
    std::string_view v = values[f].text;
    const bool null_literal = !values[f].quoted && format.null_literal && v == *format.null_literal;
    if (null_literal || (v.empty() && field.type != FieldType::kString)) {
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
