// Java-style (SimpleDateFormat) timestamp patterns for date_format, compiled
// once. Supported letters: y (yyyy, yy), M (M, MM, MMM, MMMM), d, H, h, m, s,
// S (fraction digits), a (AM/PM); 'quoted text' and other characters are
// copied. Times are UTC.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::expr {

class DateFormatter {
 public:
  static Result<DateFormatter> Compile(std::string_view pattern);

  // Upper bound of the formatted length, for sizing the output buffer.
  size_t max_length() const { return max_length_; }
  // Writes the text into out (max_length() bytes) and returns its length.
  size_t Format(int64_t millis, char* out) const;

 private:
  enum class Kind { kLiteral, kYear, kYear2, kMonth, kMonthShort, kMonthLong, kDay, kHour24,
                    kHour12, kMinute, kSecond, kFraction, kAmPm };
  struct Part {
    Kind kind;
    int width;         // minimum digits, or fraction digits
    std::string text;  // kLiteral
  };

  std::vector<Part> parts_;
  size_t max_length_ = 0;
};

}  // namespace sluice::expr
