// A real coordinator and two real workers: jobs run to the end, cancel, and
// report where their subtasks ran.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.StartCoordinator().ok()) << cluster_.Logs();
    ASSERT_TRUE(cluster_.StartWorker(2).ok()) << cluster_.Logs();
    ASSERT_TRUE(cluster_.StartWorker(2).ok()) << cluster_.Logs();
    ASSERT_TRUE(cluster_.WaitForWorkers(2)) << cluster_.Logs();
  }
  LocalCluster cluster_;
};

// The quickstart's rows, computed here from the documented datagen formulas
// (docs/job-files.md), not by Sluice.
std::multiset<std::string> ExpectedQuickstartRows(int64_t events) {
  std::multiset<std::string> rows;
  for (int64_t id = 0; id < events; ++id) {
    int64_t key = id % 100, value = (id * 7919) % 1000;
    if (value % 3 != 0) continue;
    rows.insert("{\"id\":" + std::to_string(id) + ",\"key\":" + std::to_string(key) +
                ",\"doubled\":" + std::to_string(value * 2) + ",\"label\":\"NAME-" + std::to_string(key) + "\"}");
  }
  return rows;
}

std::multiset<std::string> ReadOutputRows(const std::string& dir) {
  std::multiset<std::string> rows;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string text = ReadFile(entry.path().string());
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      rows.insert(text.substr(start, end - start));
      start = end + 1;
    }
  }
  return rows;
}

TEST_F(ClusterTest, QuickstartFinishesOnBothWorkersWithExactlyTheExpectedRows) {
  std::string output = cluster_.dir() + "/quickstart-out";
  CommandResult run = cluster_.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-D",
                                    "events=30000", "-D", "output=" + output});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster_.Logs();
  EXPECT_THAT(run.out, HasSubstr("FINISHED"));
  std::string id = JobIdFromRunOutput(run.out);
  ASSERT_FALSE(id.empty()) << run.out;

  auto status = cluster_.CliJson({"status", id});
  ASSERT_TRUE(status.is_object());
  EXPECT_EQ(status["state"], "FINISHED");
  ASSERT_EQ(status["vertices"].size(), 1u);
  std::set<std::string> workers;
  int64_t records_in = 0;
  for (const auto& s : status["vertices"][0]["subtasks"]) {
    EXPECT_EQ(s["state"], "FINISHED");
    workers.insert(s["worker"].get<std::string>());
    records_in += s["records_in"].get<int64_t>();
  }
  EXPECT_EQ(workers.size(), 2u) << "both workers ran subtasks";
  EXPECT_EQ(records_in, 30000);

  auto expected = ExpectedQuickstartRows(30000);
  auto actual = ReadOutputRows(output);
  EXPECT_EQ(actual.size(), expected.size());
  EXPECT_TRUE(actual == expected) << "output rows differ from the expected rows";
  EXPECT_TRUE(std::filesystem::exists(output + "/part-0.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(output + "/part-1.jsonl"));

  auto list = cluster_.CliJson({"list"});
  ASSERT_TRUE(list.is_object());
  ASSERT_EQ(list["jobs"].size(), 1u);
  EXPECT_EQ(list["jobs"][0]["id"], id);
  EXPECT_EQ(list["jobs"][0]["state"], "FINISHED");
}

TEST_F(ClusterTest, CancelStopsALongRunningJobOnBothWorkersWithinFiveSeconds) {
  CommandResult run = cluster_.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/endless.yaml", "--detached"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string id = JobIdFromRunOutput(run.out);
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(id) == "RUNNING"; }, 10000)) << cluster_.Logs();
  // Both workers report a running task, and rows flow.
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto w = cluster_.CliJson({"workers"});
        int busy = 0;
        for (const auto& worker : w["workers"]) busy += worker["running_tasks"].get<int>() > 0;
        return busy == 2;
      },
      10000));
  ASSERT_TRUE(WaitUntil(
      [&] {
        auto s = cluster_.CliJson({"status", id});
        return s.is_object() && s["vertices"][0]["subtasks"][0]["records_in"].get<int64_t>() > 0;
      },
      10000));

  auto start = std::chrono::steady_clock::now();
  CommandResult cancel = cluster_.Cli({"cancel", id});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(id) == "CANCELED"; }, 5000)) << cluster_.Logs();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  auto status = cluster_.CliJson({"status", id});
  for (const auto& s : status["vertices"][0]["subtasks"]) EXPECT_EQ(s["state"], "CANCELED");

  // The tasks are gone from both workers (their next heartbeats say so),
  // and every slot is free again.
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto w = cluster_.CliJson({"workers"});
        if (!w.is_object() || w["workers"].size() != 2) return false;
        for (const auto& worker : w["workers"]) {
          if (worker["running_tasks"] != 0 || worker["slots_free"] != worker["slots_total"]) return false;
        }
        return true;
      },
      5000))
      << cluster_.CliJson({"workers"}).dump();

  CommandResult again = cluster_.Cli({"cancel", id});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("already CANCELED"));
}

TEST_F(ClusterTest, StatusAndWorkersPrintReadableText) {
  CommandResult workers = cluster_.Cli({"workers"});
  ASSERT_EQ(workers.exit_code, 0);
  EXPECT_THAT(workers.out, HasSubstr(cluster_.worker_address(0)));
  EXPECT_THAT(workers.out, HasSubstr("2/2 free"));
  CommandResult run = cluster_.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-D",
                                    "events=100", "-D", "output=" + cluster_.dir() + "/small"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string id = JobIdFromRunOutput(run.out);
  CommandResult status = cluster_.Cli({"status", id});
  ASSERT_EQ(status.exit_code, 0);
  EXPECT_THAT(status.out, HasSubstr("Job " + id + " (quickstart): FINISHED"));
  EXPECT_THAT(status.out, HasSubstr("vertex numbers [numbers -> every-third -> out] parallelism 2"));
  CommandResult list = cluster_.Cli({"list"});
  EXPECT_THAT(list.out, HasSubstr(id));
}

}  // namespace
}  // namespace sluice::testing
