#include "coordinator/coordinator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "coordinator/checkpoint_storage.h"
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
  Status CancelTasks(const std::string& address, const std::string& job_id,
                     const std::vector<proto::TaskId>& tasks) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& t : tasks) {
      EXPECT_EQ(t.job_id(), job_id);
      task_cancels.push_back({address, t});
    }
    return Status::Ok();
  }
  Status TriggerCheckpoint(const std::string&, const proto::TriggerCheckpointRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    triggers.push_back(request);
    return Status::Ok();
  }
  Status NotifyCheckpointComplete(const std::string&, const proto::NotifyCheckpointCompleteRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    notified = std::max(notified, request.checkpoint_id());
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
  std::vector<std::pair<std::string, proto::TaskId>> task_cancels;  // by CancelTasks
  std::vector<proto::TriggerCheckpointRequest> triggers;
  int64_t notified = 0;  // the newest completion the workers were told of
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
    Customize(&options);
    coordinator_ = std::make_unique<Coordinator>(options, std::move(gateway), &clock_,
                                                 MakeLogger("coordinator-test", spdlog::level::warn));
    gateway_->coordinator = coordinator_.get();
  }

  // Fixtures that need other options change them here.
  virtual void Customize(CoordinatorOptions*) {}

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

TEST_F(CoordinatorTest, AJobWaitingForSlotsSaysHowManyItNeedsAndHowManyAreFree) {
  AddWorker("127.0.0.1:1001", 2);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(3));
  ASSERT_TRUE(id.ok());
  proto::JobStatus job;
  for (int i = 0; i < 500 && !job.has_waiting_for_slots(); ++i) {
    job = *coordinator_->GetJob(*id);
    if (!job.has_waiting_for_slots()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(job.has_waiting_for_slots()) << job.DebugString();
  EXPECT_EQ(job.state(), proto::CREATED);
  EXPECT_EQ(job.waiting_for_slots().slots_needed(), 3);
  EXPECT_EQ(job.waiting_for_slots().slots_free(), 2);
  EXPECT_EQ(job.waiting_for_slots().workers(), 1);
  EXPECT_EQ(job.waiting_for_slots().timeout_ms(), 2000);
  AddWorker("127.0.0.1:1002", 1);
  job = WaitForState(*id, proto::RUNNING);
  EXPECT_FALSE(job.has_waiting_for_slots()) << "it waits no more";
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

TEST_F(CoordinatorTest, AJobConfigWithAnUnknownKeyIsRefusedNamingTheNearestKey) {
  AddWorker("127.0.0.1:1001", 2);
  proto::JobGraph graph = testing::SimpleGraph(1);
  (*graph.mutable_config())["no.such.key"] = "1";
  (*graph.mutable_config())["pipeline.flush-timeout"] = "5ms";
  auto id = coordinator_->SubmitJob(graph);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr("unknown job config key 'no.such.key' (did you mean '"));
  graph.mutable_config()->erase("no.such.key");
  (*graph.mutable_config())["checkpoint.intervall"] = "1s";
  EXPECT_THAT(coordinator_->SubmitJob(graph).status().message(),
              HasSubstr("unknown job config key 'checkpoint.intervall' (did you mean 'checkpoint.interval'?"));
  EXPECT_TRUE(coordinator_->ListJobs().empty());
  EXPECT_EQ(Deployed(), 0u);
}

TEST_F(CoordinatorTest, AJobBeyondTheLimitsIsRefusedNamingTheFieldAndTheLimit) {
  proto::JobGraph graph = testing::SimpleGraph(1);
  graph.set_name(std::string(3 << 20, 'n'));
  auto id = coordinator_->SubmitJob(graph);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr("the job graph is"));
  EXPECT_THAT(id.status().message(), HasSubstr("the limit is 1048576 bytes"));
  graph.set_name(std::string(2000, 'n'));
  EXPECT_THAT(coordinator_->SubmitJob(graph).status().message(), HasSubstr("limit of 1024 bytes"));
  EXPECT_TRUE(coordinator_->ListJobs().empty());
}

TEST_F(CoordinatorTest, ListJobsComesInPagesInSubmissionOrder) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*coordinator_->SubmitJob(testing::SimpleGraph(1)));  // all wait for slots
  std::vector<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    auto page = coordinator_->ListJobs(2, token);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_LE(page->jobs_size(), 2);
    for (const auto& job : page->jobs()) listed.push_back(job.job_id());
    token = page->next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(listed, ids);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(coordinator_->ListJobs(0, "")->jobs_size(), 5) << "0 is the default page size";
  EXPECT_EQ(coordinator_->ListJobs(2, "not-a-token").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(coordinator_->ListJobs(-1, "").status().code(), StatusCode::kInvalidArgument);
}

class CoordinatorRetentionTest : public CoordinatorTest {
 protected:
  void Customize(CoordinatorOptions* options) override {
    options->jobs_retained = 2;
    options->jobs_retained_age_ms = 3600000;
    options->slot_request_timeout_ms = 100LL * 3600000;  // a job waiting for slots waits through the test
    options->list_page_max_bytes = 1;                      // one job per page
  }
  // A job that fails at once: its deployment is refused.
  std::string FailedJob() {
    gateway_->fail_deploys = true;
    auto id = coordinator_->SubmitJob(testing::SimpleGraph(1));
    EXPECT_TRUE(id.ok());
    WaitForState(*id, proto::FAILED);
    return *id;
  }
  bool Remembered(const std::string& id) { return coordinator_->GetJob(id).ok(); }
};

TEST_F(CoordinatorRetentionTest, APageStopsEarlyAtItsByteLimit) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(coordinator_->SubmitJob(testing::SimpleGraph(1)).ok());
  auto page = coordinator_->ListJobs(100, "");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->jobs_size(), 1);
  EXPECT_FALSE(page->next_page_token().empty());
}

TEST_F(CoordinatorRetentionTest, OnlyTheLastJobsRetainedFinishedJobsAreRemembered) {
  AddWorker("127.0.0.1:1001", 2);
  std::string first = FailedJob(), second = FailedJob(), third = FailedJob();
  coordinator_->ForgetOldJobs();
  EXPECT_FALSE(Remembered(first)) << "the job that ended first goes first";
  EXPECT_TRUE(Remembered(second));
  EXPECT_TRUE(Remembered(third));
  EXPECT_EQ(coordinator_->ListJobs().size(), 2u);
}

TEST_F(CoordinatorRetentionTest, FinishedJobsOlderThanTheRetainedAgeAreForgottenButRunningOnesNever) {
  AddWorker("127.0.0.1:1001", 2);
  std::string old_job = FailedJob();
  clock_.Advance(1800000);
  std::string newer_job = FailedJob();
  auto waiting = coordinator_->SubmitJob(testing::SimpleGraph(5));  // more slots than there are: it waits
  ASSERT_TRUE(waiting.ok());
  clock_.Advance(1800001);
  coordinator_->ForgetOldJobs();
  EXPECT_FALSE(Remembered(old_job)) << "ended an hour and a millisecond ago";
  EXPECT_TRUE(Remembered(newer_job));
  clock_.Advance(3600000);
  coordinator_->ForgetOldJobs();
  EXPECT_FALSE(Remembered(newer_job));
  ASSERT_TRUE(Remembered(*waiting)) << "a job that has not ended is never forgotten";
  EXPECT_EQ(coordinator_->GetJob(*waiting)->state(), proto::CREATED);
}

// ---- tasks ended or running behind the coordinator's back ----

TEST_F(CoordinatorTest, ATaskCancelledOnTheWorkerItselfFailsTheJobAndFreesItsSlots) {
  AddWorker("127.0.0.1:1001", 2);
  AddWorker("127.0.0.1:1002", 2);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(2));
  WaitForState(*id, proto::RUNNING);
  for (const auto& [addr, r] : gateway_->deployed) Report(r, proto::TASK_RUNNING);
  EXPECT_EQ(FreeSlots(), 2);
  Report(gateway_->deployed[0].second, proto::TASK_CANCELED);
  proto::JobStatus job = WaitForState(*id, proto::FAILED);
  EXPECT_THAT(job.failure(), HasSubstr("subtask 0 of vertex 'source'"));
  EXPECT_THAT(job.failure(), HasSubstr("was cancelled, not by the coordinator"));
  EXPECT_EQ(FreeSlots(), 4);
}

TEST_F(CoordinatorTest, ACancelTheCoordinatorAskedForIsNoFailure) {
  AddWorker("127.0.0.1:1001", 2);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(2));
  WaitForState(*id, proto::RUNNING);
  ASSERT_TRUE(coordinator_->CancelJob(*id).ok());
  proto::JobStatus job = WaitForState(*id, proto::CANCELED);
  EXPECT_EQ(job.failure(), "");
}

TEST_F(CoordinatorTest, ATaskMissingFromItsWorkersHeartbeatFailsTheJobAfterTheGracePeriod) {
  std::string worker = AddWorker("127.0.0.1:1001", 2);
  auto id = coordinator_->SubmitJob(testing::SimpleGraph(1));
  WaitForState(*id, proto::RUNNING);
  const proto::DeployTaskRequest deployed = gateway_->deployed[0].second;
  Report(deployed, proto::TASK_RUNNING);
  proto::Heartbeat empty;
  empty.set_worker_id(worker);
  proto::Heartbeat listing = empty;
  proto::TaskReport* report = listing.add_tasks();
  *report->mutable_task() = deployed.task();
  report->set_state(proto::TASK_RUNNING);

  clock_.Advance(1000);
  ASSERT_TRUE(coordinator_->OnHeartbeat(empty)) << "within the grace period: a heartbeat taken before the deploy";
  clock_.Advance(5000);
  ASSERT_TRUE(coordinator_->OnHeartbeat(listing));
  EXPECT_EQ(coordinator_->GetJob(*id)->state(), proto::RUNNING);
  ASSERT_TRUE(coordinator_->OnHeartbeat(empty));
  proto::JobStatus job = WaitForState(*id, proto::FAILED);
  EXPECT_THAT(job.failure(), HasSubstr("subtask 0 of vertex 'source' on worker " + worker + " failed"));
  EXPECT_THAT(job.failure(), HasSubstr("missing from the worker's heartbeat"));
  EXPECT_EQ(FreeSlots(), 2);
}

TEST_F(CoordinatorTest, ARunningTaskTheCoordinatorDoesNotKnowIsCancelledOnItsWorkerOnce) {
  coordinator_->Start();  // the orphans' canceller
  std::string worker = AddWorker("127.0.0.1:1001", 2);
  proto::Heartbeat hb;
  hb.set_worker_id(worker);
  proto::TaskReport* report = hb.add_tasks();
  report->mutable_task()->set_job_id("0123456789abcdef");
  report->mutable_task()->set_vertex_id("source");
  report->mutable_task()->set_attempt(1);
  report->set_state(proto::TASK_RUNNING);
  ASSERT_TRUE(coordinator_->OnHeartbeat(hb));
  ASSERT_TRUE(coordinator_->OnHeartbeat(hb));
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(gateway_->mu_);
      if (!gateway_->task_cancels.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lock(gateway_->mu_);
  ASSERT_EQ(gateway_->task_cancels.size(), 1u) << "cancelled once, not at every heartbeat";
  EXPECT_EQ(gateway_->task_cancels[0].first, "127.0.0.1:1001");
  EXPECT_EQ(gateway_->task_cancels[0].second.job_id(), "0123456789abcdef");
  EXPECT_EQ(gateway_->task_cancels[0].second.vertex_id(), "source");
}

// ---- checkpoints ----

class CoordinatorCheckpointTest : public CoordinatorTest {
 protected:
  void SetUp() override {
    CoordinatorTest::SetUp();
    char pattern[] = "/tmp/sluice-coordinator-test-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A running job: datagen -> blackhole at parallelism 2, checkpoints every
  // second; its four subtasks reported RUNNING.
  std::string StartJob(const std::map<std::string, std::string>& config = {}) {
    AddWorker("w1:1", 2);
    proto::JobGraph graph = testing::TwoVertexGraph(2);
    (*graph.mutable_config())["checkpoint.interval"] = "1s";
    (*graph.mutable_config())["checkpoint.dir"] = dir_;
    (*graph.mutable_config())["checkpoint.tolerable-failures"] = "10";
    for (const auto& [k, v] : config) (*graph.mutable_config())[k] = v;
    auto id = coordinator_->SubmitJob(graph);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    for (int i = 0; i < 500 && Deployed() < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::vector<proto::DeployTaskRequest> tasks;
    {
      std::lock_guard<std::mutex> lock(gateway_->mu_);
      for (const auto& [a, r] : gateway_->deployed) tasks.push_back(r);
    }
    for (const auto& r : tasks) Report(r, proto::TASK_RUNNING);
    WaitForState(*id, proto::RUNNING);
    tasks_ = tasks;
    return *id;
  }

  const proto::DeployTaskRequest& Task(const std::string& vertex, int subtask) {
    for (const auto& r : tasks_) {
      if (r.task().vertex_id() == vertex && r.task().subtask() == subtask) return r;
    }
    ADD_FAILURE() << "no task " << vertex << "#" << subtask;
    return tasks_[0];
  }

  // Moves the clock to the next trigger and waits for checkpoint `id`'s.
  proto::TriggerCheckpointRequest AwaitTrigger(int64_t id) {
    for (int i = 0; i < 300; ++i) {
      {
        std::lock_guard<std::mutex> lock(gateway_->mu_);
        for (const auto& t : gateway_->triggers) {
          if (t.checkpoint_id() == id && t.start_sources()) return t;
        }
      }
      clock_.Advance(1000);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      // Wakes the job driver, which waits on real time.
      (void)coordinator_->GetJob("");
    }
    ADD_FAILURE() << "checkpoint " << id << " was never triggered";
    return {};
  }

  // Whether checkpoint `id` was triggered within `ms` more of the clock,
  // moved slowly enough that the job driver (waking every 100 ms of real
  // time while a checkpoint is in flight, else after at most 1 s) sees it
  // pass.
  bool TriggeredWithin(int64_t id, int64_t ms) {
    auto triggered = [&] {
      std::lock_guard<std::mutex> lock(gateway_->mu_);
      for (const auto& r : gateway_->triggers) {
        if (r.checkpoint_id() == id && r.start_sources()) return true;
      }
      return false;
    };
    for (int64_t t = 0; t < ms; t += 100) {
      if (triggered()) return true;
      clock_.Advance(100);
      std::this_thread::sleep_for(std::chrono::milliseconds(40));
    }
    for (int i = 0; i < 60; ++i) {  // the driver's longest sleep, and some
      if (triggered()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // Every subtask acknowledges; source 0 lists `source0_files` as shared.
  void AckAll(int64_t checkpoint, const std::vector<std::string>& source0_files = {}) {
    for (const auto& r : tasks_) {
      const bool source0 = r.task().vertex_id() == "source" && r.task().subtask() == 0;
      Ack(r, checkpoint, source0 ? source0_files : std::vector<std::string>{});
    }
  }

  void Decline(const proto::DeployTaskRequest& r, int64_t checkpoint, const std::string& reason) {
    proto::CheckpointAck decline;
    decline.set_worker_id(gateway_->worker_of_address[AddressOf(r)]);
    *decline.mutable_task() = r.task();
    decline.set_checkpoint_id(checkpoint);
    decline.set_decline_reason(reason);
    coordinator_->AcknowledgeCheckpoint(decline);
  }

  void Ack(const proto::DeployTaskRequest& r, int64_t checkpoint, std::vector<std::string> shared = {}) {
    proto::CheckpointAck ack;
    ack.set_worker_id(gateway_->worker_of_address[AddressOf(r)]);
    *ack.mutable_task() = r.task();
    ack.set_checkpoint_id(checkpoint);
    ack.mutable_snapshot()->set_vertex_id(r.task().vertex_id());
    ack.mutable_snapshot()->set_subtask(r.task().subtask());
    auto* op = ack.mutable_snapshot()->add_operators();
    op->set_operator_id(r.vertex().operators(0).id());
    for (const auto& name : shared) {
      auto* f = op->add_rocksdb_files();
      f->set_name(name);
      f->set_path(dir_ + "/" + name);
      f->set_shared(true);
      std::ofstream(dir_ + "/" + name) << "sst";
    }
    coordinator_->AcknowledgeCheckpoint(ack);
  }

  bool Exists(const std::string& name) { return std::filesystem::exists(dir_ + "/" + name); }
  // Waits until the workers were told checkpoint `id` completed.
  bool NotifiedSoon(int64_t id) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard<std::mutex> lock(gateway_->mu_);
        if (gateway_->notified >= id) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // Released files go once the workers were told of the completion that
  // released them, which the job driver does a moment later.
  bool GoneSoon(const std::string& name, int timeout_ms = 2000) {
    for (int i = 0; i < timeout_ms / 10 && Exists(name); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return !Exists(name);
  }
  int64_t Completed(const std::string& job) { return coordinator_->GetJob(job)->checkpoints().completed(); }

  std::string dir_;
  std::vector<proto::DeployTaskRequest> tasks_;
};

TEST_F(CoordinatorCheckpointTest, SharedFilesGoWhenNoRetainedCheckpointListsThem) {
  const std::string job = StartJob();
  AwaitTrigger(1);
  AckAll(1, {"a.sst", "b.sst"});
  EXPECT_EQ(Completed(job), 1);
  AwaitTrigger(2);
  AckAll(2, {"b.sst", "c.sst"});
  EXPECT_EQ(Completed(job), 2);
  // One checkpoint retained: 1's own file goes, the one both list stays.
  EXPECT_TRUE(GoneSoon("a.sst"));
  EXPECT_TRUE(Exists("b.sst"));
  EXPECT_TRUE(Exists("c.sst"));
  // A checkpoint that fails leaves none of its new files behind, but keeps
  // those the retained one lists; so does an acknowledgement that comes late.
  AwaitTrigger(3);
  Ack(Task("source", 0), 3, {"c.sst", "d.sst"});
  Decline(Task("sink", 0), 3, "disk full");
  EXPECT_FALSE(Exists("d.sst"));
  EXPECT_TRUE(Exists("c.sst"));
  Ack(Task("source", 1), 3, {"e.sst"});
  EXPECT_FALSE(Exists("e.sst"));
  EXPECT_EQ(coordinator_->GetJob(job)->checkpoints().failed(), 1);
  ASSERT_TRUE(coordinator_->CancelJob(job).ok());
  WaitForState(job, proto::CANCELED);
}

TEST_F(CoordinatorCheckpointTest, FinishedSubtasksAreRecordedAndOrphanedOnesStartTheCheckpoint) {
  const std::string job = StartJob();
  // Source subtask 1 ends before any checkpoint: checkpoint 1 goes on
  // without it and records it as finished.
  Report(Task("source", 1), proto::TASK_FINISHED);
  proto::TriggerCheckpointRequest first = AwaitTrigger(1);
  EXPECT_EQ(first.also_start_size(), 0) << "source 0 still runs: the sinks get its barrier";
  Ack(Task("source", 0), 1);
  Ack(Task("sink", 0), 1);
  Ack(Task("sink", 1), 1);
  ASSERT_EQ(Completed(job), 1);
  // A subtask that passed the barrier and then ended still acknowledges.
  proto::TriggerCheckpointRequest second = AwaitTrigger(2);
  {
    proto::TaskStateUpdate u;
    u.set_worker_id(gateway_->worker_of_address[AddressOf(Task("source", 0))]);
    *u.mutable_task() = Task("source", 0).task();
    u.set_state(proto::TASK_FINISHED);
    u.mutable_metrics()->set_last_barrier_id(2);
    ASSERT_TRUE(coordinator_->UpdateTaskState(u).ok());
  }
  Ack(Task("sink", 0), 2);
  Ack(Task("sink", 1), 2);
  EXPECT_EQ(Completed(job), 1) << "source 0's acknowledgement is still to come";
  Ack(Task("source", 0), 2);
  ASSERT_EQ(Completed(job), 2);
  // Every source has ended: the running sinks start checkpoint 3 themselves.
  proto::TriggerCheckpointRequest third = AwaitTrigger(3);
  std::vector<std::string> started(third.also_start().begin(), third.also_start().end());
  EXPECT_THAT(started, ::testing::UnorderedElementsAre("sink#0", "sink#1"));
  Ack(Task("sink", 0), 3);
  Ack(Task("sink", 1), 3);
  ASSERT_EQ(Completed(job), 3);
  auto metadata = ReadCheckpointMetadata(dir_ + "/" + job + "/chk-3");
  ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
  int finished = 0;
  for (const auto& t : metadata->tasks()) finished += t.finished() ? 1 : 0;
  EXPECT_EQ(finished, 2) << metadata->DebugString();
  ASSERT_TRUE(coordinator_->CancelJob(job).ok());
  WaitForState(job, proto::CANCELED);
}

TEST_F(CoordinatorCheckpointTest, UpToMaxConcurrentCheckpointsRunAndANewerOneSubsumesOlderOnes) {
  const std::string job = StartJob({{"checkpoint.max-concurrent", "2"}});
  AwaitTrigger(1);
  ASSERT_TRUE(TriggeredWithin(2, 2000)) << "a second checkpoint starts while the first is in flight";
  auto status = coordinator_->GetJob(job);
  EXPECT_EQ(status->checkpoints().in_progress(), 2);
  EXPECT_EQ(status->checkpoints().in_progress_id(), 2);
  EXPECT_FALSE(TriggeredWithin(3, 3000)) << "no third one while two are in flight";
  AckAll(1);
  EXPECT_EQ(Completed(job), 1);
  ASSERT_TRUE(TriggeredWithin(3, 2000)) << "a slot is free again";
  // 3 completes while 2 still waits for a sink: 3 subsumes 2, which is
  // dropped without counting against the job, and 2's late
  // acknowledgement leaves nothing behind.
  Ack(Task("source", 0), 2, {"late-2.sst"});
  AckAll(3);
  status = coordinator_->GetJob(job);
  EXPECT_EQ(status->checkpoints().completed(), 2);
  EXPECT_EQ(status->checkpoints().last_completed_id(), 3);
  EXPECT_EQ(status->checkpoints().in_progress(), 0);
  EXPECT_EQ(status->checkpoints().failed(), 0) << "a subsumed checkpoint is no failure";
  EXPECT_EQ(status->state(), proto::RUNNING);
  EXPECT_FALSE(Exists("late-2.sst"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/" + job + "/chk-2"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/" + job + "/chk-3/_metadata"));
  Ack(Task("sink", 1), 2);  // too late: ignored
  EXPECT_EQ(Completed(job), 2);
  ASSERT_TRUE(coordinator_->CancelJob(job).ok());
  WaitForState(job, proto::CANCELED);
}

// Uploads reuse the files of the newest checkpoint their worker was told
// completed. With checkpoints overlapping, one in flight may list a file of
// a checkpoint that a newer completion pushed out: the file stays while
// such a checkpoint is in flight, counts again if it completes, and goes if
// it fails.
TEST_F(CoordinatorCheckpointTest, AFileReleasedWhileACheckpointInFlightMayListItStays) {
  const std::string job = StartJob({{"checkpoint.max-concurrent", "2"}});
  AwaitTrigger(1);
  AckAll(1, {"x.sst"});
  ASSERT_EQ(Completed(job), 1);
  AwaitTrigger(2);
  ASSERT_TRUE(TriggeredWithin(3, 2000));
  // 2 (its upload before 1 was confirmed) uploaded its own copy; 3 lists
  // 1's x.sst.
  Ack(Task("source", 0), 3, {"x.sst"});
  AckAll(2, {"y.sst"});
  ASSERT_EQ(Completed(job), 2);
  ASSERT_TRUE(NotifiedSoon(2));  // what would let it go, but for 3
  EXPECT_FALSE(GoneSoon("x.sst", 500)) << "3, in flight, lists it";
  Ack(Task("source", 1), 3);
  Ack(Task("sink", 0), 3);
  Ack(Task("sink", 1), 3);
  ASSERT_EQ(Completed(job), 3);
  EXPECT_TRUE(GoneSoon("y.sst")) << "only 2 listed it";
  EXPECT_TRUE(Exists("x.sst")) << "3 lists it";
  // The same, and the checkpoint holding the file back fails.
  ASSERT_TRUE(TriggeredWithin(4, 2000));
  ASSERT_TRUE(TriggeredWithin(5, 2000));
  Ack(Task("source", 0), 5, {"x.sst"});
  AckAll(4, {"z.sst"});
  ASSERT_EQ(Completed(job), 4);
  ASSERT_TRUE(NotifiedSoon(4));
  EXPECT_FALSE(GoneSoon("x.sst", 500)) << "5, in flight, lists it";
  Decline(Task("sink", 0), 5, "disk full");
  EXPECT_TRUE(GoneSoon("x.sst")) << "nothing lists it any more";
  EXPECT_TRUE(Exists("z.sst"));
  ASSERT_TRUE(coordinator_->CancelJob(job).ok());
  WaitForState(job, proto::CANCELED);
}

TEST_F(CoordinatorCheckpointTest, ASavepointWaitsForTheCheckpointsInFlightAndNoNewOneStarts) {
  const std::string job = StartJob({{"checkpoint.max-concurrent", "2"}});
  AwaitTrigger(1);
  ASSERT_TRUE(TriggeredWithin(2, 2000));
  Result<std::string> savepoint = Status::Internal("not returned");
  std::atomic<bool> returned{false};
  std::thread client([&] {
    savepoint = coordinator_->TriggerSavepoint(job, dir_ + "/savepoints", false, false);
    returned = true;
  });
  // Overlapping checkpoints would never leave a gap: none starts while the
  // savepoint waits, and it goes once both are done.
  AckAll(1);
  EXPECT_FALSE(TriggeredWithin(3, 2000)) << "no checkpoint may start while a savepoint waits";
  AckAll(2);
  proto::TriggerCheckpointRequest third = AwaitTrigger(3);
  EXPECT_FALSE(third.directory().empty()) << "3 is the savepoint";
  AckAll(3);
  for (int i = 0; i < 500 && !returned; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!returned) (void)coordinator_->CancelJob(job);  // ends the wait, so the test fails instead of hanging
  client.join();
  ASSERT_TRUE(savepoint.ok()) << savepoint.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(*savepoint + "/_metadata"));
  ASSERT_TRUE(coordinator_->CancelJob(job).ok());
  WaitForState(job, proto::CANCELED);
}

TEST_F(CoordinatorCheckpointTest, AMinPauseKeepsCheckpointsOneAtATime) {
  const std::string job = StartJob({{"checkpoint.max-concurrent", "3"}, {"checkpoint.min-pause", "1ms"}});
  AwaitTrigger(1);
  EXPECT_FALSE(TriggeredWithin(2, 3000)) << "min-pause counts from a completion: none starts beside one";
  AckAll(1);
  EXPECT_TRUE(TriggeredWithin(2, 2000));
  ASSERT_TRUE(coordinator_->CancelJob(job).ok());
  WaitForState(job, proto::CANCELED);
}

}  // namespace
}  // namespace sluice
