#include "coordinator/job_state.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(JobStateTest, HappyPathIsAllowed) {
  EXPECT_TRUE(CheckTransition(proto::CREATED, proto::RUNNING).ok());
  EXPECT_TRUE(CheckTransition(proto::RUNNING, proto::FINISHED).ok());
}

TEST(JobStateTest, CancelAndFailurePathsAreAllowed) {
  EXPECT_TRUE(CheckTransition(proto::RUNNING, proto::CANCELLING).ok());
  EXPECT_TRUE(CheckTransition(proto::CANCELLING, proto::CANCELED).ok());
  EXPECT_TRUE(CheckTransition(proto::RUNNING, proto::FAILING).ok());
  EXPECT_TRUE(CheckTransition(proto::FAILING, proto::FAILED).ok());
  EXPECT_TRUE(CheckTransition(proto::CREATED, proto::CANCELED).ok());
  EXPECT_TRUE(CheckTransition(proto::CREATED, proto::FAILED).ok());
}

TEST(JobStateTest, TerminalStatesHaveNoWayOut) {
  for (auto from : {proto::FINISHED, proto::CANCELED, proto::FAILED}) {
    EXPECT_TRUE(IsTerminal(from));
    for (int to = proto::CREATED; to <= proto::FAILED; ++to) {
      Status s = CheckTransition(from, static_cast<proto::JobState>(to));
      EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << JobStateName(from) << " -> " << to;
    }
  }
}

TEST(JobStateTest, SkippingStepsIsRefused) {
  EXPECT_FALSE(CheckTransition(proto::CREATED, proto::FINISHED).ok());
  EXPECT_FALSE(CheckTransition(proto::CANCELLING, proto::RUNNING).ok());
  EXPECT_FALSE(CheckTransition(proto::CANCELLING, proto::FINISHED).ok());
  EXPECT_FALSE(CheckTransition(proto::FAILING, proto::FINISHED).ok());
  EXPECT_FALSE(CheckTransition(proto::RUNNING, proto::CREATED).ok());
  Status s = CheckTransition(proto::CREATED, proto::FINISHED);
  EXPECT_EQ(s.message(), "job cannot go from CREATED to FINISHED");
}

TEST(JobStateTest, OnlyNonTerminalStatesAreLive) {
  for (auto s : {proto::CREATED, proto::RUNNING, proto::FAILING, proto::RESTARTING, proto::CANCELLING}) {
    EXPECT_FALSE(IsTerminal(s)) << JobStateName(s);
  }
}

}  // namespace
}  // namespace sluice
