// A worker that loses its coordinator cancels its tasks and keeps trying to
// register; when a coordinator is back at the address, it registers again
// with every slot free.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>

#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

// A coordinator, two workers of two slots (with `worker_flags`) and the
// endless example job running on them; its id in `id`.
void StartEndlessJob(LocalCluster& cluster, const std::vector<std::string>& worker_flags, std::string* id) {
  ASSERT_TRUE(cluster.StartCoordinator().ok()) << cluster.Logs();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(cluster.StartWorker(2, worker_flags).ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.WaitForWorkers(2)) << cluster.Logs();
  CommandResult run = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/endless.yaml", "--detached"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  *id = JobIdFromRunOutput(run.out);
  ASSERT_TRUE(WaitUntil([&] { return cluster.JobState(*id) == "RUNNING"; }, 10000)) << cluster.Logs();
}

// Both workers registered, with no task running and every slot free.
bool BothWorkersBackIdle(const LocalCluster& cluster) {
  return WaitUntil(
      [&] {
        auto w = cluster.CliJson({"workers"});
        if (!w.is_object() || w["workers"].size() != 2) return false;
        for (const auto& worker : w["workers"]) {
          if (worker["running_tasks"] != 0 || worker["slots_free"] != 2) return false;
        }
        return true;
      },
      15000);
}

TEST(CoordinatorLossTest, WorkersCancelTheirTasksAndRegisterWithTheNextCoordinator) {
  LocalCluster cluster;
  std::string id;
  ASSERT_NO_FATAL_FAILURE(StartEndlessJob(cluster, {}, &id));

  ASSERT_TRUE(cluster.RestartCoordinator().ok()) << cluster.Logs();

  // Both workers come back, idle: the job's tasks died with the old
  // coordinator instead of running on unsupervised.
  EXPECT_TRUE(BothWorkersBackIdle(cluster)) << cluster.CliJson({"workers"}).dump() << cluster.Logs();
  EXPECT_THAT(cluster.Logs(), HasSubstr("lost the coordinator"));
  EXPECT_TRUE(cluster.worker(0).Running());
  EXPECT_TRUE(cluster.worker(1).Running());

  // The new coordinator knows no jobs, and runs new ones on those workers.
  EXPECT_EQ(cluster.CliJson({"list"})["jobs"].size(), 0u);
  CommandResult again = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-D", "events=1000",
                                     "-D", "output=" + cluster.dir() + "/after"});
  EXPECT_EQ(again.exit_code, 0) << again.err << cluster.Logs();
}

// A frozen coordinator (SIGSTOP: its kernel still acknowledges the
// connections, nothing answers) is lost to its workers after
// heartbeat.timeout, as one whose connection broke: they cancel their tasks
// rather than run on unsupervised, and register again once it is back.
TEST(CoordinatorLossTest, WorkersNoticeAFrozenCoordinatorAfterTheHeartbeatTimeout) {
  LocalCluster cluster;
  std::string id;
  ASSERT_NO_FATAL_FAILURE(StartEndlessJob(cluster, {"-D", "heartbeat.timeout=2s"}, &id));

  auto lost = [&] {
    const std::string logs = cluster.Logs();
    size_t n = 0;
    for (size_t at = logs.find("lost the coordinator"); at != std::string::npos;
         at = logs.find("lost the coordinator", at + 1)) {
      ++n;
    }
    return n;
  };
  ASSERT_EQ(lost(), 0u);
  const auto frozen = std::chrono::steady_clock::now();
  cluster.coordinator().Signal(SIGSTOP);
  const bool noticed = WaitUntil([&] { return lost() >= 2; }, 15000);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - frozen).count();
  cluster.coordinator().Signal(SIGCONT);
  ASSERT_TRUE(noticed) << "the workers still trust a frozen coordinator\n" << cluster.Logs();
  EXPECT_GE(seconds, 1.5) << "noticed before the timeout passed";
  std::printf("both workers noticed the frozen coordinator after %.1f s (heartbeat.timeout 2 s)\n", seconds);

  // Back: its job failed with the workers it lost, and both workers are
  // registered again, idle.
  EXPECT_TRUE(WaitUntil([&] { return cluster.JobState(id) == "FAILED"; }, 15000)) << cluster.Logs();
  EXPECT_TRUE(BothWorkersBackIdle(cluster)) << cluster.CliJson({"workers"}).dump() << cluster.Logs();
}

}  // namespace
}  // namespace sluice::testing
