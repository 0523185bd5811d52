// Idle inputs do not hold event time back (pipeline.idle-timeout): a window
// fed by a busy bid source and a nearly silent person source fires while the
// job runs only when the silent source may declare itself idle.
#include <gtest/gtest.h>

#include <fstream>

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

  // Submits a window fed by a busy and a nearly silent source; its id.
  std::string Submit(const std::string& idle_timeout) {
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
    return JobIdFromRunOutput(run.out);
  }

  // The window subtask's rows in and windows fired so far; {-1, -1} while the
  // job is not yet RUNNING, so a poll right after submission just waits.
  std::pair<int64_t, int64_t> Windows(const std::string& id) {
    nlohmann::json status = cluster_->CliJson({"status", id});
    if (status["state"] != "RUNNING") return {-1, -1};
    for (const auto& v : status["vertices"]) {
      if (v["id"] == "windows") {
        return {v["subtasks"][0]["records_in"].get<int64_t>(), v["subtasks"][0]["records_out"].get<int64_t>()};
      }
    }
    return {-1, -1};
  }

  static LocalCluster* cluster_;
};

LocalCluster* IdleInputTest::cluster_ = nullptr;

TEST_F(IdleInputTest, SilentSourceHoldsWindowsBackUnlessIdle) {
  // 20,000 bids span 20 s of event time, twenty 1 s windows: without
  // idleness the silent source's watermark holds every one of them.
  std::string held = Submit("0");
  ASSERT_TRUE(WaitUntil([&] { return Windows(held).first >= 20000; }, 15000)) << cluster_->Logs();
  EXPECT_EQ(cluster_->JobState(held), "RUNNING");
  EXPECT_EQ(Windows(held).second, 0) << "no window may fire while a silent input holds event time";
  EXPECT_EQ(cluster_->Cli({"cancel", held}).exit_code, 0);

  std::string idle = Submit("300ms");
  EXPECT_TRUE(WaitUntil([&] { return Windows(idle).second > 5; }, 15000))
      << "an idle source must not hold event time back\n" << cluster_->Logs();
  EXPECT_EQ(cluster_->Cli({"cancel", idle}).exit_code, 0);
}

}  // namespace
}  // namespace sluice::testing
