#include "common/records/row_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

namespace sluice {
namespace {

std::string Ts(int64_t millis) {
  std::string out;
  AppendTimestamp(millis, &out);
  return out;
}

std::string Dec(int64_t unscaled, int32_t scale) {
  std::string out;
  AppendDecimal(unscaled, scale, &out);
  return out;
}

std::string Dbl(double v) {
  std::string out;
  AppendDouble(v, &out);
  return out;
}

TEST(RowJsonTest, Timestamps) {
  EXPECT_EQ(Ts(0), "1970-01-01 00:00:00.000");
  EXPECT_EQ(Ts(1436918400000), "2015-07-15 00:00:00.000");
  EXPECT_EQ(Ts(1436981415123), "2015-07-15 17:30:15.123");
  EXPECT_EQ(Ts(-1), "1969-12-31 23:59:59.999");
  EXPECT_EQ(Ts(-86400000), "1969-12-31 00:00:00.000");
  EXPECT_EQ(Ts(951782400000), "2000-02-29 00:00:00.000");
  EXPECT_EQ(Ts(253402300799999), "9999-12-31 23:59:59.999");
}

TEST(RowJsonTest, Decimals) {
  EXPECT_EQ(Dec(-5, 2), "-0.05");
  EXPECT_EQ(Dec(5, 2), "0.05");
  EXPECT_EQ(Dec(0, 2), "0.00");
  EXPECT_EQ(Dec(12345, 2), "123.45");
  EXPECT_EQ(Dec(-12345, 2), "-123.45");
  EXPECT_EQ(Dec(-100, 2), "-1.00");
  EXPECT_EQ(Dec(42, 0), "42");
  EXPECT_EQ(Dec(7, 3), "0.007");
  EXPECT_EQ(Dec(std::numeric_limits<int64_t>::min(), 18), "-9.223372036854775808");
  EXPECT_EQ(Dec(std::numeric_limits<int64_t>::max(), 0), "9223372036854775807");
}

TEST(RowJsonTest, Doubles) {
  EXPECT_EQ(Dbl(0.0), "0.0");
  EXPECT_EQ(Dbl(-0.0), "-0.0");
  EXPECT_EQ(Dbl(3.0), "3.0");
  EXPECT_EQ(Dbl(0.908), "0.908");
  EXPECT_EQ(Dbl(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(Dbl(-2.5), "-2.5");
  EXPECT_EQ(Dbl(1234567.0), "1234567.0");
  EXPECT_EQ(Dbl(1e7), "1.0E7");
  EXPECT_EQ(Dbl(1.5e300), "1.5E300");
  EXPECT_EQ(Dbl(0.001), "0.001");
  EXPECT_EQ(Dbl(1e-4), "1.0E-4");
  EXPECT_EQ(Dbl(-1.25e-10), "-1.25E-10");
  EXPECT_EQ(Dbl(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(Dbl(-std::numeric_limits<double>::infinity()), "-Infinity");
  for (double v : {0.908 * 12345, 1.0 / 3, 6.02214076e23, 5e-324}) {
    EXPECT_EQ(std::strtod(Dbl(v).c_str(), nullptr), v);  // round-trips
  }
}

TEST(RowJsonTest, AllTypesAndNulls) {
  Schema schema({{"b", FieldType::kBool},
                 {"i", FieldType::kInt64},
                 {"d", FieldType::kDouble},
                 {"p", FieldType::kDecimal, true, 2},
                 {"s", FieldType::kString},
                 {"t", FieldType::kTimestamp},
                 {"n", FieldType::kInt64}});
  RowBuilder b(schema.size());
  b.SetBool(0, false);
  b.SetInt64(1, -42);
  b.SetDouble(2, 0.5);
  b.SetDecimalUnscaled(3, -5);
  b.SetString(4, "");
  b.SetTimestampMillis(5, 0);
  std::string out = "prefix ";
  AppendRowJson(b.Finish(), schema, &out);
  EXPECT_EQ(out,
            "prefix {\"b\":false,\"i\":-42,\"d\":0.5,\"p\":-0.05,\"s\":\"\","
            "\"t\":\"1970-01-01 00:00:00.000\",\"n\":null}");

  b.Reset();
  out.clear();
  AppendRowJson(b.Finish(), schema, &out);
  EXPECT_EQ(out, "{\"b\":null,\"i\":null,\"d\":null,\"p\":null,\"s\":null,\"t\":null,\"n\":null}");
}

TEST(RowJsonTest, NonFiniteDoublesAreNull) {
  Schema schema({{"a", FieldType::kDouble}, {"b", FieldType::kDouble}});
  RowBuilder b(2);
  b.SetDouble(0, std::numeric_limits<double>::quiet_NaN());
  b.SetDouble(1, std::numeric_limits<double>::infinity());
  std::string out;
  AppendRowJson(b.Finish(), schema, &out);
  EXPECT_EQ(out, "{\"a\":null,\"b\":null}");
}

TEST(RowJsonTest, StringEscaping) {
  Schema schema({{"we\"ird\\key", FieldType::kString}});
  RowBuilder b(1);
  b.SetString(0, "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f é 日本");
  std::string out;
  AppendRowJson(b.Finish(), schema, &out);
  EXPECT_EQ(out,
            "{\"we\\\"ird\\\\key\":\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f é 日本\"}");
}

TEST(RowJsonTest, EmbeddedNulByte) {
  Schema schema({{"s", FieldType::kString}});
  RowBuilder b(1);
  b.SetString(0, std::string_view("a\0b", 3));
  std::string out;
  AppendRowJson(b.Finish(), schema, &out);
  EXPECT_EQ(out, "{\"s\":\"a\\u0000b\"}");
}

TEST(RowJsonTest, LargeAndNegativeIntegers) {
  Schema schema({{"a", FieldType::kInt64}, {"b", FieldType::kInt64},
                 {"t", FieldType::kTimestamp}});
  RowBuilder b(3);
  b.SetInt64(0, std::numeric_limits<int64_t>::min());
  b.SetInt64(1, std::numeric_limits<int64_t>::max());
  b.SetTimestampMillis(2, -1);
  std::string out;
  AppendRowJson(b.Finish(), schema, &out);
  EXPECT_EQ(out,
            "{\"a\":-9223372036854775808,\"b\":9223372036854775807,"
            "\"t\":\"1969-12-31 23:59:59.999\"}");
}

}  // namespace
}  // namespace sluice
