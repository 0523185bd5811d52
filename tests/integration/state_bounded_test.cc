// Windows and window joins clean up: on an unbounded run of q5, q7, q8 and
// q11 the keyed state stops growing once windows fire. Each query runs with
// no end, its sources paced at 200,000 events per second with 20,000 events
// per second of event time, so a 10 s window passes every wall-clock second.
// (Paced, so that q8's person and auction sources move through event time
// together: at full speed one runs ahead, and the join must hold its rows
// until the other's watermark catches up, as in Flink without watermark
// alignment.) The state entries (sluice status; exact with the in-memory
// backend, buffers included) are sampled 3-6 s into the run and again at
// 10-13 s: state that grew with the input would have about tripled.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

class StateBoundedTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new LocalCluster();
    ASSERT_TRUE(cluster_->Start(2).ok()) << cluster_->Logs();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  static LocalCluster* cluster_;
};

LocalCluster* StateBoundedTest::cluster_ = nullptr;

struct Sample {
  int64_t state_entries = 0;
  std::string state;
};

Sample Measure(const nlohmann::json& status) {
  Sample s;
  if (!status.is_object()) return s;  // a status call that failed: no sample
  s.state = status["state"];
  for (const auto& v : status["vertices"]) {
    for (const auto& t : v["subtasks"]) s.state_entries += t["state_entries"].get<int64_t>();
  }
  return s;
}

TEST_P(StateBoundedTest, StateStaysLevelOnAnUnboundedRun) {
  const std::string q = GetParam();
  CommandResult run = cluster_->Cli({"run", "-d", std::string(SLUICE_SOURCE_DIR "/examples/jobs/nexmark/") + q + ".yaml",
                                     "-p", "2", "-D", "events=1000000000000", "-D", "rate=200000", "-D", "event-rate=20000", "-D",
                                     "state.backend=memory"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string job = run.out.substr(run.out.find("Job ") + 4, 16);
  int64_t early = 0, late = 0;
  std::chrono::steady_clock::time_point started;
  bool running = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    Sample s = Measure(cluster_->CliJson({"status", job, "--json"}));
    ASSERT_TRUE(s.state.empty() || s.state == "CREATED" || s.state == "RUNNING") << q << ": " << s.state;
    if (s.state == "RUNNING" && !running) {
      running = true;
      started = std::chrono::steady_clock::now();
    }
    if (running) {
      double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (t >= 3 && t < 6) early = std::max(early, s.state_entries);
      if (t >= 10 && t < 13) late = std::max(late, s.state_entries);
      if (t >= 13) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(cluster_->Cli({"cancel", job}).exit_code, 0);
  EXPECT_GT(early, 0) << q << ": no state seen, so nothing was measured";
  EXPECT_GT(late, 0) << q << ": the run did not get far enough";
  EXPECT_LT(late, early * 3 / 2 + 1000) << q << ": state grew from " << early << " to " << late << " entries";
}

INSTANTIATE_TEST_SUITE_P(Queries, StateBoundedTest, ::testing::Values("q5", "q7", "q8", "q11"));

}  // namespace
}  // namespace sluice::testing
