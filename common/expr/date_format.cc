#include "common/expr/date_format.h"

#include <charconv>

#include "common/expr/values.h"

namespace sluice::expr {
namespace {

constexpr const char* kMonthNames[] = {"January", "February", "March",     "April",
                                       "May",     "June",     "July",      "August",
                                       "September", "October", "November", "December"};

size_t PutNumber(int64_t v, int width, char* out) {
  char digits[24];
  const int n = static_cast<int>(std::to_chars(digits, digits + sizeof(digits), v).ptr - digits);
  size_t len = 0;
  for (int i = n; i < width; ++i) out[len++] = '0';
  for (int i = 0; i < n; ++i) out[len++] = digits[i];
  return len;
}

}  // namespace

Result<DateFormatter> DateFormatter::Compile(std::string_view pattern) {
  DateFormatter f;
  auto literal = [&f](std::string_view text) {
    if (f.parts_.empty() || f.parts_.back().kind != Kind::kLiteral) {
      f.parts_.push_back({Kind::kLiteral, 0, {}});
    }
    f.parts_.back().text += text;
  };
  size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '\'') {
      // 'text' is copied verbatim; '' is one quote, inside or outside.
      if (i + 1 < pattern.size() && pattern[i + 1] == '\'') {
        literal("'");
        i += 2;
        continue;
      }
      size_t j = i + 1;
      std::string text;
      while (true) {
        if (j >= pattern.size()) {
          return Status::InvalidArgument("unterminated quote in date_format pattern '" +
                                         std::string(pattern) + "'");
        }
        if (pattern[j] == '\'') {
          if (j + 1 < pattern.size() && pattern[j + 1] == '\'') {
            text += '\'';
            j += 2;
            continue;
          }
          break;
        }
        text += pattern[j++];
      }
      literal(text);
      i = j + 1;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
      literal(std::string_view(&pattern[i], 1));
      ++i;
      continue;
    }
    size_t run = 1;
    while (i + run < pattern.size() && pattern[i + run] == c) ++run;
    const int width = static_cast<int>(run);
    Kind kind;
    switch (c) {
      case 'y': kind = run == 2 ? Kind::kYear2 : Kind::kYear; break;
      case 'M': kind = run <= 2 ? Kind::kMonth : (run == 3 ? Kind::kMonthShort : Kind::kMonthLong); break;
      case 'd': kind = Kind::kDay; break;
      case 'H': kind = Kind::kHour24; break;
      case 'h': kind = Kind::kHour12; break;
      case 'm': kind = Kind::kMinute; break;
      case 's': kind = Kind::kSecond; break;
      case 'S': kind = Kind::kFraction; break;
      case 'a': kind = Kind::kAmPm; break;
      default:
        return Status::InvalidArgument("unsupported letter '" + std::string(1, c) +
                                       "' in date_format pattern '" + std::string(pattern) +
                                       "' (supported: y M d H h m s S a; quote literal text)");
    }
    if (width > 32) return Status::InvalidArgument("date_format pattern field too wide");
    f.parts_.push_back({kind, width, {}});
    i += run;
  }
  for (const Part& p : f.parts_) {
    switch (p.kind) {
      case Kind::kLiteral: f.max_length_ += p.text.size(); break;
      case Kind::kMonthLong: f.max_length_ += 9; break;
      case Kind::kFraction: f.max_length_ += static_cast<size_t>(p.width); break;
      default: f.max_length_ += static_cast<size_t>(std::max(p.width, 12)); break;
    }
  }
  return f;
}

size_t DateFormatter::Format(int64_t millis, char* out) const {
  const CivilTime t = ToCivil(millis);
  size_t len = 0;
  for (const Part& p : parts_) {
    switch (p.kind) {
      case Kind::kLiteral:
        p.text.copy(out + len, p.text.size());
        len += p.text.size();
        break;
      case Kind::kYear:
        if (t.year < 0) out[len++] = '-';
        len += PutNumber(t.year < 0 ? -static_cast<int64_t>(t.year) : t.year, p.width, out + len);
        break;
      case Kind::kYear2: len += PutNumber((t.year % 100 + 100) % 100, 2, out + len); break;
      case Kind::kMonth: len += PutNumber(t.month, p.width, out + len); break;
      case Kind::kMonthShort:
      case Kind::kMonthLong: {
        const std::string_view name = kMonthNames[t.month - 1];
        const std::string_view shown = p.kind == Kind::kMonthShort ? name.substr(0, 3) : name;
        shown.copy(out + len, shown.size());
        len += shown.size();
        break;
      }
      case Kind::kDay: len += PutNumber(t.day, p.width, out + len); break;
      case Kind::kHour24: len += PutNumber(t.hour, p.width, out + len); break;
      case Kind::kHour12: len += PutNumber(t.hour % 12 == 0 ? 12 : t.hour % 12, p.width, out + len); break;
      case Kind::kMinute: len += PutNumber(t.minute, p.width, out + len); break;
      case Kind::kSecond: len += PutNumber(t.second, p.width, out + len); break;
      case Kind::kFraction: {
        // Milliseconds as digits after the point: S -> tenths, SSS -> ms.
        char ms[3] = {static_cast<char>('0' + t.millis / 100),
                      static_cast<char>('0' + t.millis / 10 % 10),
                      static_cast<char>('0' + t.millis % 10)};
        for (int k = 0; k < p.width; ++k) out[len++] = k < 3 ? ms[k] : '0';
        break;
      }
      case Kind::kAmPm:
        out[len++] = t.hour < 12 ? 'A' : 'P';
        out[len++] = 'M';
        break;
    }
  }
  return len;
}

}  // namespace sluice::expr
