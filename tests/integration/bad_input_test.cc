// Bad input gets one clear line on stderr and a non-zero exit, and the
// daemons keep serving.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new LocalCluster({"-D", "slot.request-timeout=1s"});
    ASSERT_TRUE(cluster_->StartCoordinator().ok()) << cluster_->Logs();
    ASSERT_TRUE(cluster_->StartWorker(2).ok()) << cluster_->Logs();
    ASSERT_TRUE(cluster_->StartWorker(2).ok()) << cluster_->Logs();
    ASSERT_TRUE(cluster_->WaitForWorkers(2)) << cluster_->Logs();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void TearDown() override {
    // Whatever the bad input was, both daemons still serve.
    auto workers = cluster_->CliJson({"workers"});
    ASSERT_TRUE(workers.is_object()) << cluster_->Logs();
    EXPECT_EQ(workers["workers"].size(), 2u);
    EXPECT_TRUE(cluster_->coordinator().Running());
  }

  std::string WriteJob(const std::string& name, const std::string& yaml) {
    std::string path = cluster_->dir() + "/" + name;
    std::ofstream(path) << yaml;
    return path;
  }
  // One line on stderr, a non-zero exit, and the fragment in the message.
  void ExpectCleanError(const CommandResult& r, const std::string& fragment) {
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_THAT(r.err, HasSubstr(fragment));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("sluice: "));
  }

  static LocalCluster* cluster_;
};

LocalCluster* BadInputTest::cluster_ = nullptr;

TEST_F(BadInputTest, MalformedYaml) {
  std::string path = WriteJob("malformed.yaml", "name: x\noperators:\n  - id: [oops\n");
  ExpectCleanError(cluster_->Cli({"run", path}), path + ":4: malformed YAML: end of sequence flow not found");
}

TEST_F(BadInputTest, UnknownOperator) {
  std::string path = WriteJob("unknown.yaml", "operators:\n  - id: gen\n    type: datagen\n  - id: x\n    type: teleport\n");
  ExpectCleanError(cluster_->Cli({"run", path}), "operator 'x': unknown type 'teleport'");
}

TEST_F(BadInputTest, Cycle) {
  std::string path = WriteJob("cycle.yaml",
                              "operators:\n  - id: a\n    type: calc\n    input: b\n  - id: b\n    type: calc\n    input: a\n");
  ExpectCleanError(cluster_->Cli({"run", path}), "is part of a cycle");
}

TEST_F(BadInputTest, ParallelismZero) {
  std::string path = WriteJob("p0.yaml", "parallelism: 0\noperators:\n  - id: gen\n    type: datagen\n");
  ExpectCleanError(cluster_->Cli({"run", path}), "parallelism must be a positive integer");
  ExpectCleanError(cluster_->Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-p", "0"}),
                   "run: ");
}

TEST_F(BadInputTest, MoreParallelismThanSlots) {
  CommandResult r = cluster_->Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-p", "9", "-D",
                                   "output=" + cluster_->dir() + "/never"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("FAILED"));
  EXPECT_THAT(r.err, HasSubstr("the job needs 9 slots; the cluster has 4 slots on 2 workers"));
  // Nothing was deployed, and every slot is free again.
  auto workers = cluster_->CliJson({"workers"});
  for (const auto& w : workers["workers"]) EXPECT_EQ(w["slots_free"], 2);
}

TEST_F(BadInputTest, AKeyedOperatorNotHashedByItsKeyIsRefusedBeforeAnythingRuns) {
  std::string path = WriteJob("unkeyed.yaml", R"(
parallelism: 2
operators:
  - {id: gen, type: datagen, events: 100}
  - {id: count, type: keyed-count, key: [key], input: {from: gen, partition: rebalance}}
  - {id: out, type: blackhole}
)");
  ExpectCleanError(cluster_->Cli({"run", path}),
                   "operator 'count' (keyed-count) is keyed by [key] but its input from 'gen' is rebalanced");
}

TEST_F(BadInputTest, ASinkIntoEarlierOutputIsRefusedUnlessItOverwrites) {
  const std::string out = cluster_->dir() + "/earlier";
  std::filesystem::create_directories(out);
  for (const char* stale : {"part-0.jsonl", "part-5.jsonl"}) std::ofstream(out + "/" + stale) << "{\"stale\":1}\n";
  auto job = [&](const std::string& overwrite) {
    return WriteJob("into-earlier" + overwrite + ".yaml", R"(
parallelism: 2
operators:
  - {id: gen, type: datagen, events: 10}
  - {id: out, type: file-sink, path: )" + out + overwrite + "}\n");
  };
  ExpectCleanError(cluster_->Cli({"run", job("")}),
                   "operator 'out' (file-sink): directory '" + out + "' is not empty (part-0.jsonl, part-5.jsonl)");
  CommandResult run = cluster_->Cli({"run", job(", sink.overwrite: true")});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::set<std::string> files;
  size_t rows = 0;
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    files.insert(e.path().filename().string());
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) {
      EXPECT_THAT(line, Not(HasSubstr("stale")));
      ++rows;
    }
  }
  EXPECT_EQ(files, (std::set<std::string>{"part-0.jsonl", "part-1.jsonl"}));
  EXPECT_EQ(rows, 10u);
}

TEST_F(BadInputTest, StatusOfAnUnknownJob) {
  ExpectCleanError(cluster_->Cli({"status", "0123456789abcdef"}), "no job with id '0123456789abcdef'");
  ExpectCleanError(cluster_->Cli({"cancel", "0123456789abcdef"}), "no job with id '0123456789abcdef'");
}

TEST_F(BadInputTest, MissingJobFileAndUnknownOptions) {
  ExpectCleanError(cluster_->Cli({"run", "/no/such/job.yaml"}), "cannot read job file '/no/such/job.yaml'");
  ExpectCleanError(cluster_->Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "--fast"}),
                   "--fast");
  ExpectCleanError(cluster_->Cli({"frobnicate"}), "frobnicate");
  ExpectCleanError(cluster_->Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/quickstart.yaml", "-D", "nope=1"}),
                   "the job declares no parameter 'nope'");
}

TEST_F(BadInputTest, AHashEdgeOnAnUnknownFieldIsRefusedByTheCoordinator) {
  std::string path = WriteJob("edge.yaml", R"(
parallelism: 2
operators:
  - id: gen
    type: datagen
    events: 10
  - id: out
    type: blackhole
    input: {from: gen, partition: hash, key: colour}
)");
  ExpectCleanError(cluster_->Cli({"run", path}), "edge 'gen' -> 'out': key field 'colour' is not in");
  auto list = cluster_->CliJson({"list"});
  for (const auto& job : list["jobs"]) EXPECT_NE(job["state"], "RUNNING");
}

// A loopback port bound by `fd` but not listening: connections to it are
// refused, and no other process can take it while `fd` stays open.
std::string UnusedAddress(int fd) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

TEST(NoCoordinatorTest, TheCliSaysItCannotReachTheCoordinator) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  std::string address = UnusedAddress(fd);
  CommandResult r = RunCommand({SLUICE_BIN_DIR "/sluice", "--coordinator", address, "list"});
  close(fd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot reach the coordinator at " + address));
  EXPECT_THAT(r.out, Not(HasSubstr("jobs")));
}

}  // namespace
}  // namespace sluice::testing
