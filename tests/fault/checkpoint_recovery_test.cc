// Exactly-once recovery: a windowed job with checkpoints loses a worker to
// kill -9, twice; each time it restarts from its latest checkpoint on the
// workers left, and its output in the end is exactly the output of a run
// without failures: nothing lost, nothing written twice. The same job is
// also stopped with a savepoint and resumed at another parallelism, twice
// (2 -> 3 -> 1), with the same exact result; a damaged savepoint is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <filesystem>

#include "tests/support/datagen_windows.h"
#include "tests/support/local_cluster.h"
#include "tests/support/nexmark_time.h"
#include "tests/support/sqlite_reference.h"

namespace sluice::testing {
namespace {

constexpr int64_t kRows = 240000;
constexpr int64_t kKeys = 50;

std::multiset<std::string> Expected() { return ExpectedDatagenWindows(kRows, kKeys); }

class CheckpointRecoveryTest : public ::testing::Test {
 protected:
  // The index of the worker running subtask 0 of `vertex`.
  int WorkerOf(const std::string& job, const std::string& vertex) {
    auto status = cluster_.CliJson({"status", job});
    for (const auto& v : status["vertices"]) {
      if (v["id"] != vertex) continue;
      std::string address = v["subtasks"][0]["worker_address"];
      for (size_t i = 0; i < workers_; ++i) {
        if (cluster_.worker_address(i) == address) return static_cast<int>(i);
      }
    }
    return -1;
  }
  nlohmann::json Status(const std::string& job) { return cluster_.CliJson({"status", job}); }

  // Waits until the job runs and has completed `checkpoints` in all.
  void AwaitCheckpoints(const std::string& job, int64_t checkpoints) {
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto s = Status(job);
          return s.is_object() && s["state"] == "RUNNING" &&
                 s["checkpoints"]["completed"].get<int64_t>() >= checkpoints;
        },
        30000))
        << "no checkpoint completed\n" << cluster_.Logs();
  }

  // Kills (SIGKILL) the worker running subtask 0 of `vertex`.
  void KillWorkerUnder(const std::string& job, const std::string& vertex) {
    int victim = WorkerOf(job, vertex);
    ASSERT_GE(victim, 0);
    cluster_.worker(static_cast<size_t>(victim)).Signal(SIGKILL);
  }

  // After two more checkpoints, kills the worker under `vertex`, starts a
  // fresh one in its place, and waits for the job's restart number `kill`.
  void KillAndReplace(const std::string& job, const std::string& vertex, int kill) {
    AwaitCheckpoints(job, Status(job)["checkpoints"]["completed"].get<int64_t>() + 2);
    KillWorkerUnder(job, vertex);
    ASSERT_TRUE(cluster_.StartWorker(3).ok()) << cluster_.Logs();
    ++workers_;
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto s = Status(job);  // null while a status call fails
          return s.is_object() && s["restarts"].is_number() && s["restarts"].get<int>() >= kill;
        },
        15000))
        << "kill " << kill << ": the job did not restart\n" << cluster_.Logs();
  }

  // Kills the worker under the windows and, while the job waits to restart
  // (kRestartDelay), damages the newest checkpoint with `damage` (given its
  // directory, read in the same status call that saw RESTARTING).
  void KillAndDamage(const std::string& job, const std::function<void(const std::string&)>& damage) {
    AwaitCheckpoints(job, 3);
    KillWorkerUnder(job, "counts");
    std::string newest;
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto s = Status(job);
          if (!s.is_object() || s["state"] != "RESTARTING") return false;
          newest = s["checkpoints"]["last_path"].get<std::string>();
          return true;
        },
        10000))
        << cluster_.Logs();
    damage(newest);
  }
  // Long enough for a loaded machine to damage a checkpoint in between.
  static constexpr const char* kRestartDelay = "  restart-strategy.fixed-delay.delay: 4s\n";

  void StartCluster(size_t workers) {
    ASSERT_TRUE(cluster_.StartCoordinator().ok()) << cluster_.Logs();
    for (; workers_ < workers; ++workers_) ASSERT_TRUE(cluster_.StartWorker(3).ok()) << cluster_.Logs();
    ASSERT_TRUE(cluster_.WaitForWorkers(workers)) << cluster_.Logs();
  }

  // datagen -> 1 s windows per key -> file sink, paced to take 12 s.
  std::string WriteJob(const std::string& out, const std::string& extra_config = "") {
    const std::string job_file = cluster_.dir() + "/recover.yaml";
    std::ofstream(job_file) << "name: recover\n"
                            << "parallelism: 2\n"
                            << "config:\n"
                            << "  checkpoint.interval: 200ms\n"
                            << "  checkpoint.dir: " << cluster_.dir() << "/checkpoints\n"
                            << "  restart-strategy: fixed-delay\n"
                            << (extra_config.empty() ? "  restart-strategy.fixed-delay.delay: 100ms\n"
                                                       "  checkpoint.retained: 2\n"
                                                     : extra_config)
                            << "operators:\n"
                            << "  - {id: gen, type: datagen, events: " << kRows << ", keys: " << kKeys
                            << ", rate: 20000}\n"
                            << "  - id: counts\n"
                            << "    type: window-aggregate\n"
                            << "    input: {from: gen, partition: hash, key: [key]}\n"
                            << "    time: ts\n"
                            << "    size: 1s\n"
                            << "    key: [key]\n"
                            << "    aggregates: [\"count(*) AS n\", \"sum(value) AS total\"]\n"
                            << "  - {id: out, type: file-sink, path: " << out << "}\n";
    return job_file;
  }

  std::multiset<std::string> Output(const std::string& out) { return DatagenWindowOutput(out); }

  LocalCluster cluster_;
  size_t workers_ = 0;
};

TEST_F(CheckpointRecoveryTest, KillingWorkersTwiceLosesAndDuplicatesNothing) {
  StartCluster(3);

  const std::string out = cluster_.dir() + "/out";
  const std::string job_file = WriteJob(out);
  CommandResult run = cluster_.Cli({"run", job_file, "--detached"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string job = JobIdFromRunOutput(run.out);

  // Each time after checkpoints of the current attempt, the worker under the
  // windows dies; a fresh worker takes its place.
  for (int kill = 1; kill <= 2; ++kill) {
    ASSERT_NO_FATAL_FAILURE(KillAndReplace(job, "counts", kill));
  }

  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "FINISHED"; }, 90000)) << cluster_.Logs();
  auto status = Status(job);
  EXPECT_EQ(status["restarts"], 2);
  EXPECT_GT(status["checkpoints"]["restored_id"].get<int64_t>(), 0) << "the last attempt started from a checkpoint";

  auto got = Output(out);
  EXPECT_EQ(got, Expected());
}

// Several checkpoints in flight at once (checkpoint.max-concurrent), one
// every 8 ms (one takes about 15 ms here), so that new ones start while
// earlier ones still upload:
// a kill and the restart from the newest completed one still lose and
// duplicate nothing.
TEST_F(CheckpointRecoveryTest, ConcurrentCheckpointsSurviveAKillExactlyOnce) {
  StartCluster(3);
  const std::string out = cluster_.dir() + "/out";
  const std::string job_file = WriteJob(out,
                                        "  restart-strategy.fixed-delay.delay: 100ms\n"
                                        "  checkpoint.retained: 2\n"
                                        "  checkpoint.max-concurrent: 3\n");
  CommandResult run = cluster_.Cli({"run", job_file, "--detached", "-D", "checkpoint.interval=8ms"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string job = JobIdFromRunOutput(run.out);
  ASSERT_NO_FATAL_FAILURE(KillAndReplace(job, "counts", 1));
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "FINISHED"; }, 90000)) << cluster_.Logs();
  auto status = Status(job);
  EXPECT_EQ(status["restarts"], 1);
  EXPECT_GT(status["checkpoints"]["restored_id"].get<int64_t>(), 0);
  const std::string logs = cluster_.Logs();
  EXPECT_TRUE(logs.find("(2 in flight)") != std::string::npos || logs.find("(3 in flight)") != std::string::npos)
      << "no checkpoint ever started beside another one";
  EXPECT_EQ(Output(out), Expected());
}

// Every published line of every file under `dir`, sorted.
std::vector<std::string> SortedLines(const std::string& dir) {
  std::vector<std::string> lines;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename().string()[0] == '.') continue;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Nexmark q11 (session windows per bidder) on three workers with a
// checkpoint every second; two workers killed; the published output, sorted,
// is byte for byte that of the same run without failures.
TEST_F(CheckpointRecoveryTest, NexmarkWindowsSurviveTwoKillsByteForByte) {
  StartCluster(3);
  auto run_q11 = [&](const std::string& out, bool detached) {
    std::vector<std::string> args = {"run", SLUICE_SOURCE_DIR "/examples/jobs/nexmark/q11.yaml", "-p", "2",
                                     "-D", "events=400000", "-D", "rate=40000", "-D", "event-rate=40000",
                                     "-D", "output=" + out, "-D", "checkpoint.interval=1s",
                                     "-D", "checkpoint.dir=" + cluster_.dir() + "/checkpoints",
                                     "-D", "restart-strategy=fixed-delay",
                                     "-D", "restart-strategy.fixed-delay.delay=100ms"};
    if (detached) args.push_back("--detached");
    return cluster_.Cli(args, 120000);
  };
  CommandResult clean = run_q11(cluster_.dir() + "/clean", false);
  ASSERT_EQ(clean.exit_code, 0) << clean.err << cluster_.Logs();
  auto expected = SortedLines(cluster_.dir() + "/clean");
  ASSERT_GT(expected.size(), 100u);

  CommandResult run = run_q11(cluster_.dir() + "/killed", true);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string job = JobIdFromRunOutput(run.out);
  for (int kill = 1; kill <= 2; ++kill) {
    ASSERT_NO_FATAL_FAILURE(KillAndReplace(job, "sessions", kill));
  }
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "FINISHED"; }, 90000)) << cluster_.Logs();
  EXPECT_EQ(SortedLines(cluster_.dir() + "/killed"), expected);
}

// Nexmark q3 at parallelism 2: person source subtask 1 has no person to
// emit and ends at once. Checkpoints go on without it (it is recorded as
// finished), and a restart restores it as finished: the join's output after
// a kill is exactly that of a run without one; with aligned checkpoints and
// with unaligned ones (whose in-flight data then includes the join's two
// inputs).
class FinishedSourceTest : public CheckpointRecoveryTest, public ::testing::WithParamInterface<bool> {};

TEST_P(FinishedSourceTest, CheckpointsGoOnAfterASourceSubtaskFinished) {
  const bool unaligned = GetParam();
  StartCluster(3);
  auto run_q3 = [&](const std::string& out, bool detached) {
    std::vector<std::string> args = {"run", SLUICE_SOURCE_DIR "/examples/jobs/nexmark/q3.yaml", "-p", "2",
                                     "-D", "events=400000", "-D", "rate=40000", "-D", "event-rate=40000",
                                     "-D", "output=" + out, "-D", "checkpoint.interval=1s",
                                     "-D", "checkpoint.dir=" + cluster_.dir() + "/checkpoints",
                                     "-D", std::string("checkpoint.unaligned=") + (unaligned ? "true" : "false"),
                                     "-D", "restart-strategy=fixed-delay",
                                     "-D", "restart-strategy.fixed-delay.delay=100ms"};
    if (detached) args.push_back("--detached");
    return cluster_.Cli(args, 120000);
  };
  CommandResult clean = run_q3(cluster_.dir() + "/clean", false);
  ASSERT_EQ(clean.exit_code, 0) << clean.err << cluster_.Logs();
  auto expected = SortedLines(cluster_.dir() + "/clean");
  ASSERT_GT(expected.size(), 10u);

  CommandResult run = run_q3(cluster_.dir() + "/killed", true);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string job = JobIdFromRunOutput(run.out);
  ASSERT_NO_FATAL_FAILURE(KillAndReplace(job, "join", 1));
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "FINISHED"; }, 90000)) << cluster_.Logs();
  EXPECT_GT(Status(job)["checkpoints"]["restored_id"].get<int64_t>(), 0);
  EXPECT_EQ(SortedLines(cluster_.dir() + "/killed"), expected);
}

INSTANTIATE_TEST_SUITE_P(Barriers, FinishedSourceTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Unaligned" : "Aligned";
                         });

// The file source's byte offsets are part of its checkpoints: datagen's rows
// written to eight CSV files, read at parallelism 2 (paced by a throttle),
// counted in 1 s windows; killed twice, the job publishes exactly what a run
// without failures does.
TEST_F(CheckpointRecoveryTest, FileSourceOffsetsSurviveTwoKills) {
  StartCluster(3);
  const std::string input = cluster_.dir() + "/input";
  std::filesystem::create_directories(input);
  constexpr int64_t kFiles = 8;
  for (int64_t f = 0; f < kFiles; ++f) {
    std::ofstream csv(input + "/part-" + std::to_string(f) + ".csv");
    for (int64_t id = f * kRows / kFiles; id < (f + 1) * kRows / kFiles; ++id) {
      int64_t ms = id % 1000, s = id / 1000;
      char ts[64];
      std::snprintf(ts, sizeof(ts), "2015-07-15 %02lld:%02lld:%02lld.%03lld", static_cast<long long>(s / 3600),
                    static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60), static_cast<long long>(ms));
      csv << id % kKeys << "," << (id * 7919) % 1000 << "," << ts << "\n";
    }
  }
  const std::string out = cluster_.dir() + "/out";
  const std::string job_file = cluster_.dir() + "/files.yaml";
  std::ofstream(job_file) << "name: files\n"
                          << "parallelism: 2\n"
                          << "config:\n"
                          << "  checkpoint.interval: 300ms\n"
                          << "  checkpoint.dir: " << cluster_.dir() << "/checkpoints\n"
                          << "  restart-strategy: fixed-delay\n"
                          << "  restart-strategy.fixed-delay.delay: 100ms\n"
                          << "operators:\n"
                          << "  - {id: files, type: file-source, path: " << input
                          << ", columns: [key BIGINT, value BIGINT, ts TIMESTAMP(3)], time: ts}\n"
                          << "  - {id: pace, type: throttle, rows-per-second: 12000}\n"
                          << "  - id: counts\n"
                          << "    type: window-aggregate\n"
                          << "    input: {from: pace, partition: hash, key: [key]}\n"
                          << "    time: ts\n"
                          << "    size: 1s\n"
                          << "    key: [key]\n"
                          << "    aggregates: [\"count(*) AS n\", \"sum(value) AS total\"]\n"
                          << "  - {id: out, type: file-sink, path: " << out << "}\n";
  CommandResult run = cluster_.Cli({"run", job_file, "--detached"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string job = JobIdFromRunOutput(run.out);
  for (int kill = 1; kill <= 2; ++kill) ASSERT_NO_FATAL_FAILURE(KillAndReplace(job, "files", kill));
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "FINISHED"; }, 90000)) << cluster_.Logs();
  EXPECT_EQ(Output(out), Expected());
}

TEST_F(CheckpointRecoveryTest, StopWithSavepointAndResumeAtParallelismThreeThenOne) {
  StartCluster(2);
  const std::string out = cluster_.dir() + "/out";
  const std::string job_file = WriteJob(out);
  const std::string savepoints = cluster_.dir() + "/savepoints";
  std::string path;
  int run_number = 0;
  for (const char* p : {"2", "3", "1"}) {
    ++run_number;
    std::vector<std::string> args = {"run", job_file, "-p", p, "--detached"};
    if (!path.empty()) args.insert(args.end(), {"--from-savepoint", path});
    CommandResult run = cluster_.Cli(args);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const std::string job = JobIdFromRunOutput(run.out);
    if (run_number == 3) {
      ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "FINISHED"; }, 60000)) << cluster_.Logs();
      EXPECT_GT(Status(job)["checkpoints"]["restored_id"].get<int64_t>(), 0);
      break;
    }
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto s = Status(job);
          return s["state"] == "RUNNING" && s["checkpoints"]["completed"].get<int64_t>() >= 3;
        },
        30000))
        << cluster_.Logs();
    CommandResult stop = cluster_.Cli({"stop", job, "--savepoint", savepoints});
    ASSERT_EQ(stop.exit_code, 0) << stop.err << cluster_.Logs();
    ASSERT_THAT(stop.out, ::testing::HasSubstr("Savepoint " + savepoints + "/savepoint-"));
    path = stop.out.substr(10, stop.out.find(' ', 10) - 10);
    EXPECT_TRUE(std::filesystem::exists(path + "/_metadata")) << path;
    ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "CANCELED"; }, 15000)) << cluster_.Logs();
  }
  EXPECT_EQ(Output(out), Expected());
}

// stop --drain: the maximum watermark goes through before the savepoint, so
// every window fires, the last one still open included, and the job
// finishes: the output counts every row the windows received.
TEST_F(CheckpointRecoveryTest, StopWithDrainFiresEveryWindowAndFinishes) {
  StartCluster(2);
  const std::string out = cluster_.dir() + "/out";
  const std::string savepoints = cluster_.dir() + "/savepoints";
  CommandResult run = cluster_.Cli({"run", WriteJob(out), "--detached"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string job = JobIdFromRunOutput(run.out);
  AwaitCheckpoints(job, 3);
  CommandResult stop = cluster_.Cli({"stop", job, "--savepoint", savepoints, "--drain"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err << cluster_.Logs();
  EXPECT_THAT(stop.out, ::testing::HasSubstr("drained"));
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "FINISHED"; }, 30000)) << cluster_.Logs();
  int64_t received = 0;  // every row the sources emitted reaches the windows
  const nlohmann::json status = Status(job);
  for (const auto& v : status["vertices"]) {
    if (v["id"] != "gen") continue;
    for (const auto& s : v["subtasks"]) received += s["records_out"].get<int64_t>();
  }
  int64_t counted = 0;
  for (const auto& r : ReadJsonRows(out)) counted += r["n"].get<int64_t>();
  EXPECT_GT(received, 0);
  EXPECT_LT(received, kRows) << "the sources stopped early";
  EXPECT_EQ(counted, received) << "every row is in a fired window";
  size_t savepoint_files = 0;
  for (const auto& e : std::filesystem::directory_iterator(savepoints)) savepoint_files += std::filesystem::exists(e.path() / "_metadata");
  EXPECT_EQ(savepoint_files, 1u);
}

TEST_F(CheckpointRecoveryTest, ADamagedNewestCheckpointFallsBackToThePreviousOne) {
  StartCluster(3);
  const std::string out = cluster_.dir() + "/out";
  CommandResult run = cluster_.Cli({"run", WriteJob(out, std::string(kRestartDelay) + "  checkpoint.retained: 2\n"), "--detached"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string job = JobIdFromRunOutput(run.out);
  int64_t newest = 0;
  ASSERT_NO_FATAL_FAILURE(KillAndDamage(job, [&](const std::string& dir) {
    newest = std::stoll(dir.substr(dir.rfind("chk-") + 4));
    std::filesystem::resize_file(dir + "/_metadata", std::filesystem::file_size(dir + "/_metadata") / 2);
  }));
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "FINISHED"; }, 60000)) << cluster_.Logs();
  auto status = Status(job);
  EXPECT_EQ(status["checkpoints"]["restored_id"].get<int64_t>(), newest - 1) << "the one before the damaged one";
  EXPECT_EQ(Output(out), Expected());
}

TEST_F(CheckpointRecoveryTest, WithNoGoodCheckpointLeftTheJobFailsNamingTheFile) {
  StartCluster(3);
  CommandResult run = cluster_.Cli({"run",
                                    WriteJob(cluster_.dir() + "/out",
                                             std::string(kRestartDelay) + "  checkpoint.retained: 1\n"),
                                    "--detached"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string job = JobIdFromRunOutput(run.out);
  // RocksDB snapshots are incremental: the window state's SST files are in
  // the job's shared/ directory, referenced by the checkpoint. Every one of
  // them is cut short, so whichever the restore reads first is damaged.
  std::vector<std::string> damaged;
  ASSERT_NO_FATAL_FAILURE(KillAndDamage(job, [&](const std::string& dir) {
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(dir).parent_path() / "shared")) {
      if (entry.path().extension() == ".sst" && entry.path().filename().string().rfind("counts-", 0) == 0) {
        damaged.push_back(entry.path().string());
        std::filesystem::resize_file(entry.path(), std::filesystem::file_size(entry.path()) - 5);
      }
    }
  }));
  ASSERT_FALSE(damaged.empty());
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "FAILED"; }, 60000)) << cluster_.Logs();
  std::string failure = Status(job)["failure"];
  EXPECT_THAT(failure, ::testing::HasSubstr("no retained checkpoint can be restored"));
  EXPECT_TRUE(std::any_of(damaged.begin(), damaged.end(),
                          [&](const std::string& path) { return failure.find(path) != std::string::npos; }))
      << failure;
  EXPECT_THAT(failure, ::testing::HasSubstr("bytes, expected"));
}

TEST_F(CheckpointRecoveryTest, ADamagedSavepointIsRefused) {
  StartCluster(1);
  const std::string job_file = WriteJob(cluster_.dir() + "/out");
  CommandResult missing = cluster_.Cli({"run", job_file, "--from-savepoint", cluster_.dir() + "/nothing-here"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_THAT(missing.err, ::testing::HasSubstr(cluster_.dir() + "/nothing-here"));

  const std::string dir = cluster_.dir() + "/broken";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/_metadata") << "SLCKPT01\x10\x00\x00\x00half";
  CommandResult damaged = cluster_.Cli({"run", job_file, "--from-savepoint", dir});
  EXPECT_NE(damaged.exit_code, 0);
  EXPECT_THAT(damaged.err, ::testing::HasSubstr(dir + "/_metadata is damaged"));
  EXPECT_EQ(cluster_.CliJson({"list"})["jobs"].size(), 0u) << "nothing was submitted";
}

}  // namespace
}  // namespace sluice::testing
