// The coordinator stays bounded and consistent under abuse: oversized or
// misspelt submissions are refused by name, `sluice list` works whatever was
// submitted, a flood of bad submissions leaves no lasting memory, tasks
// cancelled behind its back fail (and restart) their job, and state
// directories of killed workers do not pile up. After each, the daemons
// still run jobs to the right end.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "coordinator/test_graphs.h"
#include "proto/job_service.grpc.pb.h"
#include "proto/task_service.grpc.pb.h"
#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class CoordinatorBoundsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.StartCoordinator().ok()) << cluster_.Logs();
    // (slot.request-timeout: jobs that cannot get their slots fail soon.)
    ASSERT_TRUE(cluster_.StartWorker(2).ok()) << cluster_.Logs();
    ASSERT_TRUE(cluster_.StartWorker(2).ok()) << cluster_.Logs();
    ASSERT_TRUE(cluster_.WaitForWorkers(2)) << cluster_.Logs();
    channel_ = grpc::CreateChannel(cluster_.coordinator_address(), grpc::InsecureChannelCredentials());
    jobs_ = proto::JobService::NewStub(channel_);
  }

  grpc::Status Submit(const proto::JobGraph& graph, std::string* job_id = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    proto::SubmitJobRequest request;
    *request.mutable_graph() = graph;
    proto::SubmitJobResponse response;
    grpc::Status s = jobs_->SubmitJob(&ctx, request, &response);
    if (job_id != nullptr) *job_id = response.job_id();
    return s;
  }

  // The daemons still run a job correctly: the quickstart finishes with
  // every row it should write.
  void ExpectAJobStillRunsToTheEnd(const std::string& name) {
    const std::string output = cluster_.dir() + "/" + name;
    CommandResult run = cluster_.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-D", "events=3000",
                                      "-D", "output=" + output});
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster_.Logs();
    EXPECT_THAT(run.out, HasSubstr("FINISHED"));
    size_t rows = 0, expected = 0;
    for (const auto& entry : std::filesystem::directory_iterator(output)) {
      std::string text = ReadFile(entry.path().string());
      rows += static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
    }
    // The rows whose value (docs/job-files.md: id * 7919 % 1000) is a multiple of 3.
    for (int64_t id = 0; id < 3000; ++id) expected += (id * 7919) % 1000 % 3 == 0;
    EXPECT_EQ(rows, expected);
  }

  bool AllSlotsFree() {
    auto w = cluster_.CliJson({"workers"});
    if (!w.is_object() || w["workers"].size() != 2) return false;
    for (const auto& worker : w["workers"]) {
      if (worker["running_tasks"] != 0 || worker["slots_free"] != worker["slots_total"]) return false;
    }
    return true;
  }

  LocalCluster cluster_{std::vector<std::string>{"-D", "slot.request-timeout=2s"}};
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<proto::JobService::Stub> jobs_;
};

int64_t ResidentKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

TEST_F(CoordinatorBoundsTest, AnUnknownJobConfigKeyIsRefusedOverGrpcAndByTheCliNamingTheNearestKey) {
  proto::JobGraph graph = SimpleGraph(1);
  (*graph.mutable_config())["no.such.key"] = "1";
  grpc::Status s = Submit(graph);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("unknown job config key 'no.such.key' (did you mean '"));

  CommandResult r = cluster_.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-D",
                                  "checkpoint.intervall=1s", "-D", "output=" + cluster_.dir() + "/never"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown job config key 'checkpoint.intervall' (did you mean 'checkpoint.interval'?"));
  EXPECT_THAT(r.err, Not(HasSubstr("the job declares no parameter 'checkpoint.intervall' (declared")));
  EXPECT_TRUE(cluster_.CliJson({"list"})["jobs"].empty()) << "nothing was submitted";
  ExpectAJobStillRunsToTheEnd("after-unknown-key");
}

TEST_F(CoordinatorBoundsTest, JobsWithHugeNamesAreRefusedAndListWorksForEveryone) {
  proto::JobGraph graph = SimpleGraph(1);
  graph.set_name(std::string(3 << 20, 'n'));
  for (int i = 0; i < 2; ++i) {
    grpc::Status s = Submit(graph);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("the limit is 1048576 bytes"));
    EXPECT_LT(s.error_message().size(), 1000u);
  }
  graph.set_name(std::string(5000, 'n'));
  grpc::Status s = Submit(graph);
  EXPECT_THAT(s.error_message(), HasSubstr("the job name 'nnnn"));
  EXPECT_THAT(s.error_message(), HasSubstr("longer than the limit of 1024 bytes"));
  CommandResult list = cluster_.Cli({"list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  ExpectAJobStillRunsToTheEnd("after-huge-names");
}

TEST_F(CoordinatorBoundsTest, ListFollowsThePagesToShowEveryJob) {
  // More jobs than one page holds (100): each needs more slots than the
  // cluster has, so it waits, takes no slot, and fails after
  // slot.request-timeout.
  std::vector<std::string> ids(130);
  std::vector<std::thread> submitters;
  for (int t = 0; t < 2; ++t) {
    submitters.emplace_back([&, t] {
      for (size_t i = t; i < ids.size(); i += 2) {
        ASSERT_TRUE(Submit(SimpleGraph(9), &ids[i]).ok());
      }
    });
  }
  for (auto& t : submitters) t.join();
  auto list = cluster_.CliJson({"list"});
  ASSERT_TRUE(list.is_object());
  std::set<std::string> listed;
  for (const auto& job : list["jobs"]) listed.insert(job["id"].get<std::string>());
  for (const auto& id : ids) EXPECT_TRUE(listed.count(id)) << id;
  CommandResult text = cluster_.Cli({"list"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  for (const auto& id : ids) EXPECT_THAT(text.out, HasSubstr(id));
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto all = cluster_.CliJson({"list"});
        for (const auto& job : all["jobs"]) {
          if (job["state"] != "FAILED") return false;
        }
        return all["jobs"].size() == ids.size();
      },
      20000));
  EXPECT_TRUE(AllSlotsFree());
  ExpectAJobStillRunsToTheEnd("after-many-jobs");
}

TEST_F(CoordinatorBoundsTest, AFloodOfBadSubmissionsLeavesTheCoordinatorNoLargerForGood) {
  const pid_t pid = cluster_.coordinator().pid();
  ExpectAJobStillRunsToTheEnd("before-flood");  // its memory settled after a real job
  const int64_t before = ResidentKiB(pid);
  ASSERT_GT(before, 0);

  // 200,000 option keys, a few times over (short ones: the request stays
  // under gRPC's 4 MiB, so the coordinator has to look at it).
  proto::JobGraph many_options = SimpleGraph(1);
  auto* options = many_options.mutable_vertices(0)->mutable_operators(0)->mutable_options();
  for (int i = 0; i < 200000; ++i) (*options)["k" + std::to_string(i)].add_values("v");
  for (int i = 0; i < 5; ++i) {
    grpc::Status s = Submit(many_options);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  // 2,000 bad submissions at once.
  proto::JobGraph bad = SimpleGraph(1);
  bad.set_name(std::string(16 << 10, 'b'));
  (*bad.mutable_config())["no.such.key"] = std::string(2000, 'v');
  proto::SubmitJobRequest request;
  *request.mutable_graph() = bad;
  grpc::CompletionQueue queue;
  struct Call {
    grpc::ClientContext ctx;
    proto::SubmitJobResponse response;
    grpc::Status status;
  };
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < 2000; ++i) {
    auto call = std::make_unique<Call>();
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto reader = jobs_->AsyncSubmitJob(&call->ctx, request, &queue);
    reader->Finish(&call->response, &call->status, call.get());
    calls.push_back(std::move(call));
  }
  int refused = 0;
  for (size_t i = 0; i < calls.size(); ++i) {
    void* tag = nullptr;
    bool ok = false;
    ASSERT_TRUE(queue.Next(&tag, &ok));
    refused += static_cast<Call*>(tag)->status.error_code() == grpc::StatusCode::INVALID_ARGUMENT;
  }
  queue.Shutdown();
  EXPECT_EQ(refused, 2000);
  EXPECT_TRUE(cluster_.CliJson({"list"})["jobs"].size() == 1u) << "only the quickstart";

  ExpectAJobStillRunsToTheEnd("after-flood");
  // Generous: the point is that nothing of the flood is kept. Freed memory
  // goes back to the system within a few seconds of the last refusal.
  int64_t after = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        after = ResidentKiB(pid);
        return after < 10 * before && after < before + 200 * 1024;
      },
      10000))
      << "RSS " << before << " KiB before, " << after << " KiB after";
  std::cout << "coordinator RSS " << before << " KiB before the flood, " << after << " KiB after\n";
}

TEST_F(CoordinatorBoundsTest, ACancelTaskSentStraightToAWorkerRestartsTheJobAndLeaksNoSlot) {
  proto::JobGraph endless = SimpleGraph(2);
  endless.mutable_vertices(0)->mutable_operators(0)->mutable_options()->erase("events");
  (*endless.mutable_vertices(0)->mutable_operators(0)->mutable_options())["rate"].add_values("1000");
  (*endless.mutable_config())["restart-strategy"] = "fixed-delay";
  (*endless.mutable_config())["restart-strategy.fixed-delay.attempts"] = "1";
  (*endless.mutable_config())["restart-strategy.fixed-delay.delay"] = "100ms";
  std::string id;
  ASSERT_TRUE(Submit(endless, &id).ok());
  auto running_everywhere = [&] {
    auto s = cluster_.CliJson({"status", id});
    if (!s.is_object() || s["state"] != "RUNNING") return false;
    for (const auto& t : s["vertices"][0]["subtasks"]) {
      if (t["state"] != "RUNNING") return false;
    }
    return true;
  };
  ASSERT_TRUE(WaitUntil(running_everywhere, 10000)) << cluster_.Logs();

  // Behind the coordinator's back, on the worker of subtask 0.
  const std::string address = cluster_.CliJson({"status", id})["vertices"][0]["subtasks"][0]["worker_address"];
  auto worker = proto::TaskService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  proto::CancelTaskRequest cancel;
  cancel.set_job_id(id);
  proto::CancelTaskResponse cancelled;
  ASSERT_TRUE(worker->CancelTask(&ctx, cancel, &cancelled).ok());
  EXPECT_GE(cancelled.cancelled(), 1);

  // The job fails, restarts under its strategy and runs again on both slots.
  ASSERT_TRUE(WaitUntil([&] { return cluster_.CliJson({"status", id})["restarts"] == 1 && running_everywhere(); },
                        15000))
      << cluster_.CliJson({"status", id}).dump() << cluster_.Logs();
  EXPECT_THAT(ReadFile(cluster_.dir() + "/coordinator.log"), HasSubstr("was cancelled, not by the coordinator"));
  auto workers = cluster_.CliJson({"workers"});
  int free = 0;
  for (const auto& w : workers["workers"]) free += w["slots_free"].get<int>();
  EXPECT_EQ(free, 2) << "the job holds two slots, no more, no fewer";
  ASSERT_EQ(cluster_.Cli({"cancel", id}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(id) == "CANCELED"; }, 10000));
  EXPECT_TRUE(WaitUntil([&] { return AllSlotsFree(); }, 10000)) << cluster_.CliJson({"workers"}).dump();
  ExpectAJobStillRunsToTheEnd("after-cancel-task");
}

// A pid no process has: a child's, once it has been reaped.
pid_t DeadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  ::waitpid(pid, nullptr, 0);
  return pid;
}

TEST(WorkerStateDirTest, AWorkerRemovesTheStateFoldersOfDeadWorkersAtStart) {
  LocalCluster cluster;
  const std::string stale = cluster.dir() + "/state/worker-" + std::to_string(DeadPid());
  std::filesystem::create_directories(stale + "/job-1/numbers-0");
  std::ofstream(stale + "/job-1/numbers-0/000012.sst") << "left by a worker killed with -9";
  ASSERT_TRUE(cluster.Start(1).ok()) << cluster.Logs();
  EXPECT_FALSE(std::filesystem::exists(stale)) << cluster.Logs();
  // The live worker's own folder is there, locked.
  const std::string own = cluster.dir() + "/state/worker-" + std::to_string(cluster.worker(0).pid());
  EXPECT_TRUE(std::filesystem::exists(own + "/.lock"));
  CommandResult run = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-D", "events=300",
                                   "-D", "output=" + cluster.dir() + "/out"});
  EXPECT_EQ(run.exit_code, 0) << run.err << cluster.Logs();
  // A second worker leaves the first one's folder alone.
  ASSERT_TRUE(cluster.StartWorker(2).ok());
  ASSERT_TRUE(cluster.WaitForWorkers(2));
  EXPECT_TRUE(std::filesystem::exists(own + "/.lock"));
}

}  // namespace
}  // namespace sluice::testing
