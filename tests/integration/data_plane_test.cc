// Records crossing workers: HASH, BROADCAST and REBALANCE edges between two
// real workers give exactly the expected rows, and a slow consumer on one
// channel neither stops another channel of the same connection nor makes a
// worker's memory grow past its network budget.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

class DataPlaneClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.StartCoordinator().ok()) << cluster_.Logs();
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(cluster_.StartWorker(2, {"-D", "network.memory=16mb"}).ok()) << cluster_.Logs();
    }
    ASSERT_TRUE(cluster_.WaitForWorkers(2)) << cluster_.Logs();
  }

  std::string WriteJob(const std::string& name, const std::string& yaml) {
    std::string path = cluster_.dir() + "/" + name;
    std::ofstream(path) << yaml;
    return path;
  }

  // Every line of every part file in `dir`, per file.
  static std::map<std::string, std::vector<std::string>> ReadParts(const std::string& dir) {
    std::map<std::string, std::vector<std::string>> parts;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) parts[entry.path().filename().string()].push_back(line);
    }
    return parts;
  }

  std::set<std::string> WorkersOf(const std::string& job, const std::string& vertex) {
    std::set<std::string> workers;
    auto status = cluster_.CliJson({"status", job});
    for (const auto& v : status["vertices"]) {
      if (v["id"] != vertex) continue;
      for (const auto& s : v["subtasks"]) workers.insert(s["worker"].get<std::string>());
    }
    return workers;
  }

  LocalCluster cluster_;
};

TEST_F(DataPlaneClusterTest, ShuffleGivesExactlyTheCountsComputedHere) {
  const int64_t events = 1234567;
  std::string output = cluster_.dir() + "/shuffle";
  CommandResult run = cluster_.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/shuffle.yaml", "-D",
                                    "events=" + std::to_string(events), "-D", "output=" + output});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster_.Logs();
  std::string id = JobIdFromRunOutput(run.out);
  EXPECT_EQ(WorkersOf(id, "count").size(), 2u) << "the counting subtasks run on both workers";

  std::map<int64_t, int64_t> counts;
  for (const auto& [file, lines] : ReadParts(output)) {
    for (const auto& line : lines) {
      auto row = nlohmann::json::parse(line);
      int64_t key = row["key"];
      EXPECT_EQ(counts.count(key), 0u) << "key " << key << " counted by two subtasks";
      counts[key] = row["count"];
    }
  }
  ASSERT_EQ(counts.size(), 1000u);
  for (int64_t key = 0; key < 1000; ++key) {
    // datagen: key = id % 1000 for ids 0..events-1
    int64_t expected = events / 1000 + (key < events % 1000 ? 1 : 0);
    EXPECT_EQ(counts[key], expected) << "key " << key;
  }
}

TEST_F(DataPlaneClusterTest, BroadcastDeliversEveryRecordToEverySubtask) {
  std::string output = cluster_.dir() + "/broadcast";
  std::string job = WriteJob("broadcast.yaml", R"(
parallelism: 2
operators:
  - id: gen
    type: datagen
    events: 20000
  - id: ids
    type: calc
    select: [id]
    input: {from: gen, partition: broadcast}
  - id: out
    type: file-sink
    path: )" + output + "\n");
  CommandResult run = cluster_.Cli({"run", job});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster_.Logs();
  EXPECT_EQ(WorkersOf(JobIdFromRunOutput(run.out), "ids").size(), 2u);
  auto parts = ReadParts(output);
  ASSERT_EQ(parts.size(), 2u);
  for (const auto& [file, lines] : parts) {
    EXPECT_EQ(lines.size(), 20000u) << file;
    std::set<std::string> unique(lines.begin(), lines.end());
    EXPECT_EQ(unique.size(), 20000u) << file << " has duplicates";
    EXPECT_TRUE(unique.count("{\"id\":0}") && unique.count("{\"id\":19999}")) << file;
  }
}

TEST_F(DataPlaneClusterTest, RebalanceSpreadsRowsWithoutLosingAny) {
  std::string output = cluster_.dir() + "/rebalance";
  std::string job = WriteJob("rebalance.yaml", R"(
operators:
  - id: gen
    type: datagen
    events: 30000
    parallelism: 1
  - id: ids
    type: calc
    select: [id]
    parallelism: 2
    input: {from: gen, partition: rebalance}
  - id: out
    type: file-sink
    parallelism: 2
    path: )" + output + "\n");
  CommandResult run = cluster_.Cli({"run", job});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster_.Logs();
  std::set<std::string> all;
  size_t total = 0;
  for (const auto& [file, lines] : ReadParts(output)) {
    EXPECT_EQ(lines.size(), 15000u) << file << ": round robin splits evenly";
    total += lines.size();
    all.insert(lines.begin(), lines.end());
  }
  EXPECT_EQ(total, 30000u);
  EXPECT_EQ(all.size(), 30000u);
}

TEST_F(DataPlaneClusterTest, EventTimeWindowsAcrossWorkersGiveExactResults) {
  // Watermarks travel with the rows through a HASH exchange; each window
  // fires once every upstream subtask has passed it, so nothing is late and
  // every window is complete. Expected values come from datagen's formulas.
  const int64_t events = 60000;
  std::string output = cluster_.dir() + "/windows";
  std::string job = WriteJob("windows.yaml", R"(
parallelism: 2
config:
  pipeline.auto-watermark-interval: 20ms
operators:
  - id: gen
    type: datagen
    events: )" + std::to_string(events) + R"(
    keys: 7
    rate: 40000
  - id: win
    type: window-aggregate
    input: {from: gen, partition: hash, key: [key]}
    time: ts
    size: 1s
    key: [key]
    aggregates: ["count(*) AS n", "sum(value) AS total", "max(id) AS last"]
  - id: out
    type: file-sink
    path: )" + output + "\n");
  CommandResult run = cluster_.Cli({"run", job});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster_.Logs();

  // datagen: ts = 1436918400000 + id, a multiple of 1000 plus id, so window w
  // holds ids [1000w, 1000w + 1000).
  std::map<std::pair<int64_t, int64_t>, std::tuple<int64_t, int64_t, int64_t>> expected;
  for (int64_t id = 0; id < events; ++id) {
    auto& [n, total, last] = expected[{id % 7, id / 1000}];
    ++n;
    total += (id * 7919) % 1000;
    last = std::max(last, id);
  }
  size_t rows = 0;
  std::set<std::pair<int64_t, int64_t>> seen;
  for (const auto& [file, lines] : ReadParts(output)) {
    for (const auto& line : lines) {
      ++rows;
      auto r = nlohmann::json::parse(line);
      std::string start = r["window_start"];  // "2015-07-15 00:MM:SS.000"
      int64_t minute = std::stoll(start.substr(14, 2)), second = std::stoll(start.substr(17, 2));
      auto it = expected.find({r["key"].get<int64_t>(), minute * 60 + second});
      ASSERT_NE(it, expected.end()) << line;
      seen.insert(it->first);
      EXPECT_EQ(r["n"].get<int64_t>(), std::get<0>(it->second)) << line;
      EXPECT_EQ(r["total"].get<int64_t>(), std::get<1>(it->second)) << line;
      EXPECT_EQ(r["last"].get<int64_t>(), std::get<2>(it->second)) << line;
    }
  }
  EXPECT_EQ(rows, expected.size());
  for (const auto& [window, values] : expected) {
    EXPECT_TRUE(seen.count(window)) << "no row for key " << window.first << ", window " << window.second;
  }
}

TEST(NetworkMemoryTest, AJobWhoseChannelsDoNotFitFailsToDeploySayingHowMuchItNeeded) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator().ok()) << cluster.Logs();
  for (int i = 0; i < 2; ++i) {
    // 16 buffers of 32 KiB: less than a shuffle subtask pair needs.
    ASSERT_TRUE(cluster.StartWorker(2, {"-D", "network.memory=512kb"}).ok()) << cluster.Logs();
  }
  ASSERT_TRUE(cluster.WaitForWorkers(2)) << cluster.Logs();
  CommandResult run = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/shuffle.yaml", "-D", "events=1000",
                                   "-D", "output=" + cluster.dir() + "/never"});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_THAT(run.err, HasSubstr("network buffers"));
  EXPECT_THAT(run.err, HasSubstr("MiB"));
  EXPECT_THAT(run.err, HasSubstr("network.memory (0.5 MiB)"));
  // The workers stay up, with every slot and buffer back.
  auto workers = cluster.CliJson({"workers"});
  ASSERT_EQ(workers["workers"].size(), 2u);
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto w = cluster.CliJson({"workers"});
        for (const auto& worker : w["workers"]) {
          if (worker["slots_free"] != 2 || worker["running_tasks"] != 0) return false;
        }
        return true;
      },
      5000));
  // A job that fits still runs on them.
  CommandResult small = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-D", "events=1000",
                                     "-D", "output=" + cluster.dir() + "/fits"});
  EXPECT_EQ(small.exit_code, 0) << small.err;
}

TEST(NetworkMemoryTest, AFailedJobGivesBackTheBuffersOfItsFinishedProducers) {
  // The sink fails at once; the sources finish, their rows still queued for
  // it. Cancelling the job must release those partitions on every worker,
  // or a few failed jobs exhaust the network memory for good.
  LocalCluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator().ok()) << cluster.Logs();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(cluster.StartWorker(2, {"-D", "network.memory=2mb"}).ok()) << cluster.Logs();
  }
  ASSERT_TRUE(cluster.WaitForWorkers(2)) << cluster.Logs();
  auto job = [&](const std::string& path) {
    std::string file = cluster.dir() + "/fan-in.yaml";
    std::ofstream(file) << "parallelism: 2\noperators:\n  - id: gen\n    type: datagen\n    events: 5000\n"
                           "  - id: out\n    type: file-sink\n    parallelism: 1\n    path: " + path + "\n";
    return cluster.Cli({"run", file});
  };
  for (int i = 0; i < 3; ++i) {
    CommandResult failed = job("/proc/sluice-cannot-write-here");
    ASSERT_EQ(failed.exit_code, 1) << failed.out << failed.err;
    EXPECT_THAT(failed.err, HasSubstr("cannot create directory")) << "run " << i;
  }
  CommandResult ok = job(cluster.dir() + "/fan-in-out");
  EXPECT_EQ(ok.exit_code, 0) << ok.err << cluster.Logs();
  // And every buffer is back, by heartbeats sent after all of it.
  int64_t after = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto w = cluster.CliJson({"workers"});
        for (const auto& worker : w["workers"]) {
          if (worker["last_heartbeat_ms"].get<int64_t>() <= after || worker["network_buffers_total"] == 0 ||
              worker["network_buffers_free"] != worker["network_buffers_total"]) {
            return false;
          }
        }
        return true;
      },
      5000))
      << cluster.CliJson({"workers"}).dump();
}

int64_t RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

TEST_F(DataPlaneClusterTest, ASlowChannelStallsOnlyItselfAndMemoryStaysBounded) {
  // Job "slow": a fast generator feeds a throttled consumer through a HASH
  // edge, so its producers are backpressured for seconds. Job "free" crosses
  // the same pair of workers, over the same connections, at full speed.
  // Far more than every buffer on the way can hold: 10 s at 20,000 rows/s
  // per subtask, long enough for the free job to run beside it on a
  // loaded machine.
  const int64_t slow_events = 400000;
  std::string slow_out = cluster_.dir() + "/slow";
  std::string slow = WriteJob("slow.yaml", R"(
name: slow
parallelism: 2
operators:
  - id: gen
    type: datagen
    events: )" + std::to_string(slow_events) + R"(
  - id: slow
    type: throttle
    rows-per-second: 20000
    input: {from: gen, partition: hash, key: [key]}
  - id: out
    type: file-sink
    path: )" + slow_out + "\n");
  int64_t rss_before[2] = {RssKiB(cluster_.worker(0).pid()), RssKiB(cluster_.worker(1).pid())};

  CommandResult started = cluster_.Cli({"run", slow, "--detached"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  std::string slow_id = JobIdFromRunOutput(started.out);
  ASSERT_TRUE(WaitUntil([&] { return cluster_.JobState(slow_id) == "RUNNING"; }, 10000));

  // The slow job's producers report backpressure.
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto s = cluster_.CliJson({"status", slow_id});
        for (const auto& sub : s["vertices"][0]["subtasks"]) {
          if (sub["backpressured_ms_per_second"].get<double>() > 200) return true;
        }
        return false;
      },
      8000))
      << cluster_.CliJson({"status", slow_id}).dump();

  auto free_start = std::chrono::steady_clock::now();
  std::string free_out = cluster_.dir() + "/free";
  CommandResult free = cluster_.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/shuffle.yaml", "-D", "events=2000000",
                                     "-D", "output=" + free_out});
  auto free_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - free_start).count();
  ASSERT_EQ(free.exit_code, 0) << free.err << cluster_.Logs();
  EXPECT_EQ(cluster_.JobState(slow_id), "RUNNING") << "the free job finished while the slow one still runs";
  EXPECT_LT(free_seconds, 8.0) << "the free job was held up by the slow one";

  // Memory: at most the network budget (16 MiB) plus a margin, however far
  // the generators could run ahead.
  int64_t peak[2] = {0, 0};
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (int w = 0; w < 2; ++w) peak[w] = std::max(peak[w], RssKiB(cluster_.worker(w).pid()));
        return cluster_.JobState(slow_id) == "FINISHED";
      },
      30000))
      << cluster_.CliJson({"status", slow_id}).dump() << cluster_.Logs();
  for (int w = 0; w < 2; ++w) {
    EXPECT_LT(peak[w] - rss_before[w], (16 + 48) * 1024) << "worker " << w << " grew from " << rss_before[w]
                                                         << " KiB to " << peak[w] << " KiB";
  }

  // Nothing was lost once the slow sink caught up.
  std::set<std::string> ids;
  size_t rows = 0;
  for (const auto& [file, lines] : ReadParts(slow_out)) {
    rows += lines.size();
    for (const auto& line : lines) ids.insert(line.substr(0, line.find(',')));
  }
  EXPECT_EQ(rows, static_cast<size_t>(slow_events));
  EXPECT_EQ(ids.size(), static_cast<size_t>(slow_events));
}

}  // namespace
}  // namespace sluice::testing
