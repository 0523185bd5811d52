// A real worker's data port under abuse from outside: a connection flood
// past its descriptor limit must neither spin its accept loop nor flood its
// log; idle and half-open connections and requests for partitions that do
// not exist must cost little and give their memory back; and the worker
// must run jobs correctly afterwards.
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
#include "worker/network/frame.h"

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

// Resident memory of a process, in KiB.
int64_t RssKib(pid_t pid) {
  std::istringstream status(ReadFile("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// Sends all of `bytes` on a blocking socket.
bool SendAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads frames until `n` error frames came, the connection closed or
// nothing came for `timeout_ms`; returns the error frames seen.
int ReadErrorFrames(int fd, int n, int timeout_ms) {
  std::string in;
  int errors = 0;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char chunk[65536];
  while (errors < n) {
    ssize_t got = ::recv(fd, chunk, sizeof(chunk), 0);
    if (got <= 0) break;
    in.append(chunk, static_cast<size_t>(got));
    FrameHeader h;
    while (in.size() >= kFrameHeaderBytes &&
           DecodeFrameHeader(reinterpret_cast<const uint8_t*>(in.data()), in.size(), 1 << 20, &h).ok() &&
           in.size() >= kFrameHeaderBytes + h.payload_length) {
      if (h.type == FrameType::kError) ++errors;
      in.erase(0, kFrameHeaderBytes + h.payload_length);
    }
  }
  return errors;
}

// Waits for the one worker to register and returns its data address.
HostPort DataAddressOfTheOnlyWorker(LocalCluster& cluster) {
  EXPECT_TRUE(cluster.WaitForWorkers(1)) << cluster.Logs();
  auto workers = cluster.CliJson({"workers"});
  EXPECT_TRUE(workers.is_object() && workers["workers"].size() == 1) << cluster.Logs();
  if (!workers.is_object() || workers["workers"].empty()) return {};
  auto data = ParseHostPort(workers["workers"][0]["data_address"].get<std::string>());
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  return data.ok() ? *data : HostPort{};
}

// Starts a second worker and runs the shuffle job across both (so over the
// first worker's data port): one row per key.
void ExpectAShuffleWithASecondWorkerRuns(LocalCluster& cluster, const std::string& name) {
  ASSERT_TRUE(cluster.StartWorker(2).ok()) << cluster.Logs();
  ASSERT_TRUE(cluster.WaitForWorkers(2)) << cluster.Logs();
  std::string output = cluster.dir() + "/" + name;
  CommandResult run = cluster.Cli({"run", SLUICE_SOURCE_DIR "/examples/jobs/shuffle.yaml", "-D", "events=100000",
                                   "-D", "output=" + output});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << cluster.Logs();
  int64_t rows = 0;
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) ++rows;
  }
  EXPECT_EQ(rows, 1000) << "one row per key";
}

TEST(DataPortAbuseTest, IdleHalfOpenConnectionsAndUnknownPartitionsLeaveTheWorkerAsItWas) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator().ok()) << cluster.Logs();
  const std::vector<std::string> short_deadlines = {"-D", "network.handshake-timeout=2s", "-D",
                                                    "network.partition-request-timeout=1s"};
  ASSERT_TRUE(cluster.StartWorker(2, short_deadlines).ok()) << cluster.Logs();
  const HostPort data = DataAddressOfTheOnlyWorker(cluster);
  ASSERT_NE(data.port, 0) << "no data address";
  const pid_t pid = cluster.worker(0).pid();
  const int64_t baseline = RssKib(pid);

  // 500 connections that send half a header and wait.
  std::vector<int> half_open = Flood(data, 500);
  ASSERT_EQ(half_open.size(), 500u);
  for (int fd : half_open) {
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    ASSERT_TRUE(SendAll(fd, std::string(5, '\1')));
  }
  // 2,000 requests for partitions that do not exist, on one connection.
  std::vector<int> asking = Flood(data, 1);
  ASSERT_EQ(asking.size(), 1u);
  int flags = fcntl(asking[0], F_GETFL);
  fcntl(asking[0], F_SETFL, flags & ~O_NONBLOCK);
  std::string requests;
  for (uint32_t channel = 1; channel <= 2000; ++channel) {
    PartitionRequest r;
    r.job_id = "no-such-job";
    r.producer_vertex = "no-such-vertex-" + std::to_string(channel);
    r.initial_credit = 2;
    r.consumer_worker = "outsider";
    r.consumer_task = "outsider-task";
    requests += EncodeFrame(FrameType::kPartitionRequest, channel, EncodePartitionRequest(r));
  }
  ASSERT_TRUE(SendAll(asking[0], requests));
  const int64_t during = RssKib(pid);
  // Before: 258 KiB for each idle connection (126 MiB for these 500) and
  // 45 MB kept for good after 2,000 unknown partitions.
  EXPECT_LT(during - baseline, 40 * 1024) << "KiB of the worker for 500 half-open connections";
  EXPECT_EQ(ReadErrorFrames(asking[0], 2000, 10000), 2000) << "every unknown partition is answered";

  // The half-open ones are closed by the worker after its handshake timeout.
  int closed = 0;
  for (int fd : half_open) {
    char byte;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (::recv(fd, &byte, 1, 0) == 0) ++closed;
    ::close(fd);
  }
  ::close(asking[0]);
  EXPECT_EQ(closed, 500) << "half-open connections the worker closed by itself";
  EXPECT_TRUE(WaitUntil([&] { return RssKib(pid) - baseline < 16 * 1024; }, 10000))
      << "the worker keeps " << RssKib(pid) - baseline << " KiB more than before";

  // And it runs a shuffle with a second worker, over its data port, exactly.
  ExpectAShuffleWithASecondWorkerRuns(cluster, "after-abuse");
}

TEST(DataPortAbuseTest, AFloodPastTheDescriptorLimitNeitherSpinsNorFloodsTheLogAndJobsStillRun) {
  LocalCluster cluster;
  ASSERT_TRUE(cluster.StartCoordinator().ok()) << cluster.Logs();
  // 128 descriptors: the worker's own (gRPC, logs, state) take some, the
  // flood the rest, and accept() then fails with EMFILE.
  ASSERT_TRUE(cluster.StartWorker(2, {}, {"/usr/bin/prlimit", "--nofile=128:128", "--"}).ok()) << cluster.Logs();
  const HostPort data = DataAddressOfTheOnlyWorker(cluster);
  ASSERT_NE(data.port, 0) << "no data address";
  const pid_t pid = cluster.worker(0).pid();
  const std::string log = cluster.dir() + "/worker-0.log";

  std::vector<int> flood = Flood(data, 400);
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
  ExpectAShuffleWithASecondWorkerRuns(cluster, "after-flood");
  EXPECT_TRUE(cluster.worker(0).Running());
}

}  // namespace
}  // namespace sluice::testing
