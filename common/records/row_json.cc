#include "common/records/row_json.h"

#include <chrono>
#include <charconv>
#include <cmath>

namespace sluice {
namespace {

void AppendPadded(int64_t value, int width, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  (void)ec;
  for (int pad = width - static_cast<int>(end - buf); pad > 0; --pad) out->push_back('0');
  out->append(buf, end);
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;  // UTF-8 passes through
    out->append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(s.data() + run_start, s.size() - run_start);
  out->push_back('"');
}

}  // namespace

void AppendTimestamp(int64_t millis, std::string* out) {
  using namespace std::chrono;
  constexpr int64_t kMillisPerDay = 86'400'000;
  int64_t day = millis / kMillisPerDay;
  int64_t ms_of_day = millis % kMillisPerDay;
  if (ms_of_day < 0) {  // floor, so pre-1970 instants land on the right day
    ms_of_day += kMillisPerDay;
    --day;
  }
  const year_month_day ymd{sys_days{days{day}}};
  const int year = static_cast<int>(ymd.year());
  if (year < 0) out->push_back('-');
  AppendPadded(year < 0 ? -static_cast<int64_t>(year) : year, 4, out);
  out->push_back('-');
  AppendPadded(static_cast<unsigned>(ymd.month()), 2, out);
  out->push_back('-');
  AppendPadded(static_cast<unsigned>(ymd.day()), 2, out);
  out->push_back(' ');
  AppendPadded(ms_of_day / 3'600'000, 2, out);
  out->push_back(':');
  AppendPadded(ms_of_day / 60'000 % 60, 2, out);
  out->push_back(':');
  AppendPadded(ms_of_day / 1000 % 60, 2, out);
  out->push_back('.');
  AppendPadded(ms_of_day % 1000, 3, out);
}

void AppendDecimal(int64_t unscaled, int32_t scale, std::string* out) {
  // Work on the unsigned magnitude so INT64_MIN does not overflow.
  const bool negative = unscaled < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(unscaled)
                                      : static_cast<uint64_t>(unscaled);
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), magnitude);
  (void)ec;
  const std::string_view text(digits, static_cast<size_t>(end - digits));
  if (negative) out->push_back('-');
  if (scale <= 0) {
    out->append(text);
    if (magnitude != 0) out->append(static_cast<size_t>(-scale), '0');
    return;
  }
  const size_t frac = static_cast<size_t>(scale);
  if (text.size() <= frac) {
    out->append("0.");
    out->append(frac - text.size(), '0');
    out->append(text);
  } else {
    out->append(text.substr(0, text.size() - frac));
    out->push_back('.');
    out->append(text.substr(text.size() - frac));
  }
}

void AppendDouble(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "Infinity" : "-Infinity");
    return;
  }
  char buf[64];
  const double magnitude = std::fabs(value);
  // Java switches to scientific notation outside [1e-3, 1e7).
  if (magnitude == 0 || (magnitude >= 1e-3 && magnitude < 1e7)) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
    (void)ec;
    const std::string_view text(buf, static_cast<size_t>(end - buf));
    out->append(text);
    if (text.find('.') == std::string_view::npos) out->append(".0");
    return;
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  (void)ec;
  const std::string_view text(buf, static_cast<size_t>(end - buf));
  const size_t e = text.find('e');
  const std::string_view mantissa = text.substr(0, e);
  std::string_view exponent = text.substr(e + 1);
  out->append(mantissa);
  if (mantissa.find('.') == std::string_view::npos) out->append(".0");
  out->push_back('E');
  if (exponent.front() == '-') out->push_back('-');
  exponent.remove_prefix(1);  // the sign
  while (exponent.size() > 1 && exponent.front() == '0') exponent.remove_prefix(1);
  out->append(exponent);
}

void AppendRowJson(const RowView& row, const Schema& schema, std::string* out) {
  out->push_back('{');
  for (size_t i = 0; i < schema.size(); ++i) {
    const Field& field = schema.field(i);
    if (i > 0) out->push_back(',');
    AppendJsonString(field.name, out);
    out->push_back(':');
    if (row.IsNull(i)) {
      out->append("null");
      continue;
    }
    switch (field.type) {
      case FieldType::kBool:
        out->append(row.GetBool(i) ? "true" : "false");
        break;
      case FieldType::kInt64: {
        char buf[24];
        auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), row.GetInt64(i));
        (void)ec;
        out->append(buf, end);
        break;
      }
      case FieldType::kDouble: {
        const double d = row.GetDouble(i);
        if (std::isfinite(d)) {
          AppendDouble(d, out);
        } else {
          out->append("null");  // JSON has no NaN or infinities
        }
        break;
      }
      case FieldType::kDecimal:
        AppendDecimal(row.GetDecimalUnscaled(i), field.scale, out);
        break;
      case FieldType::kString:
        AppendJsonString(row.GetString(i), out);
        break;
      case FieldType::kTimestamp:
        out->push_back('"');
        AppendTimestamp(row.GetTimestampMillis(i), out);
        out->push_back('"');
        break;
    }
  }
  out->push_back('}');
}

}  // namespace sluice
