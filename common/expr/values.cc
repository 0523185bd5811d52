#include "common/expr/values.h"

#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>

namespace sluice::expr {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

// Reads 1..max_digits digits at *pos.
bool ReadDigits(std::string_view s, size_t* pos, size_t max_digits, unsigned* out) {
  size_t start = *pos;
  unsigned v = 0;
  while (*pos < s.size() && *pos - start < max_digits && s[*pos] >= '0' && s[*pos] <= '9') {
    v = v * 10 + static_cast<unsigned>(s[*pos] - '0');
    ++*pos;
  }
  *out = v;
  return *pos > start;
}

}  // namespace

int128 Pow10Wide(int n) {
  int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

bool FitsInt64(int128 v) { return v >= INT64_MIN && v <= INT64_MAX; }

int128 DivRoundHalfUp(int128 num, int128 den) {
  int128 q = num / den;
  int128 r = num % den;
  if (r < 0) r = -r;
  const int128 d = den < 0 ? -den : den;
  if (r * 2 >= d) q += ((num < 0) != (den < 0)) ? -1 : 1;
  return q;
}

bool RescaleDecimal(int64_t value, int32_t from, int32_t to, int64_t* out) {
  if (to == from) {
    *out = value;
    return true;
  }
  if (to > from) {
    const int128 v = static_cast<int128>(value) * Pow10Wide(to - from);
    if (!FitsInt64(v)) return false;
    *out = static_cast<int64_t>(v);
    return true;
  }
  *out = static_cast<int64_t>(DivRoundHalfUp(value, Pow10Wide(from - to)));
  return true;
}

int CompareDecimal(int64_t a, int32_t a_scale, int64_t b, int32_t b_scale) {
  // Scales are at most 18, so an int64 times 10^18 fits in 128 bits.
  int128 x = a, y = b;
  if (a_scale < b_scale) x *= Pow10Wide(b_scale - a_scale);
  if (b_scale < a_scale) y *= Pow10Wide(a_scale - b_scale);
  return x < y ? -1 : (x > y ? 1 : 0);
}

double DecimalToDouble(int64_t value, int32_t scale) {
  if (scale <= 0) return static_cast<double>(value);
  return static_cast<double>(value) / static_cast<double>(kPow10[scale]);
}

bool DoubleToDecimal(double value, int32_t scale, int64_t* out) {
  if (!std::isfinite(value)) return false;
  const double scaled = std::round(value * static_cast<double>(kPow10[scale]));
  // 2^63 is exactly representable; anything at or beyond it overflows.
  if (!(scaled > -9223372036854775808.0 && scaled < 9223372036854775808.0)) return false;
  *out = static_cast<int64_t>(scaled);
  return true;
}

size_t FormatDecimal(int64_t value, int32_t scale, char* buf) {
  const bool negative = value < 0;
  const uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  char digits[24];
  const size_t n = static_cast<size_t>(std::to_chars(digits, digits + sizeof(digits), magnitude).ptr - digits);
  size_t len = 0;
  if (negative) buf[len++] = '-';
  const size_t frac = scale > 0 ? static_cast<size_t>(scale) : 0;
  if (n <= frac) {
    buf[len++] = '0';
    buf[len++] = '.';
    for (size_t i = n; i < frac; ++i) buf[len++] = '0';
    for (size_t i = 0; i < n; ++i) buf[len++] = digits[i];
    return len;
  }
  for (size_t i = 0; i < n - frac; ++i) buf[len++] = digits[i];
  if (frac > 0) {
    buf[len++] = '.';
    for (size_t i = n - frac; i < n; ++i) buf[len++] = digits[i];
  }
  return len;
}

bool ParseInt64Text(std::string_view text, int64_t* out) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseDoubleText(std::string_view text, double* out) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

bool ParseDecimalText(std::string_view text, int32_t scale, int64_t* out) {
  text = Trim(text);
  if (text.find_first_of("eE") != std::string_view::npos) {
    double d;
    return ParseDoubleText(text, &d) && DoubleToDecimal(d, scale, out);
  }
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  int128 value = 0;
  int32_t frac_digits = 0;
  bool seen_point = false, seen_digit = false, dropped = false, round_up = false;
  for (const char c : text) {
    if (c == '.' && !seen_point) {
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') return false;
    seen_digit = true;
    if (seen_point && frac_digits == scale) {
      // Only the first dropped digit decides the (half up) rounding.
      if (!dropped) round_up = c >= '5';
      dropped = true;
      continue;
    }
    value = value * 10 + (c - '0');
    if (seen_point) ++frac_digits;
    if (value > static_cast<int128>(INT64_MAX) + 1) return false;
  }
  if (!seen_digit) return false;
  if (round_up) ++value;
  value *= Pow10Wide(scale - frac_digits);
  if (negative) value = -value;
  if (!FitsInt64(value)) return false;
  *out = static_cast<int64_t>(value);
  return true;
}

bool ParseBoolText(std::string_view text, bool* out) {
  text = Trim(text);
  for (std::string_view t : {"true", "t", "yes", "y", "1"}) {
    if (EqualsIgnoreCase(text, t)) return *out = true;
  }
  for (std::string_view f : {"false", "f", "no", "n", "0"}) {
    if (EqualsIgnoreCase(text, f)) {
      *out = false;
      return true;
    }
  }
  return false;
}

bool ParseTimestampText(std::string_view text, int64_t* millis) {
  using namespace std::chrono;
  text = Trim(text);
  size_t pos = 0;
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, fraction = 0;
  auto expect = [&](char c) {
    if (pos >= text.size() || text[pos] != c) return false;
    ++pos;
    return true;
  };
  if (!ReadDigits(text, &pos, 4, &year) || pos != 4 || !expect('-') ||
      !ReadDigits(text, &pos, 2, &month) || !expect('-') || !ReadDigits(text, &pos, 2, &day)) {
    return false;
  }
  if (pos < text.size()) {
    if (text[pos] != ' ' && text[pos] != 'T') return false;
    ++pos;
    if (!ReadDigits(text, &pos, 2, &hour) || !expect(':') || !ReadDigits(text, &pos, 2, &minute)) {
      return false;
    }
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!ReadDigits(text, &pos, 2, &second)) return false;
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const size_t start = pos;
        unsigned digits = 0;
        if (!ReadDigits(text, &pos, 9, &digits)) return false;
        const size_t n = pos - start;
        // Keep milliseconds; finer digits are truncated.
        fraction = n >= 3 ? digits / static_cast<unsigned>(kPow10[n - 3])
                          : digits * static_cast<unsigned>(kPow10[3 - n]);
      }
    }
    if (pos < text.size() && text[pos] == 'Z') ++pos;
  }
  if (pos != text.size() || hour > 23 || minute > 59 || second > 59) return false;
  const year_month_day ymd{std::chrono::year{static_cast<int>(year)}, std::chrono::month{month},
                           std::chrono::day{day}};
  if (!ymd.ok()) return false;
  const int64_t days = sys_days{ymd}.time_since_epoch().count();
  *millis = ((days * 24 + hour) * 60 + minute) * 60'000 + second * 1000 + fraction;
  return true;
}

CivilTime ToCivil(int64_t millis) {
  using namespace std::chrono;
  const int64_t day = FloorDiv(millis, 86'400'000);
  const int64_t ms = millis - day * 86'400'000;
  const year_month_day ymd{sys_days{days{day}}};
  CivilTime t;
  t.year = static_cast<int>(ymd.year());
  t.month = static_cast<unsigned>(ymd.month());
  t.day = static_cast<unsigned>(ymd.day());
  t.hour = static_cast<unsigned>(ms / 3'600'000);
  t.minute = static_cast<unsigned>(ms / 60'000 % 60);
  t.second = static_cast<unsigned>(ms / 1000 % 60);
  t.millis = static_cast<unsigned>(ms % 1000);
  return t;
}

size_t FormatTimestamp(int64_t millis, char* buf) {
  const CivilTime t = ToCivil(millis);
  size_t len = 0;
  auto put = [&](int64_t v, int width) {
    char digits[24];
    const int n = static_cast<int>(std::to_chars(digits, digits + sizeof(digits), v).ptr - digits);
    for (int i = n; i < width; ++i) buf[len++] = '0';
    for (int i = 0; i < n; ++i) buf[len++] = digits[i];
  };
  if (t.year < 0) buf[len++] = '-';
  put(t.year < 0 ? -static_cast<int64_t>(t.year) : t.year, 4);
  buf[len++] = '-';
  put(t.month, 2);
  buf[len++] = '-';
  put(t.day, 2);
  buf[len++] = ' ';
  put(t.hour, 2);
  buf[len++] = ':';
  put(t.minute, 2);
  buf[len++] = ':';
  put(t.second, 2);
  buf[len++] = '.';
  put(t.millis, 3);
  return len;
}

}  // namespace sluice::expr
