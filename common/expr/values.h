// Value constructors and the numeric, decimal and time helpers shared by the
// expression nodes.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/expr/expression.h"

namespace sluice::expr {

inline constexpr int32_t kMaxDecimalScale = 18;
inline constexpr int64_t kPow10[19] = {1,
                                       10,
                                       100,
                                       1000,
                                       10000,
                                       100000,
                                       1000000,
                                       10000000,
                                       100000000,
                                       1000000000,
                                       10000000000,
                                       100000000000,
                                       1000000000000,
                                       10000000000000,
                                       100000000000000,
                                       1000000000000000,
                                       10000000000000000,
                                       100000000000000000,
                                       1000000000000000000};

using int128 = __int128;

inline Value NullValue(FieldType type, int32_t scale = 0) {
  Value v;
  v.type = type;
  v.scale = scale;
  return v;
}
inline Value BoolValue(bool b) {
  Value v;
  v.type = FieldType::kBool;
  v.is_null = false;
  v.b = b;
  return v;
}
inline Value Int64Value(int64_t i) {
  Value v;
  v.type = FieldType::kInt64;
  v.is_null = false;
  v.i = i;
  return v;
}
inline Value DoubleValue(double d) {
  Value v;
  v.type = FieldType::kDouble;
  v.is_null = false;
  v.d = d;
  return v;
}
inline Value DecimalValue(int64_t unscaled, int32_t scale) {
  Value v;
  v.type = FieldType::kDecimal;
  v.is_null = false;
  v.i = unscaled;
  v.scale = scale;
  return v;
}
inline Value StringValue(std::string_view s) {
  Value v;
  v.type = FieldType::kString;
  v.is_null = false;
  v.str = s;
  return v;
}
inline Value TimestampValue(int64_t millis) {
  Value v;
  v.type = FieldType::kTimestamp;
  v.is_null = false;
  v.i = millis;
  return v;
}

// 10^n for 0 <= n <= 38.
int128 Pow10Wide(int n);
bool FitsInt64(int128 v);
// num / den rounded half away from zero (SQL's HALF_UP); den != 0.
int128 DivRoundHalfUp(int128 num, int128 den);

// Changes the scale of an unscaled decimal, rounding half up when digits are
// dropped. False on overflow.
bool RescaleDecimal(int64_t value, int32_t from, int32_t to, int64_t* out);
// Three-way comparison of two decimals (an INT64 is a decimal of scale 0).
int CompareDecimal(int64_t a, int32_t a_scale, int64_t b, int32_t b_scale);
double DecimalToDouble(int64_t value, int32_t scale);
// False for NaN, infinities and values out of range.
bool DoubleToDecimal(double value, int32_t scale, int64_t* out);
// Writes the decimal's text ("-0.05") into buf (at least 48 bytes); returns
// its length.
size_t FormatDecimal(int64_t value, int32_t scale, char* buf);

// Writes "yyyy-MM-dd HH:mm:ss.SSS" (UTC) into buf (at least 32 bytes);
// returns its length.
size_t FormatTimestamp(int64_t millis, char* buf);

// Text conversions for CAST from STRING; surrounding spaces are ignored.
bool ParseInt64Text(std::string_view text, int64_t* out);
bool ParseDoubleText(std::string_view text, double* out);
bool ParseDecimalText(std::string_view text, int32_t scale, int64_t* out);
bool ParseBoolText(std::string_view text, bool* out);
// "yyyy-MM-dd[( |T)HH:mm[:ss[.fraction]]]" in UTC.
bool ParseTimestampText(std::string_view text, int64_t* millis);

struct CivilTime {
  int year;
  unsigned month, day, hour, minute, second, millis;
};
CivilTime ToCivil(int64_t millis);

// Floor division and modulo for splitting timestamps.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
inline int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

}  // namespace sluice::expr
