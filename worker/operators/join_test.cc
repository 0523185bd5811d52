#include "worker/operators/join.h"

#include <fstream>

#include "worker/operators/lookup_join.h"

#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "worker/operators/testing/json_collector.h"

namespace sluice {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const Schema kAuction({{"id", FieldType::kInt64, false},
                       {"dateTime", FieldType::kTimestamp, false},
                       {"expires", FieldType::kTimestamp, false}});
const Schema kBid({{"auction", FieldType::kInt64, false},
                   {"price", FieldType::kInt64, false},
                   {"dateTime", FieldType::kTimestamp, false}});

RowView Auction(RowBuilder& b, int64_t id, int64_t t, int64_t expires) {
  b.Reset();
  b.SetInt64(0, id);
  b.SetTimestampMillis(1, t);
  b.SetTimestampMillis(2, expires);
  return b.Finish();
}

RowView Bid(RowBuilder& b, int64_t auction, int64_t price, int64_t t) {
  b.Reset();
  b.SetInt64(0, auction);
  b.SetInt64(1, price);
  b.SetTimestampMillis(2, t);
  return b.Finish();
}

class JoinTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<JoinOperator> Make(std::string type, OperatorOptions::Map options, const Schema& left,
                                     const Schema& right) {
    OperatorSetup s;
    s.id = "j";
    s.type = type;
    s.options = OperatorOptions("j", std::move(options));
    s.input = left;
    s.second_input = right;
    StateBackendOptions state{GetParam(), (std::filesystem::temp_directory_path() /
                                           ("sluice-join-test-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(counter_++)))
                                              .string()};
    s.open_state = [state] { return OpenStateBackend(state); };
    auto op = JoinOperator::Create(s);
    EXPECT_TRUE(op.ok()) << op.status().ToString();
    if (!op.ok()) return nullptr;
    return std::unique_ptr<JoinOperator>(static_cast<JoinOperator*>(op->release()));
  }
  int counter_ = 0;
};

TEST_P(JoinTest, MatchesWhicheverSideArrivesFirst) {
  auto join = Make("join", {{"left-key", {"id"}}, {"right-key", {"auction"}}}, kAuction, kBid);
  ASSERT_NE(join, nullptr);
  auto out_schema = ParseJoin("join", OperatorOptions("j", {{"left-key", {"id"}}, {"right-key", {"auction"}}}),
                              kAuction, kBid);
  ASSERT_TRUE(out_schema.ok());
  EXPECT_EQ(out_schema->output.field(5).name, "dateTime0") << "a clashing right name gets '0'";
  JsonCollector out(out_schema->output);
  RowBuilder a(3), b(3);
  join->ProcessSecond(Bid(b, 1, 10, 5), out);  // before its auction
  join->Process(Auction(a, 1, 0, 100), out);
  join->ProcessSecond(Bid(b, 1, 20, 6), out);  // after it
  join->ProcessSecond(Bid(b, 2, 30, 7), out);  // no auction 2
  join->Process(Auction(a, 3, 0, 100), out);   // no bid on 3
  ASSERT_TRUE(join->failure().ok());
  EXPECT_THAT(out.rows,
              ElementsAre(R"({"id":1,"dateTime":"1970-01-01 00:00:00.000","expires":"1970-01-01 00:00:00.100","auction":1,)"
                          R"("price":10,"dateTime0":"1970-01-01 00:00:00.005"})",
                          R"({"id":1,"dateTime":"1970-01-01 00:00:00.000","expires":"1970-01-01 00:00:00.100","auction":1,)"
                          R"("price":20,"dateTime0":"1970-01-01 00:00:00.006"})"));
}

TEST_P(JoinTest, WhereConditionAndExpiryBoundState) {
  OperatorOptions::Map options = {{"left-key", {"id"}},
                                  {"right-key", {"auction"}},
                                  {"where", {"dateTime0 BETWEEN dateTime AND expires"}},
                                  {"left-expires", {"expires"}},
                                  {"right-expires", {"dateTime"}}};
  auto join = Make("join", options, kAuction, kBid);
  ASSERT_NE(join, nullptr);
  auto spec = ParseJoin("join", OperatorOptions("j", options), kAuction, kBid);
  JsonCollector out(spec->output);
  RowBuilder a(3), b(3);
  join->Process(Auction(a, 1, 10, 50), out);
  join->ProcessSecond(Bid(b, 1, 1, 5), out);    // before the auction opened: no match
  join->ProcessSecond(Bid(b, 1, 2, 20), out);   // matches
  join->ProcessSecond(Bid(b, 1, 3, 60), out);   // after it closed: no match
  EXPECT_EQ(out.rows.size(), 1u);
  EXPECT_THAT(out.rows[0], HasSubstr(R"("price":2)"));
  join->ProcessWatermark(1000, out);  // everything has expired
  EXPECT_EQ(join->state_entries(), 0u) << "expired rows and their timers leave state";
  // A late auction still meets nothing, and is not kept.
  join->Process(Auction(a, 1, 0, 100), out);
  EXPECT_EQ(out.rows.size(), 1u);
  EXPECT_EQ(join->state_entries(), 0u);
}

TEST_P(JoinTest, WindowJoinMatchesOnlyTheSameWindow) {
  const Schema left({{"id", FieldType::kInt64, false},
                     {"window_start", FieldType::kTimestamp, false},
                     {"window_end", FieldType::kTimestamp, false}});
  const Schema right({{"seller", FieldType::kInt64, false},
                      {"window_start", FieldType::kTimestamp, false},
                      {"window_end", FieldType::kTimestamp, false}});
  OperatorOptions::Map options = {{"left-key", {"id"}}, {"right-key", {"seller"}}};
  auto join = Make("window-join", options, left, right);
  ASSERT_NE(join, nullptr);
  auto spec = ParseJoin("window-join", OperatorOptions("j", options), left, right);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  JsonCollector out(spec->output);
  RowBuilder b(3);
  auto row = [&](int64_t key, int64_t start) {
    b.Reset();
    b.SetInt64(0, key);
    b.SetTimestampMillis(1, start);
    b.SetTimestampMillis(2, start + 10);
    return b.Finish();
  };
  join->Process(row(7, 0), out);
  join->ProcessSecond(row(7, 10), out);  // next window: no match
  join->ProcessSecond(row(8, 0), out);   // other key: no match
  join->ProcessSecond(row(7, 0), out);
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_THAT(out.rows[0], HasSubstr(R"("id":7,)"));
  EXPECT_THAT(out.rows[0], HasSubstr(R"("window_start0":"1970-01-01 00:00:00.000")"));
  join->ProcessWatermark(1000, out);  // past both windows
  EXPECT_EQ(join->state_entries(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Backends, JoinTest, ::testing::Values("rocksdb", "memory"));

TEST(JoinSpecTest, RejectsBadOptions) {
  auto parse = [](OperatorOptions::Map o) { return ParseJoin("join", OperatorOptions("j", std::move(o)), kAuction, kBid); };
  EXPECT_THAT(parse({{"left-key", {"id"}}, {"right-key", {"nope"}}}).status().message(), HasSubstr("no field 'nope'"));
  EXPECT_THAT(parse({{"left-key", {"id", "expires"}}, {"right-key", {"auction"}}}).status().message(),
              HasSubstr("as many fields"));
  EXPECT_THAT(parse({{"left-key", {"id"}}, {"right-key", {"auction"}}, {"left-expires", {"id"}}}).status().message(),
              HasSubstr("TIMESTAMP"));
  EXPECT_THAT(parse({{"left-key", {"id"}}, {"right-key", {"auction"}}, {"where", {"price"}}}).status().message(),
              HasSubstr("condition"));
  const Schema changelog({{"op", FieldType::kString, false}, {"id", FieldType::kInt64, false}});
  EXPECT_THAT(ParseJoin("join", OperatorOptions("j", {{"left-key", {"id"}}, {"right-key", {"auction"}}}), changelog,
                        kBid)
                  .status()
                  .message(),
              HasSubstr("insert-only"));
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

class LookupJoinTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::string path = (std::filesystem::temp_directory_path() /
                        ("sluice-side-" + std::to_string(::getpid()) + "-" + std::to_string(files_++) + ".csv"))
                           .string();
    std::ofstream(path) << text;
    paths_.push_back(path);
    return path;
  }
  ~LookupJoinTest() override {
    for (const auto& p : paths_) std::filesystem::remove(p);
  }
  Result<std::unique_ptr<Operator>> Make(const std::string& path) {
    OperatorSetup s;
    s.id = "side";
    s.type = "lookup-join";
    s.options = OperatorOptions("side", {{"path", {path}},
                                         {"columns", {"key BIGINT", "value STRING"}},
                                         {"lookup-key", {"key"}},
                                         {"key", {"MOD(auction, 10)"}}});
    s.input = kBid;
    return LookupJoinOperator::Create(s);
  }
  int files_ = 0;
  std::vector<std::string> paths_;
};

TEST_F(LookupJoinTest, EnrichesMatchingRowsAndDropsTheRest) {
  auto op = Make(Write("1,one\n2,two\n2,deux\n"));
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  auto spec = ParseLookupJoin(OperatorOptions("side", {{"path", {"x"}},
                                                       {"columns", {"key BIGINT", "value STRING"}},
                                                       {"lookup-key", {"key"}},
                                                       {"key", {"MOD(auction, 10)"}}}),
                              kBid);
  ASSERT_TRUE(spec.ok());
  JsonCollector out(spec->output);
  RowBuilder b(3);
  (*op)->Process(Bid(b, 11, 5, 0), out);  // key 1
  (*op)->Process(Bid(b, 12, 6, 0), out);  // key 2: two side rows
  (*op)->Process(Bid(b, 13, 7, 0), out);  // key 3: none
  ASSERT_EQ(out.rows.size(), 3u);
  EXPECT_THAT(out.rows[0], HasSubstr(R"("auction":11,"price":5,)"));
  EXPECT_THAT(out.rows[0], HasSubstr(R"("key":1,"value":"one")"));
  EXPECT_THAT(out.rows[1] + out.rows[2], HasSubstr(R"("value":"two")"));
  EXPECT_THAT(out.rows[1] + out.rows[2], HasSubstr(R"("value":"deux")"));
}

TEST_F(LookupJoinTest, BadSideInputNamesFileAndLine) {
  auto missing = Make("/nonexistent/side.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("/nonexistent/side.csv"));
  std::string path = Write("1,one\nx,two\n");
  auto bad = Make(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr(path + ":2: column 'key': 'x' is not a BIGINT"));
  auto short_line = Make(Write("1,one\n2\n"));
  ASSERT_FALSE(short_line.ok());
  EXPECT_THAT(short_line.status().message(), HasSubstr(":2: 1 fields, expected 2"));
}

}  // namespace
}  // namespace sluice
