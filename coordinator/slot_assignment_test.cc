#include "coordinator/slot_assignment.h"

#include <gtest/gtest.h>

#include <map>

namespace sluice {
namespace {

TEST(SlotAssignmentTest, SpreadsOverWorkers) {
  auto slots = AssignSlots({{"a", 4, 4}, {"b", 4, 4}}, 2);
  ASSERT_TRUE(slots.ok());
  EXPECT_EQ(*slots, (std::vector<std::string>{"a", "b"}));
}

TEST(SlotAssignmentTest, TakesFromTheWorkerWithMostFreeSlots) {
  auto slots = AssignSlots({{"a", 1, 4}, {"b", 3, 4}}, 3);
  ASSERT_TRUE(slots.ok());
  std::map<std::string, int> count;
  for (const auto& w : *slots) ++count[w];
  EXPECT_EQ(count["a"], 1);
  EXPECT_EQ(count["b"], 2);
  EXPECT_EQ((*slots)[0], "b");
}

TEST(SlotAssignmentTest, UsesEveryFreeSlotWhenNeeded) {
  auto slots = AssignSlots({{"a", 2, 2}, {"b", 1, 2}, {"c", 0, 2}}, 3);
  ASSERT_TRUE(slots.ok());
  std::map<std::string, int> count;
  for (const auto& w : *slots) ++count[w];
  EXPECT_EQ(count["a"], 2);
  EXPECT_EQ(count["b"], 1);
  EXPECT_EQ(count.count("c"), 0u);
}

TEST(SlotAssignmentTest, TooFewSlotsSaysHowManyWereNeededAndExist) {
  auto slots = AssignSlots({{"a", 1, 2}, {"b", 0, 2}}, 3);
  ASSERT_FALSE(slots.ok());
  EXPECT_EQ(slots.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(slots.status().message(),
            "the job needs 3 slots; the cluster has 4 slots on 2 workers, 1 of them free");
}

TEST(SlotAssignmentTest, NoWorkers) {
  auto slots = AssignSlots({}, 1);
  ASSERT_FALSE(slots.ok());
  EXPECT_EQ(slots.status().message(), "the job needs 1 slots; the cluster has 0 slots on 0 workers, 0 of them free");
}

}  // namespace
}  // namespace sluice
