// What a peer, or anything that reaches the data port, can hold on a worker:
// connections that never greet or go idle, more connections than the cap,
// requests for partitions that never come. And the stall watchdog, which
// turns a channel that could move but does not into a failure instead of a
// silent hang.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "worker/network/data_plane.h"
#include "worker/network/data_plane_test_util.h"

namespace sluice {
namespace {

using namespace net_test;  // NOLINT: the shared helpers read as part of this file

// ---- The stall watchdog -------------------------------------------------------

// A reader that never takes anything; whether it could is the test's to say.
class IdleReader final : public SubpartitionListener {
 public:
  explicit IdleReader(bool can_take) : can_take_(can_take) {}
  void OnDataAvailable() override {}
  bool CanTakeData() const override { return can_take_; }
  std::string Describe() const override { return "idle reader"; }
  void OnStalled(const Status& why) override { stalled_ = why; }
  const Status& stalled() const { return stalled_; }

 private:
  const bool can_take_;
  Status stalled_;
};

class StallWatchdogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plane_ = StartPlane("w");
    ASSERT_NE(plane_, nullptr);
    partition_ = MakePartition(*plane_, PartitionIdFor("gen", 1), 2);
    ASSERT_NE(partition_, nullptr);
    partition_->set_stall_timeout_ms(kTimeoutMs);
  }
  void TearDown() override {
    partition_->subpartition(0).DetachListener();
    partition_.reset();
  }

  static constexpr int64_t kTimeoutMs = 60000;
  std::unique_ptr<DataPlane> plane_;
  std::shared_ptr<ResultPartition> partition_;
};

TEST_F(StallWatchdogTest, AReaderThatCouldTakeButTakesNothingFailsTheProducerAndTheConsumer) {
  IdleReader reader(/*can_take=*/true);
  ASSERT_TRUE(partition_->subpartition(0).SetListener(&reader).ok());
  AddBuffer(*partition_, 0, 100, 1);
  AddBuffer(*partition_, 0, 100, 2);

  const int64_t now = SteadyNowMs();
  EXPECT_TRUE(partition_->CheckStalled(now + 1000).ok()) << "one second without a take is no stall";
  EXPECT_TRUE(partition_->failure().ok());

  Status stalled = partition_->CheckStalled(now + kTimeoutMs + 1000);
  ASSERT_FALSE(stalled.ok());
  EXPECT_TRUE(Contains(stalled.message(), "task.stall-timeout")) << stalled.ToString();
  EXPECT_TRUE(Contains(stalled.message(), "subtask 1 of vertex 'gen'")) << stalled.ToString();
  EXPECT_TRUE(Contains(stalled.message(), "2 buffers and 0 events queued for subpartition 0, read by idle reader"))
      << stalled.ToString();
  EXPECT_EQ(partition_->failure().message(), stalled.message()) << "the producer fails on its next write";
  EXPECT_EQ(reader.stalled().message(), stalled.message()) << "the consumer is told";
}

TEST_F(StallWatchdogTest, AReaderWithoutCreditIsBackpressureNotAStall) {
  IdleReader reader(/*can_take=*/false);
  ASSERT_TRUE(partition_->subpartition(0).SetListener(&reader).ok());
  AddBuffer(*partition_, 0, 100, 1);
  EXPECT_TRUE(partition_->CheckStalled(SteadyNowMs() + 10 * kTimeoutMs).ok());
  EXPECT_TRUE(partition_->failure().ok());
}

TEST_F(StallWatchdogTest, AnEventAtTheHeadNeedsNoCreditSoItCanStall) {
  IdleReader reader(/*can_take=*/false);
  ASSERT_TRUE(partition_->subpartition(0).SetListener(&reader).ok());
  partition_->subpartition(0).AddEvent(Event::EndOfPartition());
  Status stalled = partition_->CheckStalled(SteadyNowMs() + kTimeoutMs + 1000);
  EXPECT_FALSE(stalled.ok());
  EXPECT_TRUE(Contains(stalled.message(), "0 buffers and 1 events queued")) << stalled.ToString();
}

TEST_F(StallWatchdogTest, NothingQueuedNoReaderOrAZeroTimeoutIsNoStall) {
  const int64_t later = SteadyNowMs() + 10 * kTimeoutMs;
  IdleReader reader(/*can_take=*/true);
  ASSERT_TRUE(partition_->subpartition(0).SetListener(&reader).ok());
  EXPECT_TRUE(partition_->CheckStalled(later).ok()) << "an empty queue";
  AddBuffer(*partition_, 1, 100, 1);
  EXPECT_TRUE(partition_->CheckStalled(later).ok()) << "a subpartition whose consumer has not asked yet";
  AddBuffer(*partition_, 0, 100, 1);
  partition_->set_stall_timeout_ms(0);
  EXPECT_TRUE(partition_->CheckStalled(later).ok()) << "the watchdog off";
}

TEST_F(StallWatchdogTest, EveryTakeRestartsTheClock) {
  IdleReader reader(/*can_take=*/true);
  ASSERT_TRUE(partition_->subpartition(0).SetListener(&reader).ok());
  AddBuffer(*partition_, 0, 100, 1);
  AddBuffer(*partition_, 0, 100, 2);
  BufferOrEvent taken;
  ASSERT_TRUE(partition_->subpartition(0).Poll(&taken, nullptr));
  EXPECT_TRUE(partition_->CheckStalled(SteadyNowMs() + kTimeoutMs - 1000).ok());
}

// The watchdog runs by itself on a real data plane, over every registered
// partition, about once a second.
TEST(DataPlaneWatchdogTest, TheDataPlaneChecksItsPartitionsEverySecond) {
  auto plane = StartPlane("w");
  ASSERT_NE(plane, nullptr);
  auto partition = MakePartition(*plane, PartitionIdFor(), 1);
  partition->set_stall_timeout_ms(1);
  IdleReader reader(/*can_take=*/true);
  ASSERT_TRUE(partition->subpartition(0).SetListener(&reader).ok());
  AddBuffer(*partition, 0, 100, 1);
  plane->partitions().Register(partition);
  EXPECT_TRUE(WaitUntil([&] { return !partition->failure().ok(); }, 5000));
  EXPECT_TRUE(Contains(partition->failure().message(), "task.stall-timeout")) << partition->failure().ToString();
  partition->subpartition(0).DetachListener();
  plane->partitions().ReleaseAll(Status::Cancelled("test over"));
}

// ---- The data port's bounds ---------------------------------------------------

DataPlaneOptions BoundedOptions() {
  DataPlaneOptions o = SmallOptions();
  o.handshake_timeout_ms = 300;
  o.idle_timeout_ms = 300;
  o.partition_request_timeout_ms = 300;
  o.max_connections = 4;
  return o;
}

TEST(DataPortBoundsTest, AHalfSentHeaderIsClosedAfterTheHandshakeTimeout) {
  auto plane = StartPlane("w", BoundedOptions());
  ASSERT_NE(plane, nullptr);
  Socket s = ConnectTo(plane->bound().port);
  ASSERT_TRUE(SendAll(s, std::string(5, '\0')));
  RawFrame f;
  EXPECT_EQ(ReadFrame(s, &f, 3000), ReadOutcome::kClosed);
}

TEST(DataPortBoundsTest, AConnectionWithoutChannelsIsClosedAfterTheIdleTimeout) {
  auto plane = StartPlane("w", BoundedOptions());
  ASSERT_NE(plane, nullptr);
  auto partition = MakePartition(*plane, PartitionIdFor(), 1);
  plane->partitions().Register(partition);

  // One with an open channel stays, well past the idle timeout.
  Socket busy = ConnectTo(plane->bound().port);
  ASSERT_TRUE(SendAll(busy, RequestFrame(1, PartitionIdFor(), 0, 2)));
  // One that greets and then closes its only channel goes.
  Socket idle = ConnectTo(plane->bound().port);
  ASSERT_TRUE(SendAll(idle, EncodeFrame(FrameType::kClose, 1, {})));
  RawFrame f;
  EXPECT_EQ(ReadFrame(idle, &f, 3000), ReadOutcome::kClosed);
  EXPECT_EQ(ReadFrame(busy, &f, 1000), ReadOutcome::kTimeout) << "a connection with a channel was closed";
  plane->partitions().ReleaseAll(Status::Cancelled("test over"));
}

TEST(DataPortBoundsTest, ConnectionsPastTheCapAreClosedAtOnceAndRoomComesBack) {
  auto plane = StartPlane("w", BoundedOptions());
  ASSERT_NE(plane, nullptr);
  std::vector<Socket> held;
  for (int i = 0; i < 4; ++i) held.push_back(ConnectTo(plane->bound().port));
  RawFrame f;
  // Each is accepted (it is the handshake timeout that will close it, not
  // the cap): give the accept loop a moment by checking the last one.
  Socket extra = ConnectTo(plane->bound().port);
  EXPECT_EQ(ReadFrame(extra, &f, 3000), ReadOutcome::kClosed) << "a fifth connection past a cap of 4";
  // Once the held ones are gone (closed by the handshake timeout here),
  // new connections are served again.
  for (auto& s : held) EXPECT_EQ(ReadFrame(s, &f, 3000), ReadOutcome::kClosed);
  held.clear();
  auto partition = MakePartition(*plane, PartitionIdFor(), 1);
  AddBuffer(*partition, 0, 10, 7);
  plane->partitions().Register(partition);
  EXPECT_TRUE(WaitUntil([&] {
    Socket again = ConnectTo(plane->bound().port);
    return SendAll(again, RequestFrame(1, PartitionIdFor(), 0, 1)) && ReadFrame(again, &f, 500) == ReadOutcome::kOk &&
           f.header.type == FrameType::kBuffer;
  }));
  plane->partitions().ReleaseAll(Status::Cancelled("test over"));
}

TEST(DataPortBoundsTest, RequestsForPartitionsThatNeverComeAreAnsweredAndForgotten) {
  auto plane = StartPlane("w", BoundedOptions());
  ASSERT_NE(plane, nullptr);
  Socket s = ConnectTo(plane->bound().port);
  std::string requests;
  for (uint32_t channel = 1; channel <= 2000; ++channel) {
    requests += RequestFrame(channel, PartitionIdFor("no-such-vertex", static_cast<int>(channel)), 0, 2);
  }
  ASSERT_TRUE(SendAll(s, requests));
  int errors = 0;
  RawFrame f;
  while (errors < 2000 && ReadFrame(s, &f, 5000) == ReadOutcome::kOk) {
    ASSERT_EQ(f.header.type, FrameType::kError);
    if (errors == 0) {
      std::string message(f.payload.begin(), f.payload.end());
      EXPECT_TRUE(Contains(message, "was not produced on this worker in time")) << message;
      EXPECT_TRUE(Contains(message, "network.partition-request-timeout")) << message;
    }
    ++errors;
  }
  EXPECT_EQ(errors, 2000);
  EXPECT_EQ(plane->partitions().waiting_requests(), 0u);
}

// Resident memory of this process, in KiB.
int64_t RssKib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

TEST(DataPortBoundsTest, IdleConnectionsCostLittleMemoryAndGiveItBack) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator keeps freed memory in quarantine: RSS says nothing here";
#endif
  DataPlaneOptions options = SmallOptions();
  options.max_connections = 1000;
  auto plane = StartPlane("w", options);
  ASSERT_NE(plane, nullptr);
  const int64_t before = RssKib();
  std::vector<Socket> idle;
  for (int i = 0; i < 500; ++i) {
    idle.push_back(ConnectTo(plane->bound().port));
    // A partial header: each connection has read something.
    ASSERT_TRUE(SendAll(idle.back(), std::string(3, '\1')));
  }
  // Let the I/O thread accept and read them all.
  RawFrame f;
  EXPECT_EQ(ReadFrame(idle.back(), &f, 500), ReadOutcome::kTimeout);
  const int64_t during = RssKib();
  // Before: about 258 KiB each (a zeroed staging buffer for four 64 KiB
  // frames), 126 MiB for these 500.
  EXPECT_LT(during - before, 500 * 40) << "KiB for 500 idle connections";
  idle.clear();
  EXPECT_TRUE(WaitUntil([&] { return RssKib() - before < 8 * 1024; }, 5000))
      << "KiB still held after closing them: " << RssKib() - before;
}

}  // namespace
}  // namespace sluice
