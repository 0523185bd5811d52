// kill -9 of a worker under a running job: the job leaves RUNNING within the
// heartbeat timeout, with a reason that names the lost worker.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

TEST(WorkerLossTest, KillingAWorkerFailsItsJobNamingTheWorker) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator().ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.StartWorker(1).ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.StartWorker(1).ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.WaitForWorkers(2)) << cluster.Logs();

  CommandResult run = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/endless.yaml", "--detached"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string id = JobIdFromRunOutput(run.out);
  ASSERT_TRUE(WaitUntil([&] { return cluster.JobState(id) == "RUNNING"; }, 10000)) << cluster.Logs();

  std::string victim;
  auto workers = cluster.CliJson({"workers"});
  for (const auto& w : workers["workers"]) {
    if (w["rpc_address"] == cluster.worker_address(1)) victim = w["id"].get<std::string>();
  }
  ASSERT_FALSE(victim.empty());

  auto killed_at = std::chrono::steady_clock::now();
  cluster.worker(1).Signal(SIGKILL);
  ASSERT_TRUE(WaitUntil([&] { return cluster.JobState(id) != "RUNNING"; }, 5000)) << cluster.Logs();
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, std::chrono::seconds(5));
  ASSERT_TRUE(WaitUntil([&] { return cluster.JobState(id) == "FAILED"; }, 15000)) << cluster.Logs();
  auto status = cluster.CliJson({"status", id});
  EXPECT_THAT(status["failure"].get<std::string>(), HasSubstr("worker " + victim));
  EXPECT_THAT(status["failure"].get<std::string>(), HasSubstr("lost"));

  // The survivor keeps serving and gets its slot back.
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto w = cluster.CliJson({"workers"});
        return w["workers"].size() == 1 && w["workers"][0]["slots_free"] == 1 &&
               w["workers"][0]["running_tasks"] == 0;
      },
      5000))
      << cluster.CliJson({"workers"}).dump();
}

TEST(WorkerLossTest, ASilentWorkerIsLostAfterTheHeartbeatTimeout) {
  // SIGSTOP keeps the connection open but silences the heartbeats: only the
  // timeout can find this one.
  LocalCluster cluster({"-D", "heartbeat.timeout=2s", "-D", "heartbeat.interval=200ms"});
  ASSERT_TRUE(cluster.StartCoordinator().ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.StartWorker(1).ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.WaitForWorkers(1)) << cluster.Logs();
  CommandResult run = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/endless.yaml", "--detached", "-p", "1"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string id = JobIdFromRunOutput(run.out);
  ASSERT_TRUE(WaitUntil([&] { return cluster.JobState(id) == "RUNNING"; }, 10000)) << cluster.Logs();

  auto stopped_at = std::chrono::steady_clock::now();
  cluster.worker(0).Signal(SIGSTOP);
  ASSERT_TRUE(WaitUntil([&] { return cluster.JobState(id) == "FAILED"; }, 15000)) << cluster.Logs();
  auto waited = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_GE(waited, std::chrono::milliseconds(1800));
  EXPECT_THAT(cluster.CliJson({"status", id})["failure"].get<std::string>(), HasSubstr("no heartbeat for"));
  cluster.worker(0).Signal(SIGCONT);
}

}  // namespace
}  // namespace sluice::testing
