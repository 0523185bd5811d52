// Unaligned checkpoints under backpressure. A throttle slows the consumers
// of a fast source on purpose, so every network queue between them is full:
// an aligned barrier waits behind all of it and its checkpoint times out,
// while an unaligned one overtakes the queued buffers (stored with the
// checkpoint) and completes in a fraction of the timeout; so does one that
// starts aligned and turns unaligned after checkpoint.aligned-timeout. And a
// job whose checkpoints carry in-flight data loses a worker to kill -9,
// twice: replaying that data on restore, its output is exactly that of a run
// without failures.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/datagen_windows.h"
#include "tests/support/local_cluster.h"
#include "tests/support/nexmark_time.h"
#include "tests/support/sqlite_reference.h"

namespace sluice::testing {
namespace {

class UnalignedCheckpointTest : public ::testing::Test {
 protected:
  nlohmann::json Status(const std::string& job) { return cluster_.CliJson({"status", job}); }

  void StartCluster(size_t workers, int slots, const std::vector<std::string>& flags = {}) {
    ASSERT_TRUE(cluster_.StartCoordinator().ok()) << cluster_.Logs();
    for (; workers_ < workers; ++workers_) ASSERT_TRUE(cluster_.StartWorker(slots, flags).ok()) << cluster_.Logs();
    ASSERT_TRUE(cluster_.WaitForWorkers(workers)) << cluster_.Logs();
  }

  std::string Run(const std::vector<std::string>& args) {
    CommandResult run = cluster_.Cli(args);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return JobIdFromRunOutput(run.out);
  }

  // The worker addresses of the subtasks of `vertex`, by index.
  std::vector<std::string> WorkersOf(const nlohmann::json& status, const std::string& vertex) {
    std::vector<std::string> addresses;
    for (const auto& v : status["vertices"]) {
      if (v["id"] != vertex) continue;
      for (const auto& s : v["subtasks"]) addresses.push_back(s["worker_address"].get<std::string>());
    }
    return addresses;
  }

  // The index of the worker running subtask 0 of `vertex`.
  int WorkerOf(const std::string& job, const std::string& vertex) {
    auto addresses = WorkersOf(Status(job), vertex);
    if (addresses.empty()) return -1;
    for (size_t i = 0; i < workers_; ++i) {
      if (cluster_.worker_address(i) == addresses[0]) return static_cast<int>(i);
    }
    return -1;
  }

  void Cancel(const std::string& job) {
    CommandResult cancel = cluster_.Cli({"cancel", job});
    ASSERT_EQ(cancel.exit_code, 0) << cancel.err;
    ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "CANCELED"; }, 15000)) << cluster_.Logs();
  }

  LocalCluster cluster_;
  size_t workers_ = 0;
};

// ---- checkpoints under backpressure ----

constexpr int64_t kTimeoutMs = 2000;
constexpr int64_t kWatchMs = 7000;

struct Observed {
  int64_t completed = 0;
  int64_t failed = 0;
  int64_t last_bytes = 0;
  std::map<int64_t, int64_t> durations;  // checkpoint id -> ms, those seen
  int64_t MaxDuration() const {
    int64_t m = 0;
    for (const auto& [id, ms] : durations) m = std::max(m, ms);
    return m;
  }
  std::string ToString() const {
    std::string s = "completed " + std::to_string(completed) + ", failed " + std::to_string(failed) +
                    ", last bytes " + std::to_string(last_bytes) + ", durations (ms):";
    for (const auto& [id, ms] : durations) s += " " + std::to_string(id) + ":" + std::to_string(ms);
    return s;
  }
};

// An endless fast datagen, hashed to a throttle of 5000 rows/s per subtask
// (the slow consumer), into a blackhole; parallelism 2 on two workers, so
// each consumer reads a local and a remote channel. With 4 kB buffers
// (about 50 rows) and 300 floating buffers per gate and output, some 25,000
// rows wait in the queues before each consumer: an aligned barrier needs
// about 5 s to get through, more than twice checkpoint.timeout. An unaligned
// one waits only for the source's current batch (1024 rows) and the buffer
// being processed: a few hundred ms.
TEST_F(UnalignedCheckpointTest, UnderBackpressureUnalignedCompletesWhileAlignedTimesOut) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(
      2, 2, {"-D", "network.buffer-size=4kb", "-D", "network.floating-buffers=300"}));
  const std::string job_file = cluster_.dir() + "/backpressure.yaml";
  std::ofstream(job_file) << "name: backpressure\n"
                          << "parameters:\n"
                          << "  unaligned: \"false\"\n"
                          << "  aligned-timeout: 0ms\n"
                          << "  sources: 2\n"
                          << "  throttle: 5000\n"
                          << "parallelism: 2\n"
                          << "config:\n"
                          << "  checkpoint.interval: 500ms\n"
                          << "  checkpoint.timeout: " << kTimeoutMs << "ms\n"
                          << "  checkpoint.tolerable-failures: 100\n"
                          << "  checkpoint.dir: " << cluster_.dir() << "/checkpoints\n"
                          << "  checkpoint.unaligned: ${unaligned}\n"
                          << "  checkpoint.aligned-timeout: ${aligned-timeout}\n"
                          << "operators:\n"
                          << "  - id: gen\n"
                          << "    type: datagen\n"
                          << "    keys: 1000\n"
                          << "    parallelism: ${sources}\n"
                          << "  - id: slow\n"
                          << "    type: throttle\n"
                          << "    input: {from: gen, partition: hash, key: [key]}\n"
                          << "    rows-per-second: ${throttle}\n"
                          << "  - {id: out, type: blackhole}\n";

  // Runs the job for kWatchMs with `-D` settings, noting every checkpoint
  // duration it sees, and cancels it.
  auto watch = [&](const std::string& label, const std::vector<std::string>& params) {
    Observed seen;
    std::vector<std::string> args = {"run", job_file, "--detached"};
    for (const auto& p : params) args.insert(args.end(), {"-D", p});
    const std::string job = Run(args);
    EXPECT_FALSE(job.empty());
    if (job.empty()) return seen;
    EXPECT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "RUNNING"; }, 15000)) << cluster_.Logs();
    auto status = Status(job);
    // One subtask per worker: consumer 1 is fed over the network (by
    // source 1 as well, if there are two).
    auto gen = WorkersOf(status, "gen");
    auto slow = WorkersOf(status, "slow");
    EXPECT_EQ(slow.size(), 2u);
    if (slow.size() == 2 && !gen.empty()) {
      EXPECT_NE(slow[0], slow[1]) << status.dump();
      EXPECT_NE(gen[0], slow[1]) << status.dump();
    }
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(kWatchMs)) {
      status = Status(job);
      if (status.is_object() && status["checkpoints"]["last_completed_id"].get<int64_t>() > 0) {
        seen.durations[status["checkpoints"]["last_completed_id"].get<int64_t>()] =
            status["checkpoints"]["last_duration_ms"].get<int64_t>();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    status = Status(job);
    if (!status.is_object()) {
      ADD_FAILURE() << label << ": no status of job " << job << "\n" << cluster_.Logs();
      Cancel(job);
      return seen;
    }
    EXPECT_EQ(status["state"], "RUNNING") << label << ": tolerable failures keep it running\n" << cluster_.Logs();
    seen.completed = status["checkpoints"]["completed"].get<int64_t>();
    seen.failed = status["checkpoints"]["failed"].get<int64_t>();
    seen.last_bytes = status["checkpoints"]["last_bytes"].get<int64_t>();
    if (status["checkpoints"]["last_completed_id"].get<int64_t>() > 0) {
      seen.durations[status["checkpoints"]["last_completed_id"].get<int64_t>()] =
          status["checkpoints"]["last_duration_ms"].get<int64_t>();
    }
    Cancel(job);
    std::printf("[ %-16s ] %s\n", label.c_str(), seen.ToString().c_str());
    return seen;
  };

  // The yardstick: aligned checkpoints of the same job without
  // backpressure (a throttle no faster source can reach).
  Observed free = watch("aligned, free", {"unaligned=false", "throttle=1000000000"});
  EXPECT_GE(free.completed, 5) << free.ToString();
  EXPECT_EQ(free.failed, 0) << free.ToString();

  // Aligned: every barrier waits behind the full queues; each checkpoint
  // times out (the next starts at once), none completes.
  Observed aligned = watch("aligned", {"unaligned=false"});
  EXPECT_EQ(aligned.completed, 0) << aligned.ToString();
  EXPECT_GE(aligned.failed, 2) << aligned.ToString();

  // Unaligned: barriers overtake the queues; checkpoints complete one after
  // the other, far within the timeout, and carry the overtaken data.
  Observed unaligned = watch("unaligned", {"unaligned=true"});
  EXPECT_GE(unaligned.completed, 5) << unaligned.ToString();
  EXPECT_EQ(unaligned.failed, 0) << unaligned.ToString();
  EXPECT_LT(unaligned.MaxDuration(), kTimeoutMs / 2) << unaligned.ToString();
  // About as long as an aligned one without backpressure: the same order
  // (tens of ms here), not the seconds the queues take to drain. The margin
  // is for writing megabytes of in-flight data on a loaded machine.
  EXPECT_LT(unaligned.MaxDuration(), free.MaxDuration() + 500)
      << "unaligned under backpressure: " << unaligned.ToString() << "\naligned without: " << free.ToString();
  // Sources' positions are a few bytes and nothing keeps keyed state: the
  // rest is in-flight data (megabytes of queued buffers).
  EXPECT_GT(unaligned.last_bytes, 100000) << unaligned.ToString();

  // Aligned first, unaligned once a barrier has waited 300 ms.
  Observed switched = watch("aligned-timeout", {"unaligned=true", "aligned-timeout=300ms"});
  EXPECT_GE(switched.completed, 3) << switched.ToString();
  EXPECT_EQ(switched.failed, 0) << switched.ToString();
  // The 300 ms, and the source's batch: under a second. A barrier left
  // stuck behind a channel's data shows as a timeout, or as a checkpoint
  // that completes only just before it.
  EXPECT_LT(switched.MaxDuration(), kTimeoutMs * 3 / 4) << switched.ToString();

  // The same with one source: consumer 1 reads only a remote channel, in
  // whose received queue the aligned barrier may already wait, behind the
  // data, when the aligned timeout passes; the task has not seen it, yet it
  // must switch to unaligned all the same.
  Observed remote = watch("one source", {"unaligned=true", "aligned-timeout=300ms", "sources=1"});
  EXPECT_GE(remote.completed, 3) << remote.ToString();
  EXPECT_EQ(remote.failed, 0) << remote.ToString();
  EXPECT_LT(remote.MaxDuration(), kTimeoutMs * 3 / 4) << remote.ToString();
}

// ---- exactly-once with in-flight data ----

constexpr int64_t kRows = 200000;
constexpr int64_t kKeys = 50;

std::multiset<std::string> Expected() { return ExpectedDatagenWindows(kRows, kKeys); }

std::multiset<std::string> Output(const std::string& out) { return DatagenWindowOutput(out); }

// The in-flight data files of a checkpoint directory.
std::vector<std::string> ChannelFiles(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".channels" && entry.file_size() > 0) {
      files.push_back(entry.path().filename().string());
    }
  }
  return files;
}

// datagen -> rebalance -> throttle (5000 rows/s per subtask, so the source
// is backpressured all along) -> hash -> 1 s windows per key -> file sink,
// unaligned checkpoints every second, two workers killed one after the
// other. The checkpoints restored hold in-flight data (the throttle's
// queued input, the source's queued output); the output in the end is
// exactly the expected windows: nothing lost, nothing written twice.
TEST_F(UnalignedCheckpointTest, KillWithInFlightDataLosesAndDuplicatesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartCluster(3, 3));
  const std::string out = cluster_.dir() + "/out";
  const std::string checkpoints = cluster_.dir() + "/checkpoints";
  const std::string job_file = cluster_.dir() + "/recover.yaml";
  std::ofstream(job_file) << "name: recover-unaligned\n"
                          << "parallelism: 2\n"
                          << "config:\n"
                          << "  checkpoint.interval: 1s\n"
                          << "  checkpoint.unaligned: \"true\"\n"
                          << "  checkpoint.dir: " << checkpoints << "\n"
                          << "  checkpoint.retained: 3\n"
                          << "  restart-strategy: fixed-delay\n"
                          << "  restart-strategy.fixed-delay.delay: 100ms\n"
                          << "operators:\n"
                          << "  - {id: gen, type: datagen, events: " << kRows << ", keys: " << kKeys << "}\n"
                          << "  - id: slow\n"
                          << "    type: throttle\n"
                          << "    input: {from: gen, partition: rebalance}\n"
                          << "    rows-per-second: 5000\n"
                          << "  - id: counts\n"
                          << "    type: window-aggregate\n"
                          << "    input: {from: slow, partition: hash, key: [key]}\n"
                          << "    time: ts\n"
                          << "    size: 1s\n"
                          << "    key: [key]\n"
                          << "    aggregates: [\"count(*) AS n\", \"sum(value) AS total\"]\n"
                          << "  - {id: sink, type: file-sink, path: " << out << "}\n";
  const auto started = std::chrono::steady_clock::now();
  const std::string job = Run({"run", job_file, "--detached"});
  ASSERT_FALSE(job.empty());

  for (int kill = 1; kill <= 2; ++kill) {
    // Two more checkpoints of this attempt, the newest with in-flight data.
    const int64_t target = Status(job)["checkpoints"]["completed"].get<int64_t>() + 2;
    std::string newest;
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto s = Status(job);  // null while a status call fails
          if (!s.is_object() || s["state"] != "RUNNING" || s["checkpoints"]["completed"].get<int64_t>() < target) {
            return false;
          }
          newest = s["checkpoints"]["last_path"].get<std::string>();
          return !ChannelFiles(newest).empty();
        },
        30000))
        << "kill " << kill << ": no checkpoint with in-flight data completed\n" << cluster_.Logs();
    std::printf("kill %d: newest checkpoint %s holds %s\n", kill, newest.c_str(),
                ::testing::PrintToString(ChannelFiles(newest)).c_str());
    int victim = WorkerOf(job, "slow");
    ASSERT_GE(victim, 0);
    cluster_.worker(static_cast<size_t>(victim)).Signal(SIGKILL);
    ASSERT_TRUE(cluster_.StartWorker(3).ok()) << cluster_.Logs();
    ++workers_;
    ASSERT_TRUE(WaitUntil(
        [&] {
          auto s = Status(job);
          return s.is_object() && s["state"] == "RUNNING" && s["restarts"].get<int>() >= kill;
        },
        20000))
        << "kill " << kill << ": the job did not restart\n" << cluster_.Logs();
    // The attempt started from a checkpoint that carried in-flight data.
    auto s = Status(job);
    const int64_t restored = s["checkpoints"]["restored_id"].get<int64_t>();
    ASSERT_GT(restored, 0) << "kill " << kill << ": restarted without a checkpoint\n" << cluster_.Logs();
    const std::string restored_dir = checkpoints + "/" + job + "/chk-" + std::to_string(restored);
    EXPECT_FALSE(ChannelFiles(restored_dir).empty())
        << "kill " << kill << ": checkpoint " << restored << " restored holds no in-flight data";
  }

  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(job) == "FINISHED"; }, 90000)) << cluster_.Logs();
  auto status = Status(job);
  EXPECT_EQ(status["restarts"], 2);
  std::printf("finished after %.1f s: %s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
              status["checkpoints"].dump().c_str());
  EXPECT_EQ(Output(out), Expected());
}

}  // namespace
}  // namespace sluice::testing
