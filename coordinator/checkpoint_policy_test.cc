#include "coordinator/checkpoint_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice {
namespace {

using ::testing::HasSubstr;

TEST(CheckpointPolicyTest, CheckpointsNeedAnAbsoluteDirectory) {
  auto off = ParseCheckpointConfig({});
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->enabled());
  auto on = ParseCheckpointConfig({{"checkpoint.interval", "2s"}, {"checkpoint.dir", "/shared/ckpt"}});
  ASSERT_TRUE(on.ok());
  EXPECT_EQ(on->interval_ms, 2000);
  EXPECT_THAT(ParseCheckpointConfig({{"checkpoint.interval", "2s"}}).status().message(), HasSubstr("checkpoint.dir"));
  EXPECT_THAT(ParseCheckpointConfig({{"checkpoint.interval", "2s"}, {"checkpoint.dir", "rel"}}).status().message(),
              HasSubstr("absolute"));
  EXPECT_THAT(ParseCheckpointConfig({{"checkpoint.interval", "soon"}}).status().message(),
              HasSubstr("checkpoint.interval: 'soon'"));
}

TEST(CheckpointPolicyTest, RestartStrategies) {
  auto none = ParseRestartStrategy({}, false);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->DelayBefore(1));
  auto fixed = ParseRestartStrategy({}, true);  // checkpoints on: fixed-delay
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->DelayBefore(1), 1000);
  EXPECT_EQ(fixed->DelayBefore(10), 1000);
  EXPECT_FALSE(fixed->DelayBefore(11));
  auto exp = ParseRestartStrategy({{"restart-strategy", "exponential-delay"},
                                   {"restart-strategy.exponential-delay.initial-backoff", "100ms"},
                                   {"restart-strategy.exponential-delay.max-backoff", "1s"}},
                                  false);
  ASSERT_TRUE(exp.ok()) << exp.status().ToString();
  EXPECT_EQ(exp->DelayBefore(1), 100);
  EXPECT_EQ(exp->DelayBefore(2), 200);
  EXPECT_EQ(exp->DelayBefore(5), 1000);
  EXPECT_THAT(ParseRestartStrategy({{"restart-strategy", "sometimes"}}, false).status().message(),
              HasSubstr("'sometimes' is not one of none, fixed-delay, exponential-delay"));
  EXPECT_THAT(ParseRestartStrategy({{"restart-strategy.fixed-delay.attempts", "-1"}}, true).status().message(),
              HasSubstr("attempts"));
}

}  // namespace
}  // namespace sluice
