#include "worker/operators/top_n.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "worker/operators/testing/json_collector.h"

namespace sluice {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const Schema kBids({{"auction", FieldType::kInt64, false},
                    {"price", FieldType::kInt64, false},
                    {"seq", FieldType::kInt64, false}});

struct Harness {
  explicit Harness(OperatorOptions::Map options) {
    OperatorSetup s;
    s.id = "top";
    s.type = "top-n";
    s.options = OperatorOptions("top", options);
    s.input = kBids;
    auto spec = ParseTopN(s.options, kBids);
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    out = std::make_unique<JsonCollector>(spec->output);
    auto created = TopNOperator::Create(s);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    op = std::move(*created);
  }
  void Bid(int64_t auction, int64_t price, int64_t seq) {
    RowBuilder b(3);
    b.SetInt64(0, auction);
    b.SetInt64(1, price);
    b.SetInt64(2, seq);
    op->Process(b.Finish(), *out);
    ASSERT_TRUE(op->failure().ok());
  }
  std::vector<std::string> Take() { return std::move(out->rows); }
  std::unique_ptr<Operator> op;
  std::unique_ptr<JsonCollector> out;
};

TEST(TopNTest, RanksShiftAsBetterRowsArrive) {
  Harness h({{"partition-by", {"auction"}}, {"order-by", {"price DESC"}}, {"n", {"2"}}, {"rank-field", {"rk"}}});
  h.Bid(1, 10, 0);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"op":"+I","auction":1,"price":10,"seq":0,"rk":1})"));
  h.Bid(1, 5, 1);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"op":"+I","auction":1,"price":5,"seq":1,"rk":2})"));
  h.Bid(1, 20, 2);  // first: both others move down, 5 falls out
  EXPECT_THAT(h.Take(), ElementsAre(R"({"op":"-U","auction":1,"price":10,"seq":0,"rk":1})",
                                    R"({"op":"+U","auction":1,"price":20,"seq":2,"rk":1})",
                                    R"({"op":"-U","auction":1,"price":5,"seq":1,"rk":2})",
                                    R"({"op":"+U","auction":1,"price":10,"seq":0,"rk":2})"));
  h.Bid(1, 1, 3);  // not in the first two
  h.Bid(1, 10, 4);  // ties with rank 2: arrival order keeps the older one
  EXPECT_TRUE(h.Take().empty());
  h.Bid(2, 7, 5);  // another key ranks apart
  EXPECT_THAT(h.Take(), ElementsAre(R"({"op":"+I","auction":2,"price":7,"seq":5,"rk":1})"));
}

TEST(TopNTest, DeduplicationKeepsTheLatest) {
  Harness h({{"partition-by", {"auction"}}, {"order-by", {"seq DESC"}}});
  h.Bid(1, 10, 0);
  h.Bid(1, 11, 1);
  h.Bid(1, 12, 0);  // older than the kept one
  EXPECT_THAT(h.Take(), ElementsAre(R"({"op":"+I","auction":1,"price":10,"seq":0})",
                                    R"({"op":"-U","auction":1,"price":10,"seq":0})",
                                    R"({"op":"+U","auction":1,"price":11,"seq":1})"));
}

TEST(TopNTest, WithoutRankNumbersDeletesWhatFallsOut) {
  Harness h({{"order-by", {"price"}}, {"n", {"2"}}});  // global, cheapest two
  h.Bid(1, 30, 0);
  h.Bid(2, 20, 1);
  h.Bid(3, 10, 2);
  EXPECT_THAT(h.Take(), ElementsAre(R"({"op":"+I","auction":1,"price":30,"seq":0})",
                                    R"({"op":"+I","auction":2,"price":20,"seq":1})",
                                    R"({"op":"-D","auction":1,"price":30,"seq":0})",
                                    R"({"op":"+I","auction":3,"price":10,"seq":2})"));
}

TEST(TopNTest, RejectsBadOptions) {
  auto parse = [](OperatorOptions::Map o) { return ParseTopN(OperatorOptions("t", std::move(o)), kBids); };
  EXPECT_THAT(parse({{"order-by", {"prise DESC"}}}).status().message(), HasSubstr("no field 'prise'"));
  EXPECT_THAT(parse({{"order-by", {"price"}}, {"n", {"0"}}}).status().message(), HasSubstr("'n'"));
  EXPECT_THAT(parse({{"order-by", {"price"}}, {"rank-field", {"seq"}}}).status().message(), HasSubstr("already"));
  EXPECT_THAT(parse({{"partition-by", {"x"}}, {"order-by", {"price"}}}).status().message(), HasSubstr("no field 'x'"));
}

}  // namespace
}  // namespace sluice
