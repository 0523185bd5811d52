// A worker that loses its coordinator cancels its tasks and keeps trying to
// register; when a coordinator is back at the address, it registers again
// with every slot free.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

TEST(CoordinatorLossTest, WorkersCancelTheirTasksAndRegisterWithTheNextCoordinator) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator().ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.StartWorker(2).ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.StartWorker(2).ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.WaitForWorkers(2)) << cluster.Logs();
  CommandResult run = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/endless.yaml", "--detached"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string id = JobIdFromRunOutput(run.out);
  ASSERT_TRUE(WaitUntil([&] { return cluster.JobState(id) == "RUNNING"; }, 10000)) << cluster.Logs();

  ASSERT_TRUE(cluster.RestartCoordinator().ok()) << cluster.Logs();

  // Both workers come back, idle: the job's tasks died with the old
  // coordinator instead of running on unsupervised.
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto w = cluster.CliJson({"workers"});
        if (!w.is_object() || w["workers"].size() != 2) return false;
        for (const auto& worker : w["workers"]) {
          if (worker["running_tasks"] != 0 || worker["slots_free"] != 2) return false;
        }
        return true;
      },
      15000))
      << cluster.CliJson({"workers"}).dump() << cluster.Logs();
  EXPECT_THAT(cluster.Logs(), HasSubstr("lost the coordinator"));
  EXPECT_TRUE(cluster.worker(0).Running());
  EXPECT_TRUE(cluster.worker(1).Running());

  // The new coordinator knows no jobs, and runs new ones on those workers.
  EXPECT_EQ(cluster.CliJson({"list"})["jobs"].size(), 0u);
  CommandResult again = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-D", "events=1000",
                                     "-D", "output=" + cluster.dir() + "/after"});
  EXPECT_EQ(again.exit_code, 0) << again.err << cluster.Logs();
}

}  // namespace
}  // namespace sluice::testing
