// The shuffle of examples/jobs/shuffle.yaml, run many times at every
// parallelism from 1 to 6 over two workers, with local and remote channels,
// small buffer budgets and tiny flush timeouts. A lost wake-up or a lost
// credit in the data plane shows here as a run that does not finish: every
// run must finish within its deadline and give the exact counts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

struct StressSetup {
  const char* name;
  std::vector<std::string> worker_flags;
  std::vector<std::string> job_flags;
  int64_t events;
  int rounds;  // runs of each parallelism 1..6
};

// Exact (key, count) rows of the shuffle job, checked against datagen's
// key = id % 1000.
::testing::AssertionResult CountsAreExact(const std::string& output, int64_t events) {
  std::map<int64_t, int64_t> counts;
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      auto row = nlohmann::json::parse(line);
      if (!counts.emplace(row["key"].get<int64_t>(), row["count"].get<int64_t>()).second) {
        return ::testing::AssertionFailure() << "key " << row["key"] << " counted twice";
      }
    }
  }
  const int64_t keys = std::min<int64_t>(events, 1000);
  if (static_cast<int64_t>(counts.size()) != keys) {
    return ::testing::AssertionFailure() << counts.size() << " keys, expected " << keys;
  }
  for (const auto& [key, count] : counts) {
    int64_t expected = events / 1000 + (key < events % 1000 ? 1 : 0);
    if (count != expected) return ::testing::AssertionFailure() << "key " << key << ": " << count << " != " << expected;
  }
  return ::testing::AssertionSuccess();
}

void PrintTo(const StressSetup& setup, std::ostream* os) { *os << setup.name; }

class ShuffleStressTest : public ::testing::TestWithParam<StressSetup> {};

TEST_P(ShuffleStressTest, EveryRunAtEveryParallelismFinishesWithExactCounts) {
  const StressSetup& setup = GetParam();
  LocalCluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator().ok()) << cluster.Logs();
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(cluster.StartWorker(3, setup.worker_flags).ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.WaitForWorkers(2)) << cluster.Logs();

  int runs = 0;
  for (int round = 0; round < setup.rounds; ++round) {
    for (int p = 1; p <= 6; ++p) {
      std::string output = cluster.dir() + "/out-" + std::to_string(round) + "-" + std::to_string(p);
      std::vector<std::string> args = {"run", SLUICE_SOURCE_DIR "/examples/jobs/shuffle.yaml", "--detached",
                                       "-p", std::to_string(p), "-D", "events=" + std::to_string(setup.events),
                                       "-D", "output=" + output};
      args.insert(args.end(), setup.job_flags.begin(), setup.job_flags.end());
      CommandResult run = cluster.Cli(args);
      ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster.Logs();
      std::string id = JobIdFromRunOutput(run.out);
      ASSERT_FALSE(id.empty()) << run.out;
      std::string state;
      bool ended = WaitUntil(
          [&] {
            state = cluster.JobState(id);
            return state == "FINISHED" || state == "FAILED" || state == "CANCELED";
          },
          30000);
      if (!ended) {
        nlohmann::json status = cluster.CliJson({"status", id});
        cluster.Cli({"cancel", id});
        FAIL() << setup.name << ": run " << runs << " at -p " << p << " did not finish in 30 s (state " << state
               << "); its status:\n"
               << status.dump(1) << "\n"
               << cluster.Logs();
      }
      ASSERT_EQ(state, "FINISHED") << setup.name << " at -p " << p << "\n" << cluster.Logs();
      ASSERT_TRUE(CountsAreExact(output, setup.events)) << setup.name << " at -p " << p;
      std::filesystem::remove_all(output);
      ++runs;
    }
  }
  std::cout << setup.name << ": " << runs << " runs finished\n";
}

INSTANTIATE_TEST_SUITE_P(
    Shuffle, ShuffleStressTest,
    ::testing::Values(
        // Default buffers, 200,000 events a run: before the fix of the exclusive
        // buffers, about one run in twenty hung here.
        StressSetup{"default buffers", {}, {}, 200000, 20},
        // Few, small buffers and a 1 ms flush: channels run out of credit
        // all the time, and buffers cross with credit announcements.
        StressSetup{"small budgets",
                    {"-D", "network.memory=1mb", "-D", "network.buffer-size=4kb", "-D", "network.floating-buffers=2"},
                    {"-D", "pipeline.flush-timeout=1ms"},
                    50000,
                    40}),
    [](const ::testing::TestParamInfo<StressSetup>& info) {
      std::string name = info.param.name;
      for (char& c : name) {
        if (c == ' ') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace sluice::testing
