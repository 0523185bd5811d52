#include "coordinator/coordinator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "coordinator/test_graphs.h"

namespace sluice {
namespace {

using ::testing::HasSubstr;

class ManualClock final : public Clock {
 public:
  int64_t NowMillis() const override { return 1'700'000'000'000 + now_.load(); }
  int64_t MonotonicMillis() const override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }

 private:
  std::atomic<int64_t> now_{1'000'000};
};

// Records deployments; answers cancels like a worker would, by reporting the
// job's tasks on that worker CANCELED.
class FakeGateway final : public TaskGateway {
 public:
  Status DeployTask(const std::string& address, const proto::DeployTaskRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_deploys) return Status::Unavailable("connection refused");
    deployed.push_back({address, request});
    return Status::Ok();
  }
  Status TriggerCheckpoint(const std::string&, const proto::TriggerCheckpointRequest&) override {
    return Status::Ok();
  }
  Status NotifyCheckpointComplete(const std::string&, const proto::NotifyCheckpointCompleteRequest&) override {
    return Status::Ok();
  }
  Status CancelJobTasks(const std::string& address, const std::string& job_id) override {
    std::vector<proto::DeployTaskRequest> to_cancel;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancels.push_back(address);
      for (const auto& [a, r] : deployed) {
        if (a == address && r.task().job_id() == job_id) to_cancel.push_back(r);
      }
    }
    if (confirm_cancels && coordinator != nullptr) {
      for (const auto& r : to_cancel) {
        proto::TaskStateUpdate u;
        u.set_worker_id(worker_of_address[address]);
        *u.mutable_task() = r.task();
        u.set_state(proto::TASK_CANCELED);
        (void)coordinator->UpdateTaskState(u);
      }
    }
    return Status::Ok();
  }

  std::mutex mu_;
  std::vector<std::pair<std::string, proto::DeployTaskRequest>> deployed;
  std::vector<std::string> cancels;
  std::map<std::string, std::string> worker_of_address;
  Coordinator* coordinator = nullptr;
  bool confirm_cancels = true;
  bool fail_deploys = false;
};

class CoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto gateway = std::make_unique<FakeGateway>();
    gateway_ = gateway.get();
    CoordinatorOptions options;
    options.heartbeat_timeout_ms = 5000;
    options.slot_request_timeout_ms = 2000;
    options.cancel_timeout_ms = 2000;
    coordinator_ = std::make_unique<Coordinator>(options, std::move(gateway), &clock_,
                                                 MakeLogger("coordinator-test", spdlog::level::warn));
    gateway_->coordinator = coordinator_.get();
  }

  std::string AddWorker(const std::string& address, int slots) {
    proto::RegisterWorkerRequest r;
    r.set_slots(slots);
    r.set_rpc_address(address);
    r.set_data_address(address + "1");
    auto response = coordinator_->RegisterWorker(r);
    EXPECT_TRUE(response.ok()) << response.status().ToString();
    std::lock_guard<std::mutex> lock(gateway_->mu_);
    gateway_->worker_of_address[address] = response->worker_id();
    return response->worker_id();
  }

  // Polls (the job driver is a thread) until the job is in `state`.
  proto::JobStatus WaitForState(const std::string& id, proto::JobState state) {
    proto::JobStatus job;
    for (int i = 0; i < 500; ++i) {
      job = *coordinator_->GetJob(id);
      if (job.state() == state) return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "job never reached " << proto::JobState_Name(state) << "; it is "
                  << proto::JobState_Name(job.state()) << " (" << job.failure() << ")";
    return job;
  }

  size_t Deployed() {
    std::lock_guard<std::mutex> lock(gateway_->mu_);
    return gateway_->deployed.size();
  }

  void Report(const proto::DeployTaskRequest& r, proto::TaskState state, const std::string& failure = "") {
    proto::TaskStateUpdate u;
    u.set_worker_id(gateway_->worker_of_address[AddressOf(r)]);
    *u.mutable_task() = r.task();
    u.set_state(state);
    u.set_failure(failure);
    u.mutable_metrics()->set_records_out(7);
    ASSERT_TRUE(coordinator_->UpdateTaskState(u).ok());
  }

  std::string AddressOf(const proto::DeployTaskRequest& r) {
    for (const auto& [a, d] : gateway_->deployed) {
      if (d.task().SerializeAsString() == r.task().SerializeAsString()) return a;
    }
    return "";
  }

  int FreeSlots() {
    int free = 0;
    for (const auto& w : coordinator_->ListWorkers()) free += w.slots_free();
    return free;
  }

  ManualClock clock_;
  FakeGateway* gateway_ = nullptr;
  std::unique_ptr<Coordinator> coordinator_;
};

TEST_F(CoordinatorTest, RunsAJobAcrossTwoWorkersToFinished) {
  std::string a = AddWorker("127.0.0.1:1001", 2);
  std::string b = AddWorker("127.0.0.1:1002", 2);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(2));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  proto::JobStatus job = WaitForState(*id, proto::RUNNING);
  ASSERT_EQ(Deployed(), 2u);
  EXPECT_EQ(FreeSlots(), 2);
  EXPECT_NE(gateway_->deployed[0].first, gateway_->deployed[1].first) << "subtasks should spread";
  ASSERT_EQ(job.vertices_size(), 1);
  EXPECT_EQ(job.vertices(0).operators(), "source -> sink");
  EXPECT_NE(job.vertices(0).subtasks(0).worker_id(), job.vertices(0).subtasks(1).worker_id());
  EXPECT_GT(job.start_time_ms(), 0);

  for (const auto& [addr, r] : gateway_->deployed) Report(r, proto::TASK_RUNNING);
  Report(gateway_->deployed[0].second, proto::TASK_FINISHED);
  EXPECT_EQ(coordinator_->GetJob(*id)->state(), proto::RUNNING) << "one subtask still runs";
  Report(gateway_->deployed[1].second, proto::TASK_FINISHED);
  job = WaitForState(*id, proto::FINISHED);
  EXPECT_EQ(job.vertices(0).subtasks(0).metrics().records_out(), 7);
  EXPECT_GT(job.end_time_ms(), 0);
  for (int i = 0; i < 100 && FreeSlots() != 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(FreeSlots(), 4) << "slots come back when the job ends";
  (void)a;
  (void)b;
}

TEST_F(CoordinatorTest, InvalidGraphCreatesNothing) {
  AddWorker("127.0.0.1:1001", 2);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(0));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(coordinator_->ListJobs().empty());
  EXPECT_EQ(Deployed(), 0u);
}

TEST_F(CoordinatorTest, NotEnoughSlotsFailsAfterTheTimeoutSayingWhy) {
  AddWorker("127.0.0.1:1001", 1);
  AddWorker("127.0.0.1:1002", 1);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(3));
  ASSERT_TRUE(id.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(coordinator_->GetJob(*id)->state(), proto::CREATED);
  clock_.Advance(2500);
  proto::JobStatus job = WaitForState(*id, proto::FAILED);
  EXPECT_THAT(job.failure(), HasSubstr("needs 3 slots; the cluster has 2 slots on 2 workers"));
  EXPECT_EQ(Deployed(), 0u);
  EXPECT_EQ(FreeSlots(), 2);
}

TEST_F(CoordinatorTest, AJobWaitingForSlotsStartsWhenAWorkerArrives) {
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(2));
  ASSERT_TRUE(id.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  AddWorker("127.0.0.1:1001", 2);
  WaitForState(*id, proto::RUNNING);
  EXPECT_EQ(Deployed(), 2u);
}

TEST_F(CoordinatorTest, CancelGoesThroughCancellingToCanceled) {
  AddWorker("127.0.0.1:1001", 2);
  AddWorker("127.0.0.1:1002", 2);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(2));
  WaitForState(*id, proto::RUNNING);
  for (const auto& [addr, r] : gateway_->deployed) Report(r, proto::TASK_RUNNING);
  auto state = coordinator_->CancelJob(*id);
  ASSERT_TRUE(state.ok());
  proto::JobStatus job = WaitForState(*id, proto::CANCELED);
  EXPECT_EQ(gateway_->cancels.size(), 2u) << "both workers are told";
  for (const auto& s : job.vertices(0).subtasks()) EXPECT_EQ(s.state(), proto::TASK_CANCELED);
  EXPECT_EQ(coordinator_->CancelJob(*id).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(CoordinatorTest, CancelOfUnknownJobIsNotFound) {
  EXPECT_EQ(coordinator_->CancelJob("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(coordinator_->GetJob("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(CoordinatorTest, ATaskFailureFailsTheJobAndCancelsTheRest) {
  AddWorker("127.0.0.1:1001", 2);
  AddWorker("127.0.0.1:1002", 2);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(2));
  WaitForState(*id, proto::RUNNING);
  for (const auto& [addr, r] : gateway_->deployed) Report(r, proto::TASK_RUNNING);
  Report(gateway_->deployed[0].second, proto::TASK_FAILED, "disk full");
  proto::JobStatus job = WaitForState(*id, proto::FAILED);
  EXPECT_THAT(job.failure(), HasSubstr("failed: disk full"));
  EXPECT_THAT(job.failure(), HasSubstr("vertex 'source'"));
  EXPECT_FALSE(gateway_->cancels.empty());
}

TEST_F(CoordinatorTest, AWorkerSilentPastTheTimeoutIsLostAndItsJobFails) {
  std::string a = AddWorker("127.0.0.1:1001", 1);
  std::string b = AddWorker("127.0.0.1:1002", 1);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(2));
  WaitForState(*id, proto::RUNNING);
  for (const auto& [addr, r] : gateway_->deployed) Report(r, proto::TASK_RUNNING);

  clock_.Advance(3000);
  proto::Heartbeat hb;
  hb.set_worker_id(b);
  EXPECT_TRUE(coordinator_->OnHeartbeat(hb));
  clock_.Advance(3000);  // a: 6 s silent; b: 3 s
  coordinator_->CheckHeartbeats();
  proto::JobStatus job = WaitForState(*id, proto::FAILED);
  EXPECT_THAT(job.failure(), HasSubstr("worker " + a));
  EXPECT_THAT(job.failure(), HasSubstr("no heartbeat for 6000 ms"));
  auto workers = coordinator_->ListWorkers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].worker_id(), b);
  hb.set_worker_id(a);
  EXPECT_FALSE(coordinator_->OnHeartbeat(hb)) << "a lost worker must register again";
}

TEST_F(CoordinatorTest, ABrokenHeartbeatStreamLosesTheWorkerAtOnce) {
  std::string a = AddWorker("127.0.0.1:1001", 1);
  AddWorker("127.0.0.1:1002", 1);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(2));
  WaitForState(*id, proto::RUNNING);
  coordinator_->OnHeartbeatStreamClosed(a);
  proto::JobStatus job = WaitForState(*id, proto::FAILED);
  EXPECT_THAT(job.failure(), HasSubstr("worker " + a + " (127.0.0.1:1001) was lost"));
}

TEST_F(CoordinatorTest, RegisteringAgainFromTheSameAddressReplacesTheOldWorker) {
  std::string first = AddWorker("127.0.0.1:1001", 2);
  std::string second = AddWorker("127.0.0.1:1001", 2);
  EXPECT_NE(first, second);
  auto workers = coordinator_->ListWorkers();
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0].worker_id(), second);
}

TEST_F(CoordinatorTest, ADeployFailureFailsTheJob) {
  AddWorker("127.0.0.1:1001", 2);
  gateway_->fail_deploys = true;
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(1));
  proto::JobStatus job = WaitForState(*id, proto::FAILED);
  EXPECT_THAT(job.failure(), HasSubstr("connection refused"));
  for (int i = 0; i < 100 && FreeSlots() != 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(FreeSlots(), 2);
}

TEST_F(CoordinatorTest, UpdatesOfAStaleAttemptOrAnotherWorkerAreIgnored) {
  AddWorker("127.0.0.1:1001", 1);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(1));
  WaitForState(*id, proto::RUNNING);
  proto::TaskStateUpdate u;
  u.set_worker_id("worker-someone-else");
  *u.mutable_task() = gateway_->deployed[0].second.task();
  u.set_state(proto::TASK_FINISHED);
  EXPECT_EQ(coordinator_->UpdateTaskState(u).code(), StatusCode::kFailedPrecondition);
  u.set_worker_id(gateway_->worker_of_address["127.0.0.1:1001"]);
  u.mutable_task()->set_attempt(99);
  EXPECT_TRUE(coordinator_->UpdateTaskState(u).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(coordinator_->GetJob(*id)->state(), proto::RUNNING);
}

}  // namespace
}  // namespace sluice
