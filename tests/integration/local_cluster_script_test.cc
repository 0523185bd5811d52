// deploy/local-cluster.sh starts a coordinator and N workers in the
// background, reports them, and stops exactly the processes it started.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>

#include "tests/support/process.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

CommandResult Script(const std::string& run_dir, std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/bin/env", "SLUICE_RUN_DIR=" + run_dir, "SLUICE_BIN=" SLUICE_BIN_DIR,
                                   "bash", SLUICE_SOURCE_DIR "/deploy/local-cluster.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, 60000);
}

std::vector<pid_t> Pids(const std::string& run_dir) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator(run_dir)) {
    if (entry.path().extension() == ".pid") pids.push_back(std::stoi(ReadFile(entry.path().string())));
  }
  return pids;
}

TEST(LocalClusterScriptTest, StartStatusStop) {
  std::string dir = MakeTempDir("sluice-script");
  std::string run_dir = dir + "/run";
  CommandResult start = Script(run_dir, {"start", "--workers", "3", "--slots", "1", "--port", "0"});
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  EXPECT_THAT(start.out, HasSubstr("3 workers x 1 slots"));
  std::smatch m;
  ASSERT_TRUE(std::regex_search(start.out, m, std::regex("export SLUICE_COORDINATOR=(\\S+)")));
  std::string address = m[1];

  std::vector<pid_t> pids = Pids(run_dir);
  EXPECT_EQ(pids.size(), 4u);
  CommandResult workers = RunCommand({SLUICE_BIN_DIR "/sluice", "--coordinator", address, "workers", "--json"});
  EXPECT_EQ(std::count(workers.out.begin(), workers.out.end(), '{') - 1, 3) << workers.out;

  CommandResult status = Script(run_dir, {"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr("4 processes up, 0 down"));

  CommandResult twice = Script(run_dir, {"start"});
  EXPECT_NE(twice.exit_code, 0);
  EXPECT_THAT(twice.err, HasSubstr("already running"));

  CommandResult stop = Script(run_dir, {"stop"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_THAT(stop.out, HasSubstr("stopped (4 processes)"));
  for (pid_t pid : pids) {
    EXPECT_TRUE(WaitUntil([&] { return kill(pid, 0) != 0; }, 10000)) << "pid " << pid << " still runs";
  }
  CommandResult bad = Script(run_dir, {"start", "--workers", "zero"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("--workers must be a positive number"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::testing
