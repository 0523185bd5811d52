// A real worker's data port under abuse from outside: a connection flood
// past its descriptor limit must neither spin its accept loop nor flood its
// log, and the worker must run jobs correctly afterwards.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/net_address.h"
#include "tests/support/local_cluster.h"

namespace sluice::testing {
namespace {

// utime + stime of a process, in clock ticks.
int64_t CpuTicks(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  // Fields after the command name, which is in parentheses and may hold spaces.
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return utime + stime;
}

// Opens `n` connections without waiting for each to be accepted.
std::vector<int> Flood(const HostPort& target, int n) {
  std::vector<int> fds;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(target.port);
  inet_pton(AF_INET, target.host.c_str(), &addr.sin_addr);
  for (int i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) break;
    ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));  // EINPROGRESS is fine
    fds.push_back(fd);
  }
  return fds;
}

TEST(DataPortAbuseTest, AFloodPastTheDescriptorLimitNeitherSpinsNorFloodsTheLogAndJobsStillRun) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator().ok()) << cluster.Logs();
  // 128 descriptors: the worker's own (gRPC, logs, state) take some, the
  // flood the rest, and accept() then fails with EMFILE.
  ASSERT_TRUE(cluster.StartWorker(2, {}, {"/usr/bin/prlimit", "--nofile=128:128", "--"}).ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.WaitForWorkers(1)) << cluster.Logs();
  auto workers = cluster.CliJson({"workers"});
  ASSERT_TRUE(workers.is_object()) << cluster.Logs();
  auto data = ParseHostPort(workers["workers"][0]["data_address"].get<std::string>());
  ASSERT_TRUE(data.ok());
  const pid_t pid = cluster.worker(0).pid();
  const std::string log = cluster.dir() + "/worker-0.log";

  std::vector<int> flood = Flood(*data, 400);
  ASSERT_GT(flood.size(), 200u);
  // Let the worker run out of descriptors, then watch it for three seconds.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int64_t ticks_before = CpuTicks(pid);
  const auto log_before = std::filesystem::file_size(log);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const int64_t ticks = CpuTicks(pid) - ticks_before;
  const auto log_growth = std::filesystem::file_size(log) - log_before;
  const int64_t hz = sysconf(_SC_CLK_TCK);
  // Before: 82% of a core and 1.5 M log lines in 5 s.
  EXPECT_LT(ticks, hz * 3 / 4) << "CPU ticks in 3 s (" << hz << " a second): the accept loop spins";
  EXPECT_LT(log_growth, 4096u) << "bytes of log in 3 s:\n" << ReadFile(log).substr(0, 2000);
  EXPECT_NE(ReadFile(log).find("retrying in 100 ms"), std::string::npos) << "the failure is said at least once";

  for (int fd : flood) ::close(fd);
  // The flood's connections are gone (closed by the handshake timeout
  // where accepted); a shuffle with a second worker, over the flooded
  // worker's data port, still runs.
  ASSERT_TRUE(cluster.StartWorker(2).ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.WaitForWorkers(2)) << cluster.Logs();
  std::string output = cluster.dir() + "/after-flood";
  CommandResult run = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/shuffle.yaml", "-D", "events=100000",
                                   "-D", "output=" + output});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster.Logs();
  int64_t rows = 0;
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) ++rows;
  }
  EXPECT_EQ(rows, 1000) << "one row per key";
  EXPECT_TRUE(cluster.worker(0).Running());
}

}  // namespace
}  // namespace sluice::testing
