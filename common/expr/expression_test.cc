#include "common/expr/expression.h"

#include <gtest/gtest.h>

#include <limits>

#include "common/records/row_json.h"

namespace sluice {
namespace {

constexpr int64_t kDateTime = 1436981415123;  // 2015-07-15 17:30:15.123 UTC
constexpr const char* kUrl = "https://www.nexmark.com/xyz/item.htm?query=1&channel_id=123";

Schema TestSchema() {
  return Schema({{"auction", FieldType::kInt64},
                 {"price", FieldType::kInt64},
                 {"channel", FieldType::kString},
                 {"url", FieldType::kString},
                 {"dateTime", FieldType::kTimestamp},
                 {"extra", FieldType::kString},
                 {"d", FieldType::kDouble},
                 {"p", FieldType::kDecimal, true, 2},
                 {"flag", FieldType::kBool},
                 {"n", FieldType::kInt64},
                 {"s", FieldType::kString},
                 {"my field", FieldType::kInt64},
                 {"nn", FieldType::kInt64, false}});
}

class ExpressionTest : public ::testing::Test {
 protected:
  ExpressionTest() : schema_(TestSchema()), builder_(schema_.size()) {
    builder_.SetInt64(0, 1001);
    builder_.SetInt64(1, 1000);
    builder_.SetString(2, "Apple");
    builder_.SetString(3, kUrl);
    builder_.SetTimestampMillis(4, kDateTime);
    builder_.SetString(5, "héllo wörld");
    builder_.SetDouble(6, 2.5);
    builder_.SetDecimalUnscaled(7, 1234);  // 12.34
    builder_.SetBool(8, true);
    builder_.SetInt64(11, 7);
    builder_.SetInt64(12, 42);
    row_ = builder_.Finish();
  }

  std::unique_ptr<CompiledExpression> Compile(std::string_view text) {
    Result<std::unique_ptr<CompiledExpression>> r = CompileExpression(text, schema_);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  // The value rendered as text: NULL, TRUE, 42, 2.5, 12.34, the raw string,
  // or the timestamp.
  static std::string Render(const Value& v) {
    if (v.is_null) return "NULL";
    std::string out;
    switch (v.type) {
      case FieldType::kBool: return v.b ? "TRUE" : "FALSE";
      case FieldType::kInt64: return std::to_string(v.i);
      case FieldType::kDouble: AppendDouble(v.d, &out); return out;
      case FieldType::kDecimal: AppendDecimal(v.i, v.scale, &out); return out;
      case FieldType::kString: return std::string(v.str);
      case FieldType::kTimestamp: AppendTimestamp(v.i, &out); return out;
    }
    return "?";
  }

  std::string Eval(std::string_view text) {
    auto e = Compile(text);
    if (e == nullptr) return "<error>";
    ctx_.Reset();
    const Value v = e->Evaluate(row_, ctx_);
    EXPECT_EQ(v.type, e->type()) << text;
    if (v.type == FieldType::kDecimal && !v.is_null) {
      EXPECT_EQ(v.scale, e->scale()) << text;
    }
    if (v.is_null) {
      EXPECT_TRUE(e->nullable()) << text << " returned NULL but is not nullable";
    }
    return Render(v);
  }

  // "DOUBLE", "DECIMAL(2)", ...
  std::string TypeOf(std::string_view text) {
    auto e = Compile(text);
    if (e == nullptr) return "<error>";
    std::string out(FieldTypeName(e->type()));
    if (e->type() == FieldType::kDecimal) out += "(" + std::to_string(e->scale()) + ")";
    return out;
  }

  std::string Error(std::string_view text) {
    Result<std::unique_ptr<CompiledExpression>> r = CompileExpression(text, schema_);
    if (r.ok()) return "<compiled>";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().message();
  }

  Schema schema_;
  RowBuilder builder_;
  RowView row_;
  EvalContext ctx_;
};

TEST_F(ExpressionTest, Literals) {
  EXPECT_EQ(Eval("123"), "123");
  EXPECT_EQ(TypeOf("123"), "INT64");
  EXPECT_EQ(Eval("0.908"), "0.908");
  EXPECT_EQ(TypeOf("0.908"), "DECIMAL(3)");
  EXPECT_EQ(Eval("1e3"), "1000.0");
  EXPECT_EQ(Eval(".5"), "0.5");
  EXPECT_EQ(Eval("-7"), "-7");
  EXPECT_EQ(Eval("-1.5"), "-1.5");
  EXPECT_EQ(Eval("'it''s'"), "it's");
  EXPECT_EQ(Eval("''"), "");
  EXPECT_EQ(Eval("TRUE"), "TRUE");
  EXPECT_EQ(Eval("false"), "FALSE");
  EXPECT_EQ(Eval("NULL"), "NULL");
  EXPECT_EQ(Eval("TIMESTAMP '2015-07-15 17:30:15.123'"), "2015-07-15 17:30:15.123");
  EXPECT_EQ(Eval("timestamp '2015-07-15'"), "2015-07-15 00:00:00.000");
  EXPECT_EQ(Eval("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(Eval("9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(Error("9223372036854775808"),
            "at column 1: integer literal 9223372036854775808 is out of the INT64 range");
  EXPECT_EQ(Error("TIMESTAMP '2015-13-01'"),
            "at column 11: bad TIMESTAMP literal '2015-13-01' (expected 'yyyy-MM-dd HH:mm:ss.SSS')");
}

TEST_F(ExpressionTest, FieldsReadInPlace) {
  EXPECT_EQ(Eval("auction"), "1001");
  EXPECT_EQ(Eval("channel"), "Apple");
  EXPECT_EQ(Eval("dateTime"), "2015-07-15 17:30:15.123");
  EXPECT_EQ(Eval("d"), "2.5");
  EXPECT_EQ(Eval("p"), "12.34");
  EXPECT_EQ(TypeOf("p"), "DECIMAL(2)");
  EXPECT_EQ(Eval("flag"), "TRUE");
  EXPECT_EQ(Eval("n"), "NULL");
  EXPECT_EQ(Eval("`my field`"), "7");
  EXPECT_EQ(Eval("`nn`"), "42");
  auto e = Compile("channel");
  ctx_.Reset();
  const Value v = e->Evaluate(row_, ctx_);
  EXPECT_GE(v.str.data(), reinterpret_cast<const char*>(row_.data()));
  EXPECT_LT(v.str.data(), reinterpret_cast<const char*>(row_.data()) + row_.size());
}

TEST_F(ExpressionTest, Precedence) {
  EXPECT_EQ(Eval("1 + 2 * 3"), "7");
  EXPECT_EQ(Eval("(1 + 2) * 3"), "9");
  EXPECT_EQ(Eval("10 - 4 - 3"), "3");
  EXPECT_EQ(Eval("20 / 2 / 5"), "2");
  EXPECT_EQ(Eval("7 % 4 * 2"), "6");
  EXPECT_EQ(Eval("-2 * 3"), "-6");
  EXPECT_EQ(Eval("- price * 2"), "-2000");
  EXPECT_EQ(Eval("2 - -3"), "5");
  EXPECT_EQ(Eval("NOT TRUE AND FALSE"), "FALSE");   // (NOT TRUE) AND FALSE
  EXPECT_EQ(Eval("NOT (TRUE AND FALSE)"), "TRUE");
  EXPECT_EQ(Eval("TRUE OR TRUE AND FALSE"), "TRUE");  // AND binds tighter
  EXPECT_EQ(Eval("(TRUE OR TRUE) AND FALSE"), "FALSE");
  EXPECT_EQ(Eval("NOT price = 1000"), "FALSE");  // NOT (price = 1000)
  EXPECT_EQ(Eval("1 + 2 = 3 AND NOT 1 > 2 OR FALSE"), "TRUE");
  EXPECT_EQ(Eval("price BETWEEN 1 AND 2000 AND flag"), "TRUE");
  EXPECT_EQ(Eval("price + 1 BETWEEN 1001 AND 1001"), "TRUE");
  EXPECT_EQ(Eval("NOT n IS NULL"), "FALSE");
}

TEST_F(ExpressionTest, ToStringIsNormalized) {
  EXPECT_EQ(Compile("1+price*2")->ToString(), "(1 + (price * 2))");
  EXPECT_EQ(Compile("price  >=  10 and not flag")->ToString(), "((price >= 10) AND (NOT flag))");
  EXPECT_EQ(Compile("`my field` != 3")->ToString(), "(`my field` <> 3)");
  EXPECT_EQ(Compile("0.908 * price")->ToString(), "(0.908 * price)");
  EXPECT_EQ(Compile("upper(channel) LIKE 'A%'")->ToString(), "(upper(channel) LIKE 'A%')");
  EXPECT_EQ(Compile("CASE WHEN flag THEN 'it''s' END")->ToString(),
            "CASE WHEN flag THEN 'it''s' END");
  EXPECT_EQ(Compile("CAST(price AS DECIMAL(10, 2))")->ToString(),
            "CAST(price AS DECIMAL(18, 2))");
  EXPECT_EQ(Compile("n IS NOT NULL")->ToString(), "(n IS NOT NULL)");
  EXPECT_EQ(Compile("price NOT IN (1, 2)")->ToString(), "(price NOT IN (1, 2))");
}

TEST_F(ExpressionTest, ConstantsAreFolded) {
  EXPECT_EQ(Compile("1 + 2 * 3")->ToString(), "7");
  EXPECT_EQ(Compile("upper('abc')")->ToString(), "'ABC'");
  EXPECT_EQ(Compile("price + (2 * 3)")->ToString(), "(price + 6)");
  EXPECT_FALSE(Compile("1 + 2")->nullable());
  EXPECT_TRUE(Compile("1 / 0")->nullable());
}

TEST_F(ExpressionTest, IntegerArithmetic) {
  EXPECT_EQ(TypeOf("price + auction"), "INT64");
  EXPECT_EQ(Eval("price + auction"), "2001");
  EXPECT_EQ(Eval("price - auction"), "-1");
  EXPECT_EQ(Eval("price * 3"), "3000");
  EXPECT_EQ(Eval("7 / 2"), "3");
  EXPECT_EQ(Eval("-7 / 2"), "-3");
  EXPECT_EQ(Eval("-7 % 2"), "-1");
  EXPECT_EQ(Eval("auction % 123"), "17");
  EXPECT_EQ(Eval("9223372036854775807 + 1"), "-9223372036854775808");  // wraps like Java
  EXPECT_EQ(Eval("-9223372036854775808 / -1"), "-9223372036854775808");
  EXPECT_EQ(Eval("-9223372036854775808 % -1"), "0");
}

TEST_F(ExpressionTest, DivisionByZeroIsNull) {
  EXPECT_EQ(Eval("price / 0"), "NULL");
  EXPECT_EQ(Eval("price % 0"), "NULL");
  EXPECT_EQ(Eval("d / 0"), "NULL");
  EXPECT_EQ(Eval("d / 0.0"), "NULL");
  EXPECT_EQ(Eval("d % 0"), "NULL");
  EXPECT_EQ(Eval("p / 0"), "NULL");
  EXPECT_EQ(Eval("p % CAST(0 AS DECIMAL(5, 1))"), "NULL");
  EXPECT_TRUE(Compile("nn / 2")->nullable());
  EXPECT_FALSE(Compile("nn * 2")->nullable());
}

TEST_F(ExpressionTest, MixedNumericTypes) {
  EXPECT_EQ(TypeOf("0.908 * price"), "DECIMAL(3)");
  EXPECT_EQ(Eval("0.908 * price"), "908.000");
  EXPECT_EQ(Eval("price + d"), "1002.5");
  EXPECT_EQ(Eval("d / 2"), "1.25");
  EXPECT_EQ(Eval("d % 2"), "0.5");
  EXPECT_EQ(TypeOf("p + 1"), "DECIMAL(2)");
  EXPECT_EQ(Eval("p + 1"), "13.34");
  EXPECT_EQ(Eval("1 - p"), "-11.34");
  EXPECT_EQ(TypeOf("p * p"), "DECIMAL(4)");
  EXPECT_EQ(Eval("p * p"), "152.2756");
  EXPECT_EQ(Eval("p * 2"), "24.68");
  EXPECT_EQ(TypeOf("p + CAST(0.001 AS DECIMAL(5, 3))"), "DECIMAL(3)");
  EXPECT_EQ(Eval("p + CAST(0.001 AS DECIMAL(5, 3))"), "12.341");
  EXPECT_EQ(TypeOf("p / 3"), "DECIMAL(6)");
  EXPECT_EQ(Eval("p / 3"), "4.113333");
  EXPECT_EQ(Eval("p / -3"), "-4.113333");
  EXPECT_EQ(Eval("CAST(2 AS DECIMAL(5, 0)) / 3"), "0.666667");  // half up
  EXPECT_EQ(Eval("p % 5"), "2.34");
  EXPECT_EQ(TypeOf("p * d"), "DOUBLE");
  EXPECT_EQ(Eval("p * d"), "30.85");
  EXPECT_EQ(TypeOf("-p"), "DECIMAL(2)");
  EXPECT_EQ(Eval("-p"), "-12.34");
  EXPECT_EQ(Eval("-d"), "-2.5");
  // DECIMAL overflow is NULL.
  EXPECT_EQ(Eval("CAST(90000000000000000 AS DECIMAL(18, 0)) * 1000"), "NULL");
}

TEST_F(ExpressionTest, Comparisons) {
  EXPECT_EQ(Eval("price = 1000"), "TRUE");
  EXPECT_EQ(Eval("price <> 1000"), "FALSE");
  EXPECT_EQ(Eval("price != 999"), "TRUE");
  EXPECT_EQ(Eval("price < 1000"), "FALSE");
  EXPECT_EQ(Eval("price <= 1000"), "TRUE");
  EXPECT_EQ(Eval("price > 999"), "TRUE");
  EXPECT_EQ(Eval("price >= 1001"), "FALSE");
  // Across numeric types.
  EXPECT_EQ(Eval("price = 1000.0"), "TRUE");
  EXPECT_EQ(Eval("d > 2"), "TRUE");
  EXPECT_EQ(Eval("p > 12"), "TRUE");
  EXPECT_EQ(Eval("p = 12.34"), "TRUE");
  EXPECT_EQ(Eval("p = CAST('12.340' AS DECIMAL(10, 3))"), "TRUE");
  EXPECT_EQ(Eval("p < CAST('12.341' AS DECIMAL(10, 3))"), "TRUE");
  EXPECT_EQ(Eval("9223372036854775807 > CAST(1 AS DECIMAL(18, 18))"), "TRUE");
  // Strings compare bytewise.
  EXPECT_EQ(Eval("'abc' < 'abd'"), "TRUE");
  EXPECT_EQ(Eval("'B' < 'a'"), "TRUE");
  EXPECT_EQ(Eval("'z' < 'é'"), "TRUE");
  EXPECT_EQ(Eval("'ab' < 'abc'"), "TRUE");
  EXPECT_EQ(Eval("channel = 'Apple'"), "TRUE");
  // Timestamps and booleans.
  EXPECT_EQ(Eval("dateTime > TIMESTAMP '2015-07-15 00:00:00'"), "TRUE");
  EXPECT_EQ(Eval("dateTime = TIMESTAMP '2015-07-15 17:30:15.123'"), "TRUE");
  EXPECT_EQ(Eval("flag = TRUE"), "TRUE");
  EXPECT_EQ(Eval("FALSE < TRUE"), "TRUE");
}

TEST_F(ExpressionTest, NullSemantics) {
  EXPECT_EQ(Eval("n + 1"), "NULL");
  EXPECT_EQ(Eval("-n"), "NULL");
  EXPECT_EQ(Eval("NULL + 1"), "NULL");
  EXPECT_EQ(TypeOf("NULL + 1.5"), "DECIMAL(1)");
  EXPECT_EQ(Eval("n = 1"), "NULL");
  EXPECT_EQ(Eval("n = NULL"), "NULL");
  EXPECT_EQ(Eval("NULL = NULL"), "NULL");
  EXPECT_EQ(Eval("s < 'a'"), "NULL");
  // Three-valued logic.
  EXPECT_EQ(Eval("NULL AND FALSE"), "FALSE");
  EXPECT_EQ(Eval("FALSE AND NULL"), "FALSE");
  EXPECT_EQ(Eval("NULL AND TRUE"), "NULL");
  EXPECT_EQ(Eval("TRUE AND NULL"), "NULL");
  EXPECT_EQ(Eval("NULL OR TRUE"), "TRUE");
  EXPECT_EQ(Eval("TRUE OR NULL"), "TRUE");
  EXPECT_EQ(Eval("NULL OR FALSE"), "NULL");
  EXPECT_EQ(Eval("n > 1 OR n < 1"), "NULL");
  EXPECT_EQ(Eval("NOT NULL"), "NULL");
  EXPECT_EQ(Eval("NOT (n = 1)"), "NULL");
  EXPECT_EQ(Eval("NULL AND NULL"), "NULL");
  // IS [NOT] NULL is never NULL.
  EXPECT_EQ(Eval("n IS NULL"), "TRUE");
  EXPECT_EQ(Eval("n IS NOT NULL"), "FALSE");
  EXPECT_EQ(Eval("price IS NULL"), "FALSE");
  EXPECT_EQ(Eval("n + 1 IS NULL"), "TRUE");
  EXPECT_FALSE(Compile("n IS NULL")->nullable());
  // Nullability follows the inputs.
  EXPECT_TRUE(Compile("price + 1")->nullable());
  EXPECT_FALSE(Compile("nn + 1")->nullable());
  EXPECT_FALSE(Compile("nn > 1 AND nn < 100")->nullable());
  EXPECT_TRUE(Compile("n")->nullable());
}

TEST_F(ExpressionTest, InAndBetween) {
  EXPECT_EQ(Eval("price IN (1, 1000, 3)"), "TRUE");
  EXPECT_EQ(Eval("price IN (1, 2)"), "FALSE");
  EXPECT_EQ(Eval("price IN (1, n, 1000)"), "TRUE");
  EXPECT_EQ(Eval("price IN (1, n)"), "NULL");
  EXPECT_EQ(Eval("price NOT IN (1, 2)"), "TRUE");
  EXPECT_EQ(Eval("price NOT IN (1, NULL)"), "NULL");
  EXPECT_EQ(Eval("n IN (1, 2)"), "NULL");
  EXPECT_EQ(Eval("price IN (1000.0, 2.5)"), "TRUE");
  EXPECT_EQ(Eval("p IN (12.34)"), "TRUE");
  EXPECT_EQ(Eval("channel IN ('Google', 'Apple')"), "TRUE");
  EXPECT_EQ(Eval("price BETWEEN 1000 AND 1000"), "TRUE");
  EXPECT_EQ(Eval("price BETWEEN 1001 AND 2000"), "FALSE");
  EXPECT_EQ(Eval("price NOT BETWEEN 1001 AND 2000"), "TRUE");
  EXPECT_EQ(Eval("d BETWEEN 2 AND 2.5"), "TRUE");
  EXPECT_EQ(Eval("p BETWEEN 12 AND 13"), "TRUE");
  EXPECT_EQ(Eval("'b' BETWEEN 'a' AND 'c'"), "TRUE");
  EXPECT_EQ(Eval("n BETWEEN 1 AND 2"), "NULL");
  EXPECT_EQ(Eval("price BETWEEN 1 AND n"), "NULL");
  EXPECT_EQ(Eval("price BETWEEN 2000 AND n"), "FALSE");
  EXPECT_EQ(Eval("price NOT BETWEEN 2000 AND n"), "TRUE");
  EXPECT_EQ(Error("price IN (1, 'a')"), "at column 7: cannot compare INT64 with STRING in IN");
  EXPECT_EQ(Error("price BETWEEN 'a' AND 2"),
            "at column 7: cannot compare INT64 with STRING in BETWEEN");
}

TEST_F(ExpressionTest, Like) {
  EXPECT_EQ(Eval("channel LIKE 'App%'"), "TRUE");
  EXPECT_EQ(Eval("channel LIKE '%ple'"), "TRUE");
  EXPECT_EQ(Eval("channel LIKE '%pp%'"), "TRUE");
  EXPECT_EQ(Eval("channel LIKE 'Apple'"), "TRUE");
  EXPECT_EQ(Eval("channel LIKE 'apple'"), "FALSE");
  EXPECT_EQ(Eval("channel LIKE 'A_p_e'"), "TRUE");
  EXPECT_EQ(Eval("channel LIKE 'A_p'"), "FALSE");
  EXPECT_EQ(Eval("channel LIKE '%'"), "TRUE");
  EXPECT_EQ(Eval("'' LIKE '%'"), "TRUE");
  EXPECT_EQ(Eval("'' LIKE '_'"), "FALSE");
  EXPECT_EQ(Eval("'é' LIKE '_'"), "TRUE");  // one code point, two bytes
  EXPECT_EQ(Eval("extra LIKE 'h_llo%'"), "TRUE");
  EXPECT_EQ(Eval("'abcabcabd' LIKE '%abc%abd'"), "TRUE");  // needs backtracking
  EXPECT_EQ(Eval("'aXbXc' LIKE '%a%b%c%'"), "TRUE");
  EXPECT_EQ(Eval("'aXbXc' LIKE '%a%c%b'"), "FALSE");
  EXPECT_EQ(Eval("channel NOT LIKE 'G%'"), "TRUE");
  EXPECT_EQ(Eval("s LIKE 'a%'"), "NULL");
  EXPECT_EQ(Eval("channel LIKE NULL"), "NULL");
  EXPECT_EQ(Eval("channel LIKE s"), "NULL");
  EXPECT_EQ(Eval("'Apple' LIKE channel"), "TRUE");  // pattern from a field
  EXPECT_EQ(Eval("url LIKE concat('%', 'channel_id=', '%')"), "TRUE");
  EXPECT_EQ(Error("price LIKE '1%'"), "at column 1: LIKE expects STRING, got INT64");
}

TEST_F(ExpressionTest, Case) {
  EXPECT_EQ(Eval("CASE WHEN price > 500 THEN 'high' ELSE 'low' END"), "high");
  EXPECT_EQ(Eval("CASE WHEN price > 5000 THEN 'high' WHEN price > 100 THEN 'mid' END"), "mid");
  EXPECT_EQ(Eval("CASE WHEN price > 5000 THEN 'high' END"), "NULL");
  EXPECT_TRUE(Compile("CASE WHEN flag THEN 1 END")->nullable());
  EXPECT_FALSE(Compile("CASE WHEN flag THEN 1 ELSE 2 END")->nullable());
  EXPECT_EQ(Eval("CASE WHEN n = 1 THEN 'x' ELSE 'null is not true' END"), "null is not true");
  EXPECT_EQ(Eval("case channel when 'Google' then 1 when 'Apple' then 2 else 0 end"), "2");
  EXPECT_EQ(TypeOf("CASE WHEN flag THEN 1 ELSE 2.5 END"), "DECIMAL(1)");
  EXPECT_EQ(Eval("CASE WHEN flag THEN 1 ELSE 2.5 END"), "1.0");
  EXPECT_EQ(TypeOf("CASE WHEN flag THEN p ELSE 1 END"), "DECIMAL(2)");
  EXPECT_EQ(TypeOf("CASE WHEN flag THEN p ELSE CAST(1 AS DECIMAL(5, 3)) END"), "DECIMAL(3)");
  EXPECT_EQ(Eval("CASE WHEN flag THEN p ELSE CAST(1 AS DECIMAL(5, 3)) END"), "12.340");
  EXPECT_EQ(Eval("CASE WHEN flag THEN NULL ELSE 'x' END"), "NULL");
  // Nexmark q14's day/night tag.
  EXPECT_EQ(Eval("CASE WHEN hour(dateTime) >= 8 AND hour(dateTime) <= 18 THEN 'dayTime' "
                 "WHEN hour(dateTime) <= 6 OR hour(dateTime) >= 20 THEN 'nightTime' "
                 "ELSE 'otherTime' END"),
            "dayTime");
  EXPECT_EQ(Error("CASE WHEN flag THEN 1 ELSE 'x' END"),
            "at column 1: CASE mixes incompatible types INT64 and STRING");
  EXPECT_EQ(Error("CASE WHEN price THEN 1 END"), "at column 11: WHEN expects BOOL, got INT64");
  EXPECT_EQ(Error("CASE price END"), "at column 12: expected WHEN, got 'END'");
  EXPECT_EQ(Error("CASE WHEN flag THEN 1"), "at column 22: expected END, got end of expression");
}

TEST_F(ExpressionTest, Casts) {
  EXPECT_EQ(Eval("CAST(price AS DOUBLE)"), "1000.0");
  EXPECT_EQ(Eval("CAST(1.9 AS BIGINT)"), "1");
  EXPECT_EQ(Eval("CAST(-1.9 AS INT64)"), "-1");
  EXPECT_EQ(Eval("CAST(1e30 AS INT64)"), "9223372036854775807");
  EXPECT_EQ(Eval("CAST(p AS INT)"), "12");
  EXPECT_EQ(Eval("CAST(-p AS INTEGER)"), "-12");
  EXPECT_EQ(Eval("CAST(p AS DOUBLE)"), "12.34");
  EXPECT_EQ(Eval("CAST(p AS DECIMAL(10, 1))"), "12.3");
  EXPECT_EQ(Eval("CAST(p AS DECIMAL(10, 4))"), "12.3400");
  EXPECT_EQ(Eval("CAST(2.5 AS DECIMAL(10, 0))"), "3");
  EXPECT_EQ(Eval("CAST(-2.5 AS DECIMAL(10, 0))"), "-3");
  EXPECT_EQ(Eval("CAST(price AS DECIMAL(10, 2))"), "1000.00");
  EXPECT_EQ(Eval("CAST(d AS DECIMAL(10, 2))"), "2.50");
  EXPECT_EQ(Eval("CAST(1e30 AS DECIMAL(38, 2))"), "NULL");
  EXPECT_EQ(Eval("CAST(price AS STRING)"), "1000");
  EXPECT_EQ(Eval("CAST(d AS VARCHAR)"), "2.5");
  EXPECT_EQ(Eval("CAST(-p AS STRING)"), "-12.34");
  EXPECT_EQ(Eval("CAST(CAST(-5 AS DECIMAL(5,2)) / 100 AS STRING)"), "-0.050000");
  EXPECT_EQ(Eval("CAST(flag AS STRING)"), "TRUE");
  EXPECT_EQ(Eval("CAST(dateTime AS STRING)"), "2015-07-15 17:30:15.123");
  EXPECT_EQ(Eval("CAST(' 42 ' AS BIGINT)"), "42");
  EXPECT_EQ(Eval("CAST('4x2' AS BIGINT)"), "NULL");
  EXPECT_EQ(Eval("CAST('2.5e1' AS DOUBLE)"), "25.0");
  EXPECT_EQ(Eval("CAST('12.345' AS DECIMAL(10, 2))"), "12.35");
  EXPECT_EQ(Eval("CAST('-0.005' AS DECIMAL(10, 2))"), "-0.01");
  EXPECT_EQ(Eval("CAST('abc' AS DECIMAL(10, 2))"), "NULL");
  EXPECT_EQ(Eval("CAST('yes' AS BOOLEAN)"), "TRUE");
  EXPECT_EQ(Eval("CAST('FALSE' AS BOOL)"), "FALSE");
  EXPECT_EQ(Eval("CAST('maybe' AS BOOL)"), "NULL");
  EXPECT_EQ(Eval("CAST('2015-07-15 17:30:15.123' AS TIMESTAMP)"), "2015-07-15 17:30:15.123");
  EXPECT_EQ(Eval("CAST('2015-07-15T01:02:03' AS TIMESTAMP(3))"), "2015-07-15 01:02:03.000");
  EXPECT_EQ(Eval("CAST('2015-02-30' AS TIMESTAMP)"), "NULL");
  EXPECT_EQ(Eval("CAST(TRUE AS INT)"), "1");
  EXPECT_EQ(Eval("CAST(0 AS BOOLEAN)"), "FALSE");
  EXPECT_EQ(Eval("CAST(2.5 AS BOOLEAN)"), "TRUE");
  EXPECT_EQ(Eval("CAST(TRUE AS DECIMAL(5, 2))"), "1.00");
  EXPECT_EQ(Eval("CAST(NULL AS STRING)"), "NULL");
  EXPECT_EQ(TypeOf("CAST(NULL AS STRING)"), "STRING");
  EXPECT_EQ(Eval("CAST(n AS DOUBLE)"), "NULL");
  EXPECT_TRUE(Compile("CAST(channel AS BIGINT)")->nullable());
  EXPECT_EQ(Error("CAST(price AS TIMESTAMP)"),
            "at column 1: cannot cast INT64 to TIMESTAMP (use to_timestamp_ms)");
  EXPECT_EQ(Error("CAST(dateTime AS DOUBLE)"), "at column 1: cannot cast TIMESTAMP to DOUBLE");
  EXPECT_NE(Error("CAST(price AS BLOB)").find("at column 15: unknown type 'BLOB'"),
            std::string::npos);
  EXPECT_EQ(Error("CAST(price DOUBLE)"), "at column 12: expected AS, got 'DOUBLE'");
}

TEST_F(ExpressionTest, StringFunctions) {
  EXPECT_EQ(Eval("lower(channel)"), "apple");
  EXPECT_EQ(Eval("UPPER(channel)"), "APPLE");
  EXPECT_EQ(Eval("upper(extra)"), "HéLLO WöRLD");  // ASCII letters only
  EXPECT_EQ(Eval("lower('already lower')"), "already lower");
  EXPECT_EQ(Eval("trim('  a b  ')"), "a b");
  EXPECT_EQ(Eval("trim('   ')"), "");
  EXPECT_EQ(Eval("char_length(extra)"), "11");
  EXPECT_EQ(Eval("char_length('日本')"), "2");
  EXPECT_EQ(Eval("char_length('')"), "0");
  EXPECT_EQ(Eval("concat('a', channel, 'c')"), "aApplec");
  EXPECT_EQ(Eval("concat('a', s)"), "NULL");
  EXPECT_EQ(Eval("channel || '-' || 'x'"), "Apple-x");
  EXPECT_EQ(Eval("concat('', '')"), "");
  EXPECT_EQ(Error("concat('a', 1)"),
            "at column 13: concat expects STRING for argument 2, got INT64 (use CAST(x AS STRING))");
}

TEST_F(ExpressionTest, Substring) {
  EXPECT_EQ(Eval("substring('hello', 2)"), "ello");
  EXPECT_EQ(Eval("substring('hello', 2, 3)"), "ell");
  EXPECT_EQ(Eval("substring('hello', 1, 100)"), "hello");
  EXPECT_EQ(Eval("substring('hello', 0, 2)"), "he");
  EXPECT_EQ(Eval("substring('hello', -3)"), "llo");
  EXPECT_EQ(Eval("substring('hello', -3, 2)"), "ll");
  EXPECT_EQ(Eval("substring('hello', -7, 3)"), "h");
  EXPECT_EQ(Eval("substring('hello', 10)"), "");
  EXPECT_EQ(Eval("substring('hello', 2, -1)"), "");
  EXPECT_EQ(Eval("substring('héllo', 2, 2)"), "él");
  EXPECT_EQ(Eval("substring(s, 1)"), "NULL");
  EXPECT_EQ(Eval("substring('hello', n)"), "NULL");
  EXPECT_EQ(Error("substring('hello')"), "at column 1: substring expects 2 or 3 arguments, got 1");
  EXPECT_EQ(Error("substring('hello', '1')"),
            "at column 20: substring expects INT64 for argument 2, got STRING");
}

TEST_F(ExpressionTest, SplitIndex) {
  EXPECT_EQ(Eval("split_index(url, '/', 3)"), "xyz");  // Nexmark q22
  EXPECT_EQ(Eval("split_index(url, '/', 0)"), "https:");
  EXPECT_EQ(Eval("split_index(url, '/', 1)"), "");
  EXPECT_EQ(Eval("split_index(url, '/', 4)"), "item.htm?query=1&channel_id=123");
  EXPECT_EQ(Eval("split_index(url, '/', 5)"), "NULL");
  EXPECT_EQ(Eval("split_index(url, '/', -1)"), "NULL");
  EXPECT_EQ(Eval("split_index('a::b::c', '::', 2)"), "c");
  EXPECT_EQ(Eval("split_index('abc', ',', 0)"), "abc");
  EXPECT_EQ(Eval("split_index('a,', ',', 1)"), "");
  EXPECT_EQ(Eval("split_index(s, ',', 0)"), "NULL");
  EXPECT_TRUE(Compile("split_index(channel, ',', 0)")->nullable());
}

TEST_F(ExpressionTest, RegexpExtract) {
  EXPECT_EQ(Eval("regexp_extract(url, '(&|^)channel_id=([^&]*)', 2)"), "123");  // Nexmark q21
  EXPECT_EQ(Eval("regexp_extract(url, 'channel_id=[0-9]+')"), "channel_id=123");
  EXPECT_EQ(Eval("regexp_extract(url, '(&|^)channel_id=([^&]*)', 0)"), "&channel_id=123");
  EXPECT_EQ(Eval("regexp_extract('foothebar', 'foo(.*?)(bar)', 1)"), "the");
  EXPECT_EQ(Eval("regexp_extract(channel, 'x(y)')"), "NULL");
  EXPECT_EQ(Eval("regexp_extract('ab', 'a|(z)', 1)"), "NULL");  // group did not take part
  EXPECT_EQ(Eval("regexp_extract('ab', '(a)', n)"), "NULL");
  EXPECT_EQ(Eval("regexp_extract(s, 'a')"), "NULL");
  EXPECT_EQ(Error("regexp_extract(url, channel)"),
            "at column 21: regexp_extract needs a string literal as its pattern");
  EXPECT_NE(Error("regexp_extract(url, '(unclosed')").find("at column 21: bad regular expression"),
            std::string::npos);
  EXPECT_EQ(Error("regexp_extract(url, '(a)', 2)"),
            "at column 28: group 2 out of range: the pattern has 1 groups");
}

TEST_F(ExpressionTest, NumericFunctions) {
  EXPECT_EQ(Eval("abs(-5)"), "5");
  EXPECT_EQ(Eval("abs(-2.5)"), "2.5");
  EXPECT_EQ(Eval("abs(-p)"), "12.34");
  EXPECT_EQ(TypeOf("abs(-p)"), "DECIMAL(2)");
  EXPECT_EQ(Eval("abs(n)"), "NULL");
  EXPECT_EQ(Eval("mod(7, 3)"), "1");
  EXPECT_EQ(Eval("mod(-7, 3)"), "-1");
  EXPECT_EQ(Eval("mod(7, 0)"), "NULL");
  EXPECT_EQ(Eval("mod(d, 2)"), "0.5");
  EXPECT_EQ(Eval("floor(2.7)"), "2");
  EXPECT_EQ(Eval("floor(-2.5)"), "-3");
  EXPECT_EQ(Eval("ceil(2.1)"), "3");
  EXPECT_EQ(Eval("ceil(5)"), "5");
  EXPECT_EQ(Eval("floor(p)"), "12");
  EXPECT_EQ(TypeOf("floor(p)"), "DECIMAL(0)");
  EXPECT_EQ(Eval("ceil(p)"), "13");
  EXPECT_EQ(Eval("floor(-p)"), "-13");
  EXPECT_EQ(Eval("ceil(-p)"), "-12");
  EXPECT_EQ(Eval("round(2.5)"), "3");
  EXPECT_EQ(Eval("round(-2.5)"), "-3");
  EXPECT_EQ(Eval("round(1.2345, 2)"), "1.23");
  EXPECT_EQ(Eval("round(1234.5, -2)"), "1200");
  EXPECT_EQ(Eval("round(p, 1)"), "12.3");
  EXPECT_EQ(Compile("round(p, 1)")->ToString(), "round(p, 1)");
  EXPECT_EQ(TypeOf("round(p, 1)"), "DECIMAL(1)");
  EXPECT_EQ(Eval("round(CAST(12.35 AS DECIMAL(5, 2)), 1)"), "12.4");
  EXPECT_EQ(Eval("round(p)"), "12");
  EXPECT_EQ(Eval("round(p, 5)"), "12.34");
  EXPECT_EQ(Eval("round(1250, -2)"), "1300");
  EXPECT_EQ(Eval("round(-1250, -2)"), "-1300");
  EXPECT_EQ(Eval("round(1234, 2)"), "1234");
  EXPECT_EQ(Error("round(d, price)"), "at column 10: round needs an integer literal as its digit count");
  EXPECT_EQ(Error("abs('x')"), "at column 5: abs expects a number for argument 1, got STRING");
}

TEST_F(ExpressionTest, CoalesceGreatestLeast) {
  EXPECT_EQ(Eval("coalesce(n, price)"), "1000");
  EXPECT_EQ(Eval("coalesce(n, 1.5)"), "1.5");
  EXPECT_EQ(TypeOf("coalesce(n, 1.5)"), "DECIMAL(1)");
  EXPECT_EQ(Eval("coalesce(s, channel)"), "Apple");
  EXPECT_EQ(Eval("coalesce(n, NULL)"), "NULL");
  EXPECT_EQ(Eval("coalesce(NULL, NULL)"), "NULL");
  EXPECT_FALSE(Compile("coalesce(n, 0)")->nullable());
  EXPECT_TRUE(Compile("coalesce(n, auction)")->nullable());
  EXPECT_EQ(Error("coalesce(n, 'x')"), "at column 1: coalesce mixes incompatible types INT64 and STRING");
  EXPECT_EQ(Eval("greatest(1, 2.5, p)"), "12.34");
  EXPECT_EQ(TypeOf("greatest(1, 2.5, p)"), "DECIMAL(2)");
  EXPECT_EQ(Eval("greatest(3, 7, 5)"), "7");
  EXPECT_EQ(Eval("least(3, 7, 5)"), "3");
  EXPECT_EQ(Eval("least('b', 'a', 'c')"), "a");
  EXPECT_EQ(Eval("greatest(p, 13)"), "13.00");
  EXPECT_EQ(Eval("greatest(1, n)"), "NULL");
  EXPECT_EQ(Eval("least(dateTime, TIMESTAMP '2000-01-01 00:00:00')"), "2000-01-01 00:00:00.000");
}

TEST_F(ExpressionTest, TimeFunctions) {
  EXPECT_EQ(Eval("hour(dateTime)"), "17");
  EXPECT_EQ(Eval("minute(dateTime)"), "30");
  EXPECT_EQ(TypeOf("hour(dateTime)"), "INT64");
  EXPECT_EQ(Eval("hour(to_timestamp_ms(-1))"), "23");
  EXPECT_EQ(Eval("minute(to_timestamp_ms(-1))"), "59");
  EXPECT_EQ(Eval("to_timestamp_ms(0)"), "1970-01-01 00:00:00.000");
  EXPECT_EQ(Eval("to_timestamp_ms(auction)"), "1970-01-01 00:00:01.001");
  EXPECT_EQ(Eval("date_format(dateTime, 'yyyy-MM-dd')"), "2015-07-15");  // Nexmark q10, q15
  EXPECT_EQ(Eval("date_format(dateTime, 'HH:mm')"), "17:30");
  EXPECT_EQ(Eval("date_format(dateTime, 'yyyy-MM-dd HH:mm:ss.SSS')"), "2015-07-15 17:30:15.123");
  EXPECT_EQ(Eval("date_format(dateTime, 'yyyyMMdd''T''HHmmss')"), "20150715T173015");
  EXPECT_EQ(Eval("date_format(dateTime, 'MMM d, yy hh a')"), "Jul 15, 15 05 PM");
  EXPECT_EQ(Eval("date_format(dateTime, 'MMMM/M/S')"), "July/7/1");
  EXPECT_EQ(Eval("date_format(to_timestamp_ms(-1), 'yyyy-MM-dd HH:mm:ss.SSS')"),
            "1969-12-31 23:59:59.999");
  EXPECT_EQ(Eval("date_format('2015-07-15 01:02:03', 'HH-mm-ss')"), "01-02-03");
  EXPECT_EQ(Eval("date_format(CAST(s AS TIMESTAMP), 'HH')"), "NULL");
  EXPECT_EQ(Error("hour(price)"), "at column 6: hour expects TIMESTAMP for argument 1, got INT64");
  EXPECT_EQ(Error("date_format(dateTime, channel)"),
            "at column 23: date_format needs a string literal as its pattern");
  EXPECT_NE(Error("date_format(dateTime, 'yyyy-QQ')").find("at column 23: unsupported letter 'Q'"),
            std::string::npos);
}

TEST_F(ExpressionTest, UnknownNamesAndArity) {
  EXPECT_EQ(Error("price + prise"),
            "at column 9: unknown field 'prise' (fields: auction, price, channel, url, dateTime, "
            "extra, d, p, flag, n, s, my field, nn)");
  EXPECT_EQ(Error("Price"),
            "at column 1: unknown field 'Price' (fields: auction, price, channel, url, dateTime, "
            "extra, d, p, flag, n, s, my field, nn)");
  EXPECT_NE(Error("frobnicate(price)").find("at column 1: unknown function 'frobnicate' (functions: abs,"),
            std::string::npos);
  EXPECT_EQ(Error("lower()"), "at column 1: lower expects 1 argument, got 0");
  EXPECT_EQ(Error("coalesce()"), "at column 1: coalesce expects at least 1 argument, got 0");
  EXPECT_EQ(Error("split_index('a', 'b')"), "at column 1: split_index expects 3 arguments, got 2");
}

TEST_F(ExpressionTest, TypeErrorsNameTheColumn) {
  EXPECT_EQ(Error("price + 'a'"), "at column 7: operator '+' cannot be applied to INT64 and STRING");
  EXPECT_EQ(Error("flag * 2"), "at column 6: operator '*' cannot be applied to BOOL and INT64");
  EXPECT_EQ(Error("-channel"), "at column 1: operator '-' cannot be applied to STRING");
  EXPECT_EQ(Error("price AND flag"), "at column 1: AND expects BOOL, got INT64");
  EXPECT_EQ(Error("flag OR  d"), "at column 10: OR expects BOOL, got DOUBLE");
  EXPECT_EQ(Error("NOT price"), "at column 5: NOT expects BOOL, got INT64");
  EXPECT_EQ(Error("channel = 1"), "at column 9: cannot compare STRING with INT64 in '='");
  EXPECT_EQ(Error("dateTime > 5"), "at column 10: cannot compare TIMESTAMP with INT64 in '>'");
  EXPECT_EQ(Error("'日本' || prise"),
            "at column 9: unknown field 'prise' (fields: auction, price, channel, url, dateTime, "
            "extra, d, p, flag, n, s, my field, nn)");
}

TEST_F(ExpressionTest, SyntaxErrors) {
  EXPECT_EQ(Error(""), "at column 1: expected an expression, got end of expression");
  EXPECT_EQ(Error("price +"), "at column 8: expected an expression, got end of expression");
  EXPECT_EQ(Error("price 2"), "at column 7: unexpected '2'");
  EXPECT_EQ(Error("(price"), "at column 7: expected ')', got end of expression");
  EXPECT_EQ(Error("'open"), "at column 1: unterminated string literal");
  EXPECT_EQ(Error("`open"), "at column 1: unterminated quoted name");
  EXPECT_EQ(Error("price # 2"), "at column 7: unexpected character '#'");
  EXPECT_EQ(Error("\"x\""),
            "at column 1: unexpected character '\"' (strings use single quotes, names use backquotes)");
  EXPECT_EQ(Error("12abc"), "at column 1: malformed number '12a'");
  EXPECT_EQ(Error("price IS 1"), "at column 10: expected NULL, got '1'");
  EXPECT_EQ(Error("price IN ()"), "at column 11: expected an expression, got ')'");
  EXPECT_EQ(Error("end + 1"),
            "at column 1: expected an expression, got keyword 'end' (backquote a field with that name)");
  EXPECT_EQ(Error("lower(channel"), "at column 14: expected ')', got end of expression");
  EXPECT_EQ(Error("price BETWEEN 1 OR 2"), "at column 17: expected AND, got 'OR'");
}

TEST_F(ExpressionTest, NestingIsBounded) {
  std::string deep_parens = std::string(200, '(') + "1" + std::string(200, ')');
  EXPECT_EQ(Eval(deep_parens), "1");
  std::string long_chain = "0";
  for (int i = 0; i < 200; ++i) long_chain += " + 1";
  EXPECT_EQ(Eval(long_chain), "200");
  EXPECT_NE(Error(std::string(100000, '(') + "1").find("nested too deeply"), std::string::npos);
  std::string huge_chain = "price";
  for (int i = 0; i < 100000; ++i) huge_chain += " + 1";
  EXPECT_NE(Error(huge_chain).find("nested too deeply"), std::string::npos);
  EXPECT_NE(Error(std::string(100000, '-') + "1").find("nested too deeply"), std::string::npos);
}

TEST_F(ExpressionTest, StoreValueRoundTrips) {
  const char* exprs[] = {"flag", "price * 2", "d / 2", "p + 1", "upper(channel)", "dateTime", "n"};
  std::vector<std::unique_ptr<CompiledExpression>> compiled;
  Schema out;
  for (const char* e : exprs) {
    compiled.push_back(Compile(e));
    out.Add({e, compiled.back()->type(), compiled.back()->nullable(), compiled.back()->scale()});
  }
  RowBuilder builder(out.size());
  for (int round = 0; round < 3; ++round) {  // reuse of builder and context
    ctx_.Reset();
    builder.Reset();
    for (size_t i = 0; i < compiled.size(); ++i) {
      StoreValue(compiled[i]->Evaluate(row_, ctx_), i, builder);
    }
    std::string json;
    AppendRowJson(builder.Finish(), out, &json);
    EXPECT_EQ(json,
              "{\"flag\":true,\"price * 2\":2000,\"d / 2\":1.25,\"p + 1\":13.34,"
              "\"upper(channel)\":\"APPLE\",\"dateTime\":\"2015-07-15 17:30:15.123\",\"n\":null}");
  }
}

TEST_F(ExpressionTest, ScratchMemoryIsReusedAcrossRows) {
  auto e = Compile("concat(upper(channel), '-', lower(extra))");
  ctx_.Reset();
  const Value first = e->Evaluate(row_, ctx_);
  EXPECT_EQ(first.str, "APPLE-héllo wörld");
  for (int i = 0; i < 1000; ++i) {
    ctx_.Reset();
    const Value v = e->Evaluate(row_, ctx_);
    EXPECT_EQ(v.str.data(), first.str.data());
  }
}

TEST(EvalContextTest, AllocateGrowsAndReuses) {
  EvalContext ctx;
  char* a = ctx.Allocate(10);
  char* b = ctx.Allocate(10);
  EXPECT_EQ(b, a + 10);
  char* big = ctx.Allocate(100000);  // larger than a block: gets its own
  std::memset(big, 'x', 100000);
  char* after = ctx.Allocate(5000);
  std::memset(after, 'y', 5000);
  EXPECT_EQ(big[99999], 'x');
  ctx.Reset();
  EXPECT_EQ(ctx.Allocate(10), a);
  EXPECT_EQ(ctx.Allocate(10), b);
  EXPECT_EQ(ctx.Allocate(100000), big);
  EXPECT_NE(ctx.Allocate(0), nullptr);
}

TEST(SelectItemTest, BareFieldsKeepTheirName) {
  Result<SelectItem> r = ParseSelectItem("price");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->expression, "price");
  EXPECT_EQ(r->name, "price");

  r = ParseSelectItem("  `my field`  ");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->expression, "`my field`");
  EXPECT_EQ(r->name, "my field");
}

TEST(SelectItemTest, Aliases) {
  struct Case {
    const char* text;
    const char* expression;
    const char* name;
  };
  const Case cases[] = {
      {"price * 2 AS doubled", "price * 2", "doubled"},
      {"price * 2 as `Doubled Price`", "price * 2", "Doubled Price"},
      {"0.908 * price As price", "0.908 * price", "price"},
      {"CAST(price AS DOUBLE) AS p", "CAST(price AS DOUBLE)", "p"},
      {"'x AS y' AS z", "'x AS y'", "z"},
      {"`a AS b` AS c", "`a AS b`", "c"},
      {"CASE WHEN a THEN 'AS' END AS tag", "CASE WHEN a THEN 'AS' END", "tag"},
      {"upper(channel) AS `as`", "upper(channel)", "as"},
      {"price AS price", "price", "price"},
  };
  for (const Case& c : cases) {
    Result<SelectItem> r = ParseSelectItem(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(r->expression, c.expression) << c.text;
    EXPECT_EQ(r->name, c.name) << c.text;
  }
}

TEST(SelectItemTest, Errors) {
  for (const char* text : {"price * 2", "CAST(price AS DOUBLE)", "'a AS b'", "upper(channel)"}) {
    Result<SelectItem> r = ParseSelectItem(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("needs 'AS name'"), std::string::npos)
        << r.status().message();
  }
  EXPECT_EQ(ParseSelectItem("price AS").status().message(), "at column 9: expected one name after AS");
  EXPECT_EQ(ParseSelectItem("price AS a b").status().message(),
            "at column 12: expected one name after AS");
  EXPECT_EQ(ParseSelectItem("price AS 'x'").status().message(),
            "at column 10: expected one name after AS");
  EXPECT_EQ(ParseSelectItem("AS x").status().message(), "at column 1: expected an expression before AS");
  EXPECT_EQ(ParseSelectItem("price + AS x").status().message(),
            "at column 9: expected an expression, got end of expression");
  EXPECT_EQ(ParseSelectItem("price +").status().message(),
            "at column 8: expected an expression, got end of expression");
  EXPECT_EQ(ParseSelectItem("'open AS x").status().message(), "at column 1: unterminated string literal");
}

TEST_F(ExpressionTest, CountChar) {
  EXPECT_EQ(Eval("count_char(channel, 'p')"), "2");
  EXPECT_EQ(Eval("count_char(channel, 'z')"), "0");
  EXPECT_EQ(Eval("count_char(s, 'a')"), "NULL");
  EXPECT_EQ(Eval("count_char(channel, 'pp')"), "0");
}

}  // namespace
}  // namespace sluice
