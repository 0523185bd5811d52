#include "common/catalog/operator_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/catalog/datagen_spec.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

OperatorOptions Options(std::string id, OperatorOptions::Map values) {
  return OperatorOptions(std::move(id), std::move(values));
}

TEST(OperatorCatalogTest, DatagenHasItsDocumentedSchema) {
  auto catalog = OperatorCatalog::Builtin();
  auto schema = catalog.Resolve("datagen", {}, Options("gen", {{"events", {"10"}}}));
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(schema->ToString(), DatagenSchema().ToString());
  EXPECT_EQ(schema->size(), 5u);
}

TEST(OperatorCatalogTest, CalcInfersTypesAndNames) {
  auto catalog = OperatorCatalog::Builtin();
  auto schema = catalog.Resolve(
      "calc", {DatagenSchema()},
      Options("c", {{"select", {"id", "value * 2 AS doubled", "value / 2.0 AS half", "upper(name) AS name"}},
                    {"where", {"value > 10"}}}));
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  ASSERT_EQ(schema->size(), 4u);
  EXPECT_EQ(schema->field(0).name, "id");
  EXPECT_EQ(schema->field(1).name, "doubled");
  EXPECT_EQ(schema->field(1).type, FieldType::kInt64);
  EXPECT_EQ(schema->field(2).type, FieldType::kDecimal) << "2.0 is an exact DECIMAL literal, as in Flink SQL";
  EXPECT_EQ(schema->field(3).type, FieldType::kString);
}

TEST(OperatorCatalogTest, ErrorsNameTheOperatorAndTheProblem) {
  auto catalog = OperatorCatalog::Builtin();
  auto r = catalog.Resolve("calc", {DatagenSchema()}, Options("c", {{"wher", {"x"}}}));
  EXPECT_THAT(r.status().message(), HasSubstr("operator 'c' (calc): unknown option 'wher' (known: select, where)"));
  r = catalog.Resolve("calc", {DatagenSchema()}, Options("c", {{"where", {"value + 1"}}}));
  EXPECT_THAT(r.status().message(), HasSubstr("is INT64, not BOOL"));
  r = catalog.Resolve("calc", {DatagenSchema()}, Options("c", {{"select", {"value + 1"}}}));
  EXPECT_THAT(r.status().message(), HasSubstr("operator 'c' (calc)"));
  EXPECT_THAT(r.status().message(), HasSubstr("AS"));
  r = catalog.Resolve("calc", {DatagenSchema()}, Options("c", {{"select", {"id", "key AS id"}}}));
  EXPECT_THAT(r.status().message(), HasSubstr("duplicate output name 'id'"));
  r = catalog.Resolve("warp", {}, Options("w", {}));
  EXPECT_THAT(r.status().message(), HasSubstr("operator 'w': unknown operator type 'warp' (known: blackhole, calc, datagen, file-sink, "));
  r = catalog.Resolve("datagen", {}, Options("g", {{"events", {"many"}}}));
  EXPECT_THAT(r.status().message(), HasSubstr("operator 'g': option 'events' must be an integer, got 'many'"));
  r = catalog.Resolve("file-sink", {DatagenSchema()}, Options("s", {}));
  EXPECT_THAT(r.status().message(), HasSubstr("option 'path' is required"));
  r = catalog.Resolve("blackhole", {}, Options("s", {}));
  EXPECT_THAT(r.status().message(), HasSubstr("operator 's' (blackhole): needs an input"));
}

TEST(OperatorCatalogTest, SinksProduceNoSchema) {
  auto catalog = OperatorCatalog::Builtin();
  auto r = catalog.Resolve("file-sink", {DatagenSchema()}, Options("s", {{"path", {"/tmp/x"}}}));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST(OperatorCatalogTest, JoinsTakeTwoInputsAndUnionsOneSchema) {
  auto catalog = OperatorCatalog::Builtin();
  Schema left({{"id", FieldType::kInt64, false}, {"t", FieldType::kTimestamp, false}});
  Schema right({{"ref", FieldType::kInt64, false}, {"t", FieldType::kTimestamp, false}});
  OperatorOptions join("j", {{"left-key", {"id"}}, {"right-key", {"ref"}}});
  auto out = catalog.Resolve("join", {left, right}, join);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->ToString(), "(id INT64 NOT NULL, t TIMESTAMP NOT NULL, ref INT64 NOT NULL, t0 TIMESTAMP NOT NULL)");
  EXPECT_THAT(catalog.Resolve("join", {left}, join).status().message(),
              ::testing::HasSubstr("a join needs exactly two inputs (left, then right), has 1"));
  // Several edges into a one-input operator are a union: one schema.
  EXPECT_TRUE(catalog.Resolve("blackhole", {left, left}, OperatorOptions("b", {})).ok());
  EXPECT_THAT(catalog.Resolve("blackhole", {left, right}, OperatorOptions("b", {})).status().message(),
              ::testing::HasSubstr("its inputs have different schemas"));
}

}  // namespace
}  // namespace sluice
