// The stateless Nexmark queries run end to end on two workers; q2's result
// is checked against q0's output filtered here, by another path.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "tests/support/local_cluster.h"
#include "tests/support/nexmark_time.h"

namespace sluice::testing {
namespace {

class NexmarkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new LocalCluster();
    ASSERT_TRUE(cluster_->StartCoordinator().ok()) << cluster_->Logs();
    ASSERT_TRUE(cluster_->StartWorker(2).ok()) << cluster_->Logs();
    ASSERT_TRUE(cluster_->StartWorker(2).ok()) << cluster_->Logs();
    ASSERT_TRUE(cluster_->WaitForWorkers(2)) << cluster_->Logs();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  // Runs the query; returns its output rows.
  std::vector<nlohmann::json> Run(const std::string& q, int64_t events, std::vector<std::string> extra = {}) {
    // A fresh directory per run ("q1" + "15" must not be "q11" + "5"): a
    // file sink refuses one holding earlier output.
    std::string output = cluster_->dir() + "/" + q + "-" + std::to_string(runs_++);
    std::vector<std::string> args = {"run", std::string(SLUICE_SOURCE_DIR "/examples/jobs/nexmark/") + q + ".yaml",
                                     "-p", "2", "-D", "events=" + std::to_string(events), "-D", "output=" + output};
    for (const auto& e : extra) {
      args.push_back("-D");
      args.push_back(e);
    }
    CommandResult run = cluster_->Cli(args);
    EXPECT_EQ(run.exit_code, 0) << q << ": " << run.out << run.err << cluster_->Logs();
    std::vector<nlohmann::json> rows;
    if (!std::filesystem::exists(output)) return rows;
    for (const auto& entry : std::filesystem::directory_iterator(output)) {
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
    }
    return rows;
  }

  static LocalCluster* cluster_;
  static inline int runs_ = 0;  // over the suite, which shares one cluster directory
};


LocalCluster* NexmarkTest::cluster_ = nullptr;

TEST_F(NexmarkTest, Q0PassesEveryBidThrough) {
  auto rows = Run("q0", 50000);
  EXPECT_EQ(rows.size(), 46000u) << "46 of every 50 events are bids";
  std::set<std::string> keys;
  for (const auto& [k, v] : rows.at(0).items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"auction", "bidder", "price", "dateTime", "extra"}));
}

TEST_F(NexmarkTest, Q2EqualsQ0FilteredHere) {
  std::multiset<std::string> expected, actual;
  for (const auto& row : Run("q0", 100000)) {
    if (row["auction"].get<int64_t>() % 123 == 0) {
      expected.insert(std::to_string(row["auction"].get<int64_t>()) + "/" + std::to_string(row["price"].get<int64_t>()));
    }
  }
  for (const auto& row : Run("q2", 100000)) {
    actual.insert(std::to_string(row["auction"].get<int64_t>()) + "/" + std::to_string(row["price"].get<int64_t>()));
  }
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(actual, expected);
}

TEST_F(NexmarkTest, TheOtherStatelessQueriesRunAndKeepTheirContracts) {
  for (const auto& row : Run("q1", 20000)) EXPECT_TRUE(row["price"].is_number());
  auto q14 = Run("q14", 20000);
  EXPECT_FALSE(q14.empty());
  for (const auto& row : q14) {
    double price = row["price"];
    EXPECT_GT(price, 1000000);
    EXPECT_LT(price, 50000000);
    EXPECT_TRUE(row["bidTimeType"] == "dayTime" || row["bidTimeType"] == "nightTime" || row["bidTimeType"] == "otherTime");
  }
  auto q21 = Run("q21", 20000);
  EXPECT_FALSE(q21.empty());
  for (const auto& row : q21) EXPECT_FALSE(row["channel_id"].is_null());
  auto q22 = Run("q22", 20000);
  EXPECT_EQ(q22.size(), 18400u);
}

// q5 against its definition, computed here from q0's bids (auction and
// dateTime): per sliding window of 10 s every 2 s, the auctions with the most
// bids.
TEST_F(NexmarkTest, Q5EqualsTheHotItemsComputedFromQ0) {
  const int64_t events = 300000;
  std::map<int64_t, std::map<int64_t, int64_t>> counts;  // window start -> auction -> bids
  for (const auto& row : Run("q0", events)) {
    std::string t = row["dateTime"];  // "2015-07-15 HH:MM:SS.mmm"
    int64_t ms = ((std::stoll(t.substr(11, 2)) * 60 + std::stoll(t.substr(14, 2))) * 60 + std::stoll(t.substr(17, 2))) * 1000 +
                 std::stoll(t.substr(20, 3));
    int64_t last_start = ms - ms % 2000;
    for (int64_t start = last_start; start > ms - 10000; start -= 2000) ++counts[start][row["auction"].get<int64_t>()];
  }
  std::multiset<std::string> expected;
  for (const auto& [start, auctions] : counts) {
    int64_t max = 0;
    for (const auto& [auction, n] : auctions) max = std::max(max, n);
    for (const auto& [auction, n] : auctions) {
      if (n == max) expected.insert(std::to_string(auction) + "/" + std::to_string(n));
    }
  }
  std::multiset<std::string> actual;
  for (const auto& row : Run("q5", events)) {
    actual.insert(std::to_string(row["auction"].get<int64_t>()) + "/" + std::to_string(row["num"].get<int64_t>()));
  }
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(actual, expected);
}

// q7 against its definition, computed here from q0's bids: per 10 s
// tumbling window, the bids at the window's highest price.
TEST_F(NexmarkTest, Q7EqualsTheHighestBidsComputedFromQ0) {
  const int64_t events = 200000;
  const std::vector<std::string> rate = {"event-rate=10000"};  // 20 s of event time: two windows
  std::map<int64_t, std::vector<nlohmann::json>> windows;
  for (const auto& row : Run("q0", events, rate)) windows[TimeOfDayMs(row["dateTime"]) / 10000].push_back(row);
  std::multiset<std::string> expected;
  for (const auto& [w, bids] : windows) {
    int64_t max = 0;
    for (const auto& b : bids) max = std::max(max, b["price"].get<int64_t>());
    for (const auto& b : bids) {
      if (b["price"] == max) expected.insert(b.dump());
    }
  }
  std::multiset<std::string> actual;
  for (const auto& row : Run("q7", events, rate)) actual.insert(row.dump());
  EXPECT_EQ(windows.size(), 2u);
  EXPECT_EQ(actual, expected);
}

// q11 against its definition, computed here from q0's bids: per bidder,
// sessions of bids less than 10 s apart.
TEST_F(NexmarkTest, Q11EqualsTheSessionsComputedFromQ0) {
  const int64_t events = 100000;
  const std::vector<std::string> rate = {"event-rate=2000"};  // 50 s of event time
  std::map<int64_t, std::vector<int64_t>> times;  // bidder -> bid times
  for (const auto& row : Run("q0", events, rate)) times[row["bidder"].get<int64_t>()].push_back(TimeOfDayMs(row["dateTime"]));
  std::multiset<std::string> expected;
  for (auto& [bidder, ts] : times) {
    std::sort(ts.begin(), ts.end());
    size_t begin = 0;
    for (size_t i = 1; i <= ts.size(); ++i) {
      // A bid exactly 10 s after the last continues the session (Flink's
      // inclusive merge rule); only a longer gap starts a new one.
      if (i == ts.size() || ts[i] > ts[i - 1] + 10000) {
        expected.insert(std::to_string(bidder) + "/" + std::to_string(i - begin) + "/" + std::to_string(ts[begin]) +
                        "/" + std::to_string(ts[i - 1] + 10000));
        begin = i;
      }
    }
  }
  std::multiset<std::string> actual;
  for (const auto& row : Run("q11", events, rate)) {
    actual.insert(std::to_string(row["bidder"].get<int64_t>()) + "/" + std::to_string(row["bid_count"].get<int64_t>()) +
                  "/" + std::to_string(TimeOfDayMs(row["starttime"])) + "/" + std::to_string(TimeOfDayMs(row["endtime"])));
  }
  EXPECT_GT(expected.size(), 100u);
  EXPECT_EQ(actual, expected);
}

// q12's windows are of processing time, so its rows vary from run to run;
// what holds is that the counts add up to the bids, one row per bidder and
// window, every window 10 s long.
TEST_F(NexmarkTest, Q12CountsAddUpToTheBids) {
  int64_t total = 0;
  std::set<std::string> seen;
  for (const auto& row : Run("q12", 100000)) {
    total += row["bid_count"].get<int64_t>();
    EXPECT_TRUE(seen.insert(row["bidder"].dump() + row["starttime"].dump()).second) << row.dump();
    EXPECT_EQ((TimeOfDayMs(row["endtime"]) - TimeOfDayMs(row["starttime"]) + 86400000) % 86400000, 10000) << row.dump();
  }
  EXPECT_EQ(total, 92000);
}

// q10 writes each bid under the directory of its day and minute.
TEST_F(NexmarkTest, Q10PartitionsBidsByDayAndMinute) {
  std::string output = cluster_->dir() + "/q10-out";
  CommandResult run = cluster_->Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/nexmark/q10.yaml", "-p", "2", "-D",
                                     "events=100000", "-D", "event-rate=1000", "-D", "output=" + output});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::set<std::string> partitions;
  size_t rows = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(output)) {
    if (!entry.is_regular_file()) continue;
    std::string dir = std::filesystem::relative(entry.path().parent_path(), output).string();
    partitions.insert(dir);
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      auto row = nlohmann::json::parse(line);
      ++rows;
      std::string t = row["dateTime"];
      EXPECT_EQ(dir, "dt=" + t.substr(0, 10) + "/hm=" + t.substr(11, 5)) << line;
    }
  }
  EXPECT_EQ(rows, 92000u);
  // 100 s of event time from midnight: minutes 00:00 and 00:01.
  EXPECT_EQ(partitions, (std::set<std::string>{"dt=2015-07-15/hm=00:00", "dt=2015-07-15/hm=00:01"}));
}

}  // namespace
}  // namespace sluice::testing
