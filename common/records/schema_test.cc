#include "common/records/schema.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

FieldType MustParse(std::string_view text, int32_t* scale = nullptr) {
  Result<FieldType> r = ParseFieldType(text, scale);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : FieldType::kBool;
}

TEST(FieldTypeTest, CanonicalNamesRoundTrip) {
  for (FieldType t : {FieldType::kBool, FieldType::kInt64, FieldType::kDouble,
                      FieldType::kDecimal, FieldType::kString, FieldType::kTimestamp}) {
    EXPECT_EQ(MustParse(FieldTypeName(t)), t);
  }
}

TEST(FieldTypeTest, AliasesAreCaseInsensitive) {
  EXPECT_EQ(MustParse("boolean"), FieldType::kBool);
  EXPECT_EQ(MustParse("Bool"), FieldType::kBool);
  EXPECT_EQ(MustParse("BIGINT"), FieldType::kInt64);
  EXPECT_EQ(MustParse("int"), FieldType::kInt64);
  EXPECT_EQ(MustParse("Integer"), FieldType::kInt64);
  EXPECT_EQ(MustParse("float"), FieldType::kDouble);
  EXPECT_EQ(MustParse("varchar"), FieldType::kString);
  EXPECT_EQ(MustParse("VARCHAR(255)"), FieldType::kString);
  EXPECT_EQ(MustParse("text"), FieldType::kString);
  EXPECT_EQ(MustParse("timestamp(3)"), FieldType::kTimestamp);
  EXPECT_EQ(MustParse("  TIMESTAMP ( 3 ) "), FieldType::kTimestamp);
}

TEST(FieldTypeTest, DecimalScale) {
  int32_t scale = -1;
  EXPECT_EQ(MustParse("DECIMAL(10,2)", &scale), FieldType::kDecimal);
  EXPECT_EQ(scale, 2);
  EXPECT_EQ(MustParse("decimal( 18 , 4 )", &scale), FieldType::kDecimal);
  EXPECT_EQ(scale, 4);
  EXPECT_EQ(MustParse("DECIMAL(7)", &scale), FieldType::kDecimal);
  EXPECT_EQ(scale, 0);
  scale = 9;
  EXPECT_EQ(MustParse("DECIMAL", &scale), FieldType::kDecimal);
  EXPECT_EQ(scale, 0);
  EXPECT_EQ(MustParse("DECIMAL(38, 2)", &scale), FieldType::kDecimal);
  EXPECT_EQ(scale, 2);
  EXPECT_EQ(MustParse("DECIMAL(5,2)"), FieldType::kDecimal);  // scale pointer optional
}

TEST(FieldTypeTest, Errors) {
  for (const char* bad : {"", "FLOATY", "DECIMAL(", "DECIMAL(2,3)", "DECIMAL(30,20)",
                          "DECIMAL(a,b)", "DECIMAL(1,2,3)", "DECIMAL(-1)", "INT64(3)",
                          "TIMESTAMP(6)", "VARCHAR(1,2)"}) {
    Result<FieldType> r = ParseFieldType(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_NE(ParseFieldType("blob").status().message().find("unknown type 'blob'"),
            std::string::npos);
}

TEST(SchemaTest, IndexOfAndToString) {
  Schema s({{"id", FieldType::kInt64, true, 0},
            {"name", FieldType::kString, false, 0},
            {"price", FieldType::kDecimal, true, 2}});
  s.Add({"my field", FieldType::kTimestamp, true, 0});
  EXPECT_EQ(s.size(), 4u);
  EXPECT_EQ(s.IndexOf("name"), 1u);
  EXPECT_EQ(s.IndexOf("my field"), 3u);
  EXPECT_EQ(s.IndexOf("Name"), std::nullopt);  // exact match only
  EXPECT_EQ(s.ToString(),
            "(id INT64, name STRING NOT NULL, price DECIMAL(2), `my field` TIMESTAMP)");
  EXPECT_EQ(Schema().ToString(), "()");
  EXPECT_TRUE(Schema().empty());
}

TEST(SchemaTest, Equality) {
  Schema a({{"x", FieldType::kDecimal, true, 2}});
  Schema b({{"x", FieldType::kDecimal, true, 2}});
  Schema c({{"x", FieldType::kDecimal, true, 3}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

}  // namespace
}  // namespace sluice
