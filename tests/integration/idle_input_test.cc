// Idle inputs do not hold event time back (pipeline.idle-timeout): a window
// fed by a busy bid source and a nearly silent person source fires while the
// job runs only when the silent source may declare itself idle.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

class IdleInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new LocalCluster();
    ASSERT_TRUE(cluster_->Start(1).ok()) << cluster_->Logs();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  // Windows fired after about three seconds of the job running.
  int64_t WindowsFiredWithin3s(const std::string& idle_timeout) {
    std::string job = cluster_->dir() + "/idle-" + idle_timeout + ".yaml";
    std::ofstream yaml(job);
    yaml << "parallelism: 1\n"
         << "config: {pipeline.idle-timeout: " << idle_timeout << "}\n"
         << "operators:\n"
         // 20 s of event time per second of wall clock...
         << "  - {id: bid, type: nexmark, kind: bid, events-per-second: 1000, rate: 20000}\n"
         << "  - {id: bid-times, type: calc, input: bid, select: [dateTime]}\n"
         // ...and a person every 50 s of wall clock.
         << "  - {id: person, type: nexmark, kind: person, events-per-second: 1000, rate: 1}\n"
         << "  - {id: person-times, type: calc, input: person, select: [dateTime]}\n"
         << "  - id: windows\n"
         << "    type: window-aggregate\n"
         << "    inputs: [bid-times, person-times]\n"
         << "    time: dateTime\n"
         << "    size: 1s\n"
         << "    aggregates: [\"count(*) AS n\"]\n"
         << "  - {id: out, type: blackhole}\n";
    yaml.close();
    CommandResult run = cluster_->Cli({"run", "-d", job});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::string id = run.out.substr(run.out.find("Job ") + 4, 16);
    std::this_thread::sleep_for(std::chrono::seconds(3));
    int64_t fired = -1;
    nlohmann::json status = cluster_->CliJson({"status", id, "--json"});
    for (const auto& v : status["vertices"]) {
      if (v["id"] == "windows") fired = v["subtasks"][0]["records_out"].get<int64_t>();
    }
    EXPECT_EQ(status["state"], "RUNNING");
    EXPECT_EQ(cluster_->Cli({"cancel", id}).exit_code, 0);
    return fired;
  }

  static LocalCluster* cluster_;
};

LocalCluster* IdleInputTest::cluster_ = nullptr;

TEST_F(IdleInputTest, SilentSourceHoldsWindowsBackUnlessIdle) {
  EXPECT_EQ(WindowsFiredWithin3s("0"), 0) << "without idleness the silent source's watermark holds every window";
  EXPECT_GT(WindowsFiredWithin3s("300ms"), 5) << "an idle source must not hold event time back";
}

}  // namespace
}  // namespace sluice::testing
