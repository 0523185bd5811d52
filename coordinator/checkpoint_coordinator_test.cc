// The CheckpointCoordinator alone: a fake job answers for the tasks, a fake
// gateway records the RPCs, and the clock moves only when a test says so.
// (coordinator_test.cc covers it driven by the whole Coordinator.)
#include "coordinator/checkpoint_coordinator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "coordinator/checkpoint_storage.h"
#include "coordinator/test_graphs.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

class ManualClock final : public Clock {
 public:
  int64_t NowMillis() const override { return 1'700'000'000'000 + now_; }
  int64_t MonotonicMillis() const override { return now_; }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  int64_t now_ = 1'000'000;
};

class FakeGateway final : public TaskGateway {
 public:
  Status DeployTask(const std::string&, const proto::DeployTaskRequest&) override { return Status::Ok(); }
  Status CancelJobTasks(const std::string&, const std::string&) override { return Status::Ok(); }
  Status CancelTasks(const std::string&, const std::string&, const std::vector<proto::TaskId>&) override {
    return Status::Ok();
  }
  Status TriggerCheckpoint(const std::string& address, const proto::TriggerCheckpointRequest& request) override {
    triggers.push_back({address, request});
    return Status::Ok();
  }
  Status NotifyCheckpointComplete(const std::string& address,
                                  const proto::NotifyCheckpointCompleteRequest& request) override {
    notifications.push_back({address, request.checkpoint_id()});
    return Status::Ok();
  }
  std::vector<std::pair<std::string, proto::TriggerCheckpointRequest>> triggers;
  std::vector<std::pair<std::string, int64_t>> notifications;
};

// Two vertices (source -> sink) at parallelism 2; subtask i of each runs on
// worker "w<i>".
class FakeJob final : public CheckpointedJob {
 public:
  int64_t attempt() const override { return 1; }
  proto::TaskState StateOf(int vertex, int subtask) const override { return states[vertex][subtask]; }
  int64_t LastBarrierId(int, int) const override { return 0; }
  std::string TaskAddress(int, int subtask) const override { return "w" + std::to_string(subtask); }
  std::set<std::string> SlotAddresses() const override { return {"w0", "w1"}; }
  void Fail(const std::string& reason) override { failure = reason; }

  std::vector<std::vector<proto::TaskState>> states{{proto::TASK_RUNNING, proto::TASK_RUNNING},
                                                    {proto::TASK_RUNNING, proto::TASK_RUNNING}};
  std::string failure;
};

class CheckpointCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sluice-checkpoint-coordinator-test-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Make(CheckpointConfig config = {}) {
    config.interval_ms = 1000;
    config.dir = dir_;
    checkpoints_ = std::make_unique<CheckpointCoordinator>("job0123456789", graph_, config,
                                                           std::vector<bool>{true, false}, &job_, &gateway_,
                                                           &clock_, MakeLogger("checkpoint-test", spdlog::level::off),
                                                           &changed_);
    checkpoints_->ScheduleFirstTrigger();
  }

  // Moves the clock past the interval and triggers; the new checkpoint's id.
  int64_t Trigger() {
    clock_.Advance(1000);
    const size_t before = gateway_.triggers.size();
    checkpoints_->MaybeTrigger(true, lock_);
    EXPECT_GT(gateway_.triggers.size(), before) << "nothing was triggered";
    return gateway_.triggers.empty() ? 0 : gateway_.triggers.back().second.checkpoint_id();
  }

  void Ack(const std::string& vertex, int subtask, int64_t id, const std::string& decline = "") {
    proto::CheckpointAck ack;
    ack.mutable_task()->set_job_id("job0123456789");
    ack.mutable_task()->set_vertex_id(vertex);
    ack.mutable_task()->set_subtask(subtask);
    ack.mutable_task()->set_attempt(1);
    ack.set_checkpoint_id(id);
    ack.set_decline_reason(decline);
    ack.mutable_snapshot()->set_vertex_id(vertex);
    ack.mutable_snapshot()->set_subtask(subtask);
    checkpoints_->Acknowledge(ack);
  }

  void AckAll(int64_t id) {
    for (const char* vertex : {"source", "sink"}) {
      for (int i = 0; i < 2; ++i) Ack(vertex, i, id);
    }
  }

  std::string dir_;
  proto::JobGraph graph_ = testing::TwoVertexGraph(2);
  ManualClock clock_;
  FakeGateway gateway_;
  FakeJob job_;
  std::mutex mu_;
  std::unique_lock<std::mutex> lock_{mu_};  // the owner's mutex, held as the interface requires
  std::condition_variable changed_;
  std::unique_ptr<CheckpointCoordinator> checkpoints_;
};

TEST_F(CheckpointCoordinatorTest, NothingIsTriggeredBeforeTheIntervalHasPassed) {
  Make();
  clock_.Advance(999);
  checkpoints_->MaybeTrigger(true, lock_);
  EXPECT_TRUE(gateway_.triggers.empty());
  checkpoints_->MaybeTrigger(false, lock_);  // and never while the job is not running
  clock_.Advance(1);
  checkpoints_->MaybeTrigger(false, lock_);
  EXPECT_TRUE(gateway_.triggers.empty());
}

TEST_F(CheckpointCoordinatorTest, ATriggerGoesToTheWorkersOfTheSources) {
  Make();
  EXPECT_EQ(Trigger(), 1);
  ASSERT_EQ(gateway_.triggers.size(), 2u);
  EXPECT_EQ(gateway_.triggers[0].first, "w0");
  EXPECT_EQ(gateway_.triggers[1].first, "w1");
  EXPECT_TRUE(gateway_.triggers[0].second.start_sources());
  EXPECT_EQ(checkpoints_->in_flight(), 1u);
}

TEST_F(CheckpointCoordinatorTest, EverySubtasksAcknowledgementCompletesTheCheckpointAndTheWorkersAreTold) {
  Make();
  const int64_t id = Trigger();
  Ack("source", 0, id);
  Ack("source", 1, id);
  Ack("sink", 0, id);
  EXPECT_EQ(checkpoints_->Stats().completed(), 0);
  Ack("sink", 1, id);
  EXPECT_EQ(checkpoints_->in_flight(), 0u);
  EXPECT_EQ(checkpoints_->Stats().completed(), 1);
  ASSERT_NE(checkpoints_->restore_point(), nullptr);
  EXPECT_EQ(checkpoints_->restore_point()->checkpoint_id(), id);
  EXPECT_TRUE(ReadCheckpointMetadata(CheckpointDirectory(dir_, "job0123456789", id)).ok());
  checkpoints_->SendNotifications(lock_);
  EXPECT_EQ(gateway_.notifications.size(), 2u);
}

TEST_F(CheckpointCoordinatorTest, ASubtaskThatFinishedBeforeTheBarrierIsRecordedAsFinished) {
  Make();
  const int64_t id = Trigger();
  job_.states[1][1] = proto::TASK_FINISHED;
  checkpoints_->OnSubtaskFinished(1, 1);
  Ack("source", 0, id);
  Ack("source", 1, id);
  Ack("sink", 0, id);
  ASSERT_NE(checkpoints_->restore_point(), nullptr);
  bool finished = false;
  for (const auto& t : checkpoints_->restore_point()->tasks()) {
    finished = finished || (t.vertex_id() == "sink" && t.subtask() == 1 && t.finished());
  }
  EXPECT_TRUE(finished);
}

TEST_F(CheckpointCoordinatorTest, DeclinesBeyondTheTolerableFailuresFailTheJob) {
  CheckpointConfig config;
  config.tolerable_failures = 1;
  Make(config);
  Ack("source", 0, Trigger(), "no space left");
  EXPECT_EQ(job_.failure, "");
  EXPECT_EQ(checkpoints_->Stats().failed(), 1);
  Ack("source", 0, Trigger(), "no space left");
  EXPECT_THAT(job_.failure, HasSubstr("no space left"));
  EXPECT_THAT(job_.failure, HasSubstr("checkpoint.tolerable-failures is 1"));
}

TEST_F(CheckpointCoordinatorTest, ACheckpointNotCompleteWithinTheTimeoutIsAborted) {
  CheckpointConfig config;
  config.timeout_ms = 5000;
  config.tolerable_failures = 10;
  Make(config);
  Trigger();
  clock_.Advance(5001);
  checkpoints_->MaybeTrigger(true, lock_);
  EXPECT_EQ(checkpoints_->Stats().failed(), 1);
}

TEST_F(CheckpointCoordinatorTest, AnAcknowledgementOfAnotherAttemptIsIgnored) {
  Make();
  const int64_t id = Trigger();
  proto::CheckpointAck ack;
  ack.mutable_task()->set_vertex_id("source");
  ack.mutable_task()->set_attempt(7);
  ack.set_checkpoint_id(id);
  ack.set_decline_reason("stale");
  checkpoints_->Acknowledge(ack);
  EXPECT_EQ(checkpoints_->in_flight(), 1u);
  EXPECT_EQ(checkpoints_->Stats().failed(), 0);
}

TEST_F(CheckpointCoordinatorTest, ARestartFallsBackPastADamagedCheckpointToTheOneBefore) {
  CheckpointConfig config;
  config.retained = 2;
  Make(config);
  const int64_t first = Trigger();
  AckAll(first);
  const int64_t second = Trigger();
  AckAll(second);
  std::ofstream(CheckpointDirectory(dir_, "job0123456789", second) + "/_metadata", std::ios::trunc) << "garbage";
  ASSERT_TRUE(checkpoints_->PrepareRestart().ok());
  ASSERT_NE(checkpoints_->restore_point(), nullptr);
  EXPECT_EQ(checkpoints_->restore_point()->checkpoint_id(), first);
  EXPECT_EQ(checkpoints_->Stats().restored_id(), first);
}

TEST_F(CheckpointCoordinatorTest, ARestartWithEveryRetainedCheckpointDamagedIsAnErrorNamingThem) {
  Make();
  const int64_t id = Trigger();
  AckAll(id);
  const std::string dir = CheckpointDirectory(dir_, "job0123456789", id);
  std::ofstream(dir + "/_metadata", std::ios::trunc) << "garbage";
  Status restart = checkpoints_->PrepareRestart();
  EXPECT_FALSE(restart.ok());
  EXPECT_THAT(restart.message(), HasSubstr(dir));
  EXPECT_EQ(checkpoints_->restore_point(), nullptr);
}

TEST_F(CheckpointCoordinatorTest, ASavepointIsWrittenUnderItsDirectoryAndReportedByItsId) {
  Make();
  const int64_t id = checkpoints_->TriggerSavepoint(dir_ + "/savepoints", false, lock_);
  EXPECT_EQ(checkpoints_->SavepointResult(id), nullptr);
  AckAll(id);
  const Result<std::string>* path = checkpoints_->SavepointResult(id);
  ASSERT_NE(path, nullptr);
  ASSERT_TRUE(path->ok()) << path->status().ToString();
  EXPECT_EQ(**path, dir_ + "/savepoints/savepoint-job012-" + std::to_string(id));
  EXPECT_EQ(checkpoints_->restore_point(), nullptr);  // a savepoint is no recovery point
}

}  // namespace
}  // namespace sluice
