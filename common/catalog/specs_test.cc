// The typed specs of the operators (common/catalog/<type>_spec.h): defaults,
// errors naming the option, and output schemas. The catalog and the runtime
// both bind options through these.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/catalog/blackhole_spec.h"
#include "common/catalog/calc_spec.h"
#include "common/catalog/datagen_spec.h"
#include "common/catalog/file_sink_spec.h"
#include "common/catalog/group_aggregate_spec.h"
#include "common/catalog/keyed_count_spec.h"
#include "common/catalog/nexmark_spec.h"
#include "common/catalog/print_spec.h"
#include "common/catalog/throttle_spec.h"
#include "common/catalog/window_aggregate_spec.h"
#include "common/catalog/window_max_spec.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

OperatorOptions Options(OperatorOptions::Map values) { return OperatorOptions("op", std::move(values)); }

// (id, key, value BIGINT, name STRING, ts TIMESTAMP)
const Schema kRows = DatagenSchema();

TEST(DatagenSpecTest, DefaultsAndErrors) {
  auto spec = ParseDatagen(Options({}));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->events, -1);
  EXPECT_EQ(spec->keys, 1000);
  EXPECT_EQ(spec->rate, 0);
  EXPECT_EQ(spec->base_time_ms, 1436918400000);
  EXPECT_EQ(spec->output.ToString(), DatagenSchema().ToString());
  EXPECT_EQ(ParseDatagen(Options({{"events", {"10"}}, {"keys", {"3"}}}))->keys, 3);
  EXPECT_THAT(ParseDatagen(Options({{"keys", {"0"}}})).status().message(),
              HasSubstr("operator 'op': option 'keys' must be >= 1"));
  EXPECT_THAT(ParseDatagen(Options({{"rate", {"fast"}}})).status().message(), HasSubstr("option 'rate'"));
}

TEST(NexmarkSpecTest, DefaultsAndErrors) {
  auto spec = ParseNexmark(Options({{"kind", {"auction"}}}));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->events, -1);
  EXPECT_EQ(spec->events_per_second, 10'000'000);
  EXPECT_EQ(spec->base_time_ms, 1436918400000);
  EXPECT_EQ(spec->output.ToString(), NexmarkSchema("auction").ToString());
  EXPECT_THAT(ParseNexmark(Options({})).status().message(), HasSubstr("option 'kind' is required"));
  EXPECT_THAT(ParseNexmark(Options({{"kind", {"bids"}}})).status().message(),
              HasSubstr("option 'kind' must be bid, auction or person, got 'bids'"));
}

TEST(CalcSpecTest, SelectWhereAndOutput) {
  auto all = ParseCalc(Options({}), kRows);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->where.empty());
  EXPECT_TRUE(all->select.empty());
  EXPECT_EQ(all->output.ToString(), kRows.ToString());
  auto spec = ParseCalc(Options({{"where", {"value > 3"}}, {"select", {"id", "value * 2 AS twice"}}}), kRows);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->where, "value > 3");
  ASSERT_EQ(spec->select.size(), 2u);
  EXPECT_EQ(spec->select[1].expression, "value * 2");
  EXPECT_EQ(spec->output.size(), 2u);
  EXPECT_EQ(spec->output.field(1).name, "twice");
  EXPECT_THAT(ParseCalc(Options({{"where", {"value"}}}), kRows).status().message(), HasSubstr("not BOOL"));
}

TEST(KeyedCountSpecTest, KeysAndOutput) {
  auto spec = ParseKeyedCount(Options({{"key", {"name", "key"}}}), kRows);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->key, (std::vector<size_t>{3, 1}));
  EXPECT_EQ(spec->output.ToString(), Schema({{"name", FieldType::kString, false, 0},
                                             {"key", FieldType::kInt64, false, 0},
                                             {"count", FieldType::kInt64, false, 0}})
                                         .ToString());
  EXPECT_THAT(ParseKeyedCount(Options({{"key", {"nope"}}}), kRows).status().message(),
              HasSubstr("key field 'nope' is not in"));
  EXPECT_THAT(ParseKeyedCount(Options({}), kRows).status().message(), HasSubstr("option 'key' names no field"));
}

TEST(ThrottleSpecTest, RateAndOutput) {
  auto spec = ParseThrottle(Options({{"rows-per-second", {"2.5"}}}), kRows);
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->rows_per_second, 2.5);
  EXPECT_EQ(spec->output.ToString(), kRows.ToString());
  EXPECT_THAT(ParseThrottle(Options({{"rows-per-second", {"0"}}}), kRows).status().message(),
              HasSubstr("option 'rows-per-second' must be positive"));
}

TEST(WindowAggregateSpecTest, WindowsKeysAndOutput) {
  auto spec = ParseWindowAggregate(
      Options({{"time", {"ts"}}, {"size", {"10s"}}, {"key", {"key"}}, {"aggregates", {"count(*) AS n"}}}), kRows);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_FALSE(spec->processing_time);
  EXPECT_EQ(spec->time, std::optional<size_t>(4));
  EXPECT_EQ(spec->size_ms, 10000);
  EXPECT_EQ(spec->slide_ms, 10000) << "no slide: tumbling";
  EXPECT_FALSE(spec->session());
  EXPECT_EQ(spec->key, std::vector<size_t>{1});
  EXPECT_EQ(spec->output.ToString(), Schema({{"key", FieldType::kInt64, false, 0},
                                             {"window_start", FieldType::kTimestamp, false, 0},
                                             {"window_end", FieldType::kTimestamp, false, 0},
                                             {"n", FieldType::kInt64, false, 0}})
                                         .ToString());
  auto session = ParseWindowAggregate(
      Options({{"processing-time", {"true"}}, {"gap", {"5s"}}, {"aggregates", {"max(value) AS m"}}}), kRows);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  EXPECT_TRUE(session->processing_time);
  EXPECT_FALSE(session->time);
  EXPECT_EQ(session->gap_ms, 5000);
  EXPECT_TRUE(session->session());
  EXPECT_THAT(ParseWindowAggregate(Options({{"time", {"ts"}}, {"size", {"10s"}}, {"slide", {"3s"}},
                                            {"aggregates", {"count(*) AS n"}}}),
                                   kRows)
                  .status()
                  .message(),
              HasSubstr("size must be a multiple of slide"));
  EXPECT_THAT(ParseWindowAggregate(Options({{"time", {"id"}}, {"size", {"1s"}}, {"aggregates", {"count(*)"}}}), kRows)
                  .status()
                  .message(),
              HasSubstr("time field 'id' must be a TIMESTAMP field"));
}

TEST(GroupAggregateSpecTest, DefaultsChangelogAndOutput) {
  auto spec = ParseGroupAggregate(Options({{"key", {"key"}}, {"aggregates", {"sum(value) AS s"}}}), kRows);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->buffer_entries, 16384);
  EXPECT_FALSE(spec->changelog);
  EXPECT_EQ(spec->key, std::vector<size_t>{1});
  ASSERT_EQ(spec->aggregates.size(), 1u);
  EXPECT_EQ(spec->output.ToString(), Schema({{"op", FieldType::kString, false, 0},
                                             {"key", FieldType::kInt64, false, 0},
                                             {"s", FieldType::kInt64, true, 0}})
                                         .ToString());
  EXPECT_TRUE(ParseGroupAggregate(Options({{"aggregates", {"count(*)"}}}), spec->output)->changelog);
  EXPECT_THAT(ParseGroupAggregate(Options({{"aggregates", {"count(*)"}}, {"buffer-entries", {"0"}}}), kRows)
                  .status()
                  .message(),
              HasSubstr("option 'buffer-entries' must be >= 1"));
  EXPECT_THAT(ParseGroupAggregate(Options({{"aggregates", {"count(*)"}}, {"buffer-entries", {"x"}}}), kRows)
                  .status()
                  .message(),
              HasSubstr("operator 'op': option 'buffer-entries' must be an integer"));
}

TEST(WindowMaxSpecTest, WindowsOfTheInputOrOfATimeField) {
  Schema windows({{"window_start", FieldType::kTimestamp, false, 0},
                  {"window_end", FieldType::kTimestamp, false, 0},
                  {"price", FieldType::kDouble, false, 0}});
  auto spec = ParseWindowMax(Options({{"field", {"price"}}}), windows);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->field, 2u);
  EXPECT_EQ(spec->window_start, 0u);
  EXPECT_EQ(spec->window_end, 1u);
  EXPECT_FALSE(spec->tumbling());
  EXPECT_EQ(spec->output.ToString(), windows.ToString());
  auto tumbling = ParseWindowMax(Options({{"field", {"value"}}, {"time", {"ts"}}, {"size", {"1s"}}}), kRows);
  ASSERT_TRUE(tumbling.ok()) << tumbling.status().ToString();
  EXPECT_EQ(tumbling->window_start, 4u);
  EXPECT_EQ(tumbling->window_end, 4u);
  EXPECT_EQ(tumbling->size_ms, 1000);
  EXPECT_THAT(ParseWindowMax(Options({{"field", {"name"}}}), windows).status().message(),
              HasSubstr("field 'name' is not in"));
  EXPECT_THAT(ParseWindowMax(Options({{"field", {"value"}}, {"time", {"ts"}}}), kRows).status().message(),
              HasSubstr("'time' and 'size' go together"));
}

TEST(FileSinkSpecTest, PathPartitionsAndOverwrite) {
  auto spec = ParseFileSink(Options({{"path", {"/tmp/out"}}, {"partition-by", {"key"}}}), kRows);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->path, "/tmp/out");
  EXPECT_EQ(spec->partition_by, std::vector<size_t>{1});
  EXPECT_FALSE(spec->overwrite);
  EXPECT_TRUE(ParseFileSink(Options({{"path", {""}}, {"sink.overwrite", {"true"}}}), kRows)->overwrite);
  EXPECT_THAT(ParseFileSink(Options({}), kRows).status().message(), HasSubstr("option 'path' is required"));
  EXPECT_THAT(ParseFileSink(Options({{"path", {"x"}}, {"sink.overwrite", {"yes"}}}), kRows).status().message(),
              HasSubstr("option 'sink.overwrite' must be true or false, got 'yes'"));
  EXPECT_THAT(ParseFileSink(Options({{"path", {"x"}}, {"partition-by", {"nope"}}}), kRows).status().message(),
              HasSubstr("partition field 'nope' is not in"));
}

TEST(SinkSpecTest, PrintAndBlackholeTakeNoOptions) {
  EXPECT_TRUE(ParsePrint(Options({}), kRows).ok());
  EXPECT_TRUE(ParseBlackhole(Options({}), kRows).ok());
  EXPECT_TRUE(PrintSignature().options.empty());
  EXPECT_TRUE(BlackholeSignature().options.empty());
}

TEST(OperatorErrorsTest, NameOperatorOnce) {
  EXPECT_EQ(NameOperator("w", Status::InvalidArgument("size must be a multiple of slide")).message(),
            "operator 'w': size must be a multiple of slide");
  EXPECT_EQ(NameOperator("w", Status::InvalidArgument("operator 'w': option 'n' is required")).message(),
            "operator 'w': option 'n' is required");
}

}  // namespace
}  // namespace sluice
