#include "common/graph/topological_order.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice {
namespace {

using ::testing::ElementsAre;

TEST(TopologicalOrderTest, EveryVertexComesAfterItsPredecessors) {
  // 3 -> 1 -> 0, 3 -> 2 -> 0
  TopologicalOrder sorted = SortTopologically({{}, {0}, {0}, {1, 2}});
  EXPECT_EQ(sorted.on_cycle, -1);
  EXPECT_THAT(sorted.order, ElementsAre(3, 2, 1, 0));
}

TEST(TopologicalOrderTest, IndependentVerticesKeepTheirOrderAndAChainStaysTogether) {
  // 0 -> 2, 1 -> 3: 2 follows 0 at once, before 1.
  TopologicalOrder sorted = SortTopologically({{2}, {3}, {}, {}});
  EXPECT_THAT(sorted.order, ElementsAre(0, 2, 1, 3));
}

TEST(TopologicalOrderTest, AnEmptyGraphHasAnEmptyOrder) {
  TopologicalOrder sorted = SortTopologically({});
  EXPECT_TRUE(sorted.order.empty());
  EXPECT_EQ(sorted.on_cycle, -1);
}

TEST(TopologicalOrderTest, ACycleNamesTheLowestVertexLeftOut) {
  // 0 -> 1 -> 2 -> 1, 2 -> 3
  TopologicalOrder sorted = SortTopologically({{1}, {2}, {1, 3}, {}});
  EXPECT_EQ(sorted.on_cycle, 1);
  EXPECT_THAT(sorted.order, ElementsAre(0));
}

TEST(TopologicalOrderTest, AVertexWithAnEdgeToItselfIsOnACycle) {
  TopologicalOrder sorted = SortTopologically({{}, {1}});
  EXPECT_EQ(sorted.on_cycle, 1);
}

}  // namespace
}  // namespace sluice
