#include "common/records/schema.h"

#include <cctype>
#include <charconv>

namespace sluice {
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string ToUpperAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Parses "(a)" or "(a, b)" into up to two non-negative integers. Returns the
// number of integers read, or -1 on malformed input.
int ParseTypeParams(std::string_view s, int64_t out[2]) {
  s = TrimSpaces(s);
  if (s.size() < 2 || s.front() != '(' || s.back() != ')') return -1;
  s = s.substr(1, s.size() - 2);
  int count = 0;
  while (true) {
    if (count == 2) return -1;
    size_t comma = s.find(',');
    std::string_view part = TrimSpaces(s.substr(0, comma));
    if (part.empty()) return -1;
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), out[count]);
    if (ec != std::errc() || ptr != part.data() + part.size() || out[count] < 0) return -1;
    ++count;
    if (comma == std::string_view::npos) return count;
    s = s.substr(comma + 1);
  }
}

bool IsPlainIdentifier(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kBool: return "BOOL";
    case FieldType::kInt64: return "INT64";
    case FieldType::kDouble: return "DOUBLE";
    case FieldType::kDecimal: return "DECIMAL";
    case FieldType::kString: return "STRING";
    case FieldType::kTimestamp: return "TIMESTAMP";
  }
  return "UNKNOWN";
}

Result<FieldType> ParseFieldType(std::string_view text, int32_t* scale) {
  std::string_view trimmed = TrimSpaces(text);
  size_t paren = trimmed.find('(');
  std::string base = ToUpperAscii(TrimSpaces(trimmed.substr(0, paren)));
  std::string_view params =
      paren == std::string_view::npos ? std::string_view() : trimmed.substr(paren);
  auto error = [&](std::string why) {
    return Status::InvalidArgument("bad type '" + std::string(trimmed) + "': " + why);
  };
  int64_t p[2] = {0, 0};
  int nparams = 0;
  if (!params.empty()) {
    nparams = ParseTypeParams(params, p);
    if (nparams < 0) return error("malformed parameters");
  }

  if (base == "DECIMAL" || base == "NUMERIC" || base == "DEC") {
    // DECIMAL(p) means scale 0, as in SQL. The unscaled value is an int64,
    // so the scale is capped at 18; a larger declared precision is accepted
    // (Flink users write DECIMAL(38, 2)) but values must still fit 64 bits.
    int64_t s = nparams == 2 ? p[1] : 0;
    if (nparams >= 1 && (p[0] < 1 || p[0] > 38)) return error("precision must be 1..38");
    if (nparams == 2 && s > p[0]) return error("scale exceeds precision");
    if (s > 18) return error("scale must be at most 18");
    if (scale != nullptr) *scale = static_cast<int32_t>(s);
    return FieldType::kDecimal;
  }
  if (base == "VARCHAR" || base == "CHAR") {
    if (nparams > 1) return error("expected one length parameter");
    return FieldType::kString;
  }
  if (base == "TIMESTAMP") {
    // Rows store milliseconds, so only precision 3 is representable.
    if (nparams > 1 || (nparams == 1 && p[0] != 3)) return error("only TIMESTAMP(3) is supported");
    return FieldType::kTimestamp;
  }
  if (nparams != 0) return error("type takes no parameters");
  if (base == "BOOL" || base == "BOOLEAN") return FieldType::kBool;
  if (base == "INT64" || base == "BIGINT" || base == "INT" || base == "INTEGER") {
    return FieldType::kInt64;
  }
  if (base == "DOUBLE" || base == "FLOAT") return FieldType::kDouble;
  if (base == "STRING" || base == "TEXT") return FieldType::kString;
  return Status::InvalidArgument(
      "unknown type '" + std::string(trimmed) +
      "' (types: BOOL, INT64, DOUBLE, DECIMAL(p,s), STRING, TIMESTAMP)");
}

std::optional<size_t> Schema::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return i;
  }
  return std::nullopt;
}

std::string Schema::ToString() const {
  std::string out = "(";
  for (size_t i = 0; i < fields_.size(); ++i) {
    const Field& f = fields_[i];
    if (i > 0) out += ", ";
    if (IsPlainIdentifier(f.name)) {
      out += f.name;
    } else {
      out += '`';
      for (char c : f.name) {
        out += c;
        if (c == '`') out += '`';
      }
      out += '`';
    }
    out += ' ';
    out += FieldTypeName(f.type);
    if (f.type == FieldType::kDecimal) out += "(" + std::to_string(f.scale) + ")";
    if (!f.nullable) out += " NOT NULL";
  }
  out += ")";
  return out;
}

}  // namespace sluice
