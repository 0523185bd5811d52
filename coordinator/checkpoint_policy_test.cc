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
  auto concurrent = ParseCheckpointConfig({{"checkpoint.max-concurrent", "3"}});
  ASSERT_TRUE(concurrent.ok());
  EXPECT_EQ(concurrent->max_concurrent, 3);
  EXPECT_THAT(ParseCheckpointConfig({{"checkpoint.max-concurrent", "0"}}).status().message(), HasSubstr("at least 1"));
  EXPECT_THAT(ParseCheckpointConfig({{"checkpoint.max-concurrent", "2"}, {"checkpoint.unaligned", "true"}})
                  .status()
                  .message(),
              HasSubstr("one at a time"));
  EXPECT_THAT(ParseCheckpointConfig({{"checkpoint.max-concurrent", "2"}, {"checkpoint.aligned-timeout", "1s"}})
                  .status()
                  .message(),
              HasSubstr("one at a time"));
  EXPECT_THAT(ParseCheckpointConfig({{"checkpoint.max-concurrent", "2"}, {"checkpoint.mode", "at-least-once"}})
                  .status()
                  .message(),
              HasSubstr("needs checkpoint.mode exactly-once"));
  EXPECT_THAT(ParseCheckpointConfig({{"checkpoint.mode", "twice"}}).status().message(), HasSubstr("'twice'"));
  auto tuned = ParseCheckpointConfig({{"checkpoint.retained", "3"}, {"checkpoint.mode", "at-least-once"}});
  ASSERT_TRUE(tuned.ok());
  EXPECT_EQ(tuned->retained, 3);
  EXPECT_FALSE(tuned->exactly_once);
}

TEST(CheckpointPolicyTest, RestartStrategies) {
  auto none = ParseRestartStrategy({}, false);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->DelayBefore(1));
  auto fixed = ParseRestartStrategy({{"restart-strategy", "fixed-delay"}}, true);
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
  EXPECT_THAT(ParseRestartStrategy({{"restart-strategy", "fixed-delay"}, {"restart-strategy.fixed-delay.attempts", "-1"}},
                                   true)
                  .status()
                  .message(),
              HasSubstr("attempts"));
  auto by_default = ParseRestartStrategy({}, true);  // checkpoints on: exponential-delay
  ASSERT_TRUE(by_default.ok());
  EXPECT_EQ(by_default->kind, RestartStrategy::Kind::kExponentialDelay);
  EXPECT_EQ(by_default->DelayBefore(2), 2000);
}

}  // namespace
}  // namespace sluice
