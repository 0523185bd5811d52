// In-process tests of the data plane over real TCP on 127.0.0.1 (ephemeral
// ports only): two DataPlanes talking to each other, local channels, and raw
// sockets that speak (or break) the frame protocol themselves.
#include "worker/network/data_plane.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "worker/network/data_plane_test_util.h"
#include "worker/network/record_span.h"

namespace sluice {
namespace {

using namespace net_test;  // NOLINT: the shared helpers read as part of this file

// ---- The stream: records of every size, a watermark and a barrier ----------

// Mostly small records, now and then an empty one, one that exactly fills a
// buffer with its prefix, and large ones spanning three to four buffers.
std::string MakeRecord(int channel, int index) {
  size_t size;
  if (index % 251 == 17) {
    size = 2500 + static_cast<size_t>(index % 5) * 400;
  } else if (index % 500 == 3) {
    size = 0;
  } else if (index % 300 == 5) {
    size = kBufferSize - kRecordLengthPrefixBytes;
  } else {
    size = 8 + static_cast<size_t>(index * 37 + channel * 11) % 150;
  }
  std::string record(size, '\0');
  for (size_t k = 0; k < size; ++k) record[k] = static_cast<char>((index * 131 + channel * 17 + k * 7) & 0xff);
  if (size >= 8) {
    std::memcpy(record.data(), &index, 4);
    std::memcpy(record.data() + 4, &channel, 4);
  }
  return record;
}

struct StreamShape {
  int records = 3000;  // per channel
  int watermark_after = 1000;
  int barrier_after = 2200;
  Event WatermarkFor(int channel) const { return Event::Watermark(100000 + channel); }
  Event Barrier() const { return Event::Barrier(7, 1700000000000); }
};

// Writes records into a partition as a task's RecordWriter does: one
// RecordSpanWriter, a current buffer per subpartition, flushed when full or
// before an event; blocks (bounded) while the pool is empty.
class TestProducer {
 public:
  TestProducer(std::shared_ptr<ResultPartition> partition, const std::atomic<bool>* stop)
      : partition_(std::move(partition)), stop_(stop), current_(partition_->num_subpartitions()) {}

  bool Write(int target, const std::string& record) {
    writer_.Start(reinterpret_cast<const uint8_t*>(record.data()), static_cast<uint32_t>(record.size()));
    while (true) {
      if (!current_[target].valid() && !NextBuffer(target)) return false;
      bool whole = writer_.CopyTo(current_[target].get());
      if (current_[target].get().full()) Flush(target);
      if (whole) return true;
    }
  }

  void Flush(int target) {
    if (!current_[target].valid() || current_[target].get().size == 0) return;
    partition_->subpartition(target).Add(std::move(current_[target]));
  }

  void AddEvent(int target, const Event& event) {
    Flush(target);
    partition_->subpartition(target).AddEvent(event);
  }

  const std::string& error() const { return error_; }

 private:
  bool NextBuffer(int target) {
    auto deadline = Clock::now() + milliseconds(kWaitMs);
    while (true) {
      current_[target] = partition_->pool().Take(20);
      if (current_[target].valid()) return true;
      if (!partition_->failure().ok()) {
        error_ = partition_->failure().ToString();
        return false;
      }
      if (stop_->load()) {
        error_ = "stopped";
        return false;
      }
      if (Clock::now() > deadline) {
        error_ = "no output buffer for " + std::to_string(kWaitMs) + " ms";
        return false;
      }
    }
  }

  std::shared_ptr<ResultPartition> partition_;
  const std::atomic<bool>* stop_;
  std::vector<PooledBuffer> current_;
  RecordSpanWriter writer_;
  std::string error_;
};

// Interleaves the channels record by record.
void ProduceStream(TestProducer& out, int channels, const StreamShape& shape) {
  for (int i = 0; i < shape.records; ++i) {
    for (int c = 0; c < channels; ++c) {
      if (!out.Write(c, MakeRecord(c, i))) return;
    }
    for (int c = 0; c < channels; ++c) {
      if (i + 1 == shape.watermark_after) out.AddEvent(c, shape.WatermarkFor(c));
      if (i + 1 == shape.barrier_after) out.AddEvent(c, shape.Barrier());
    }
  }
  for (int c = 0; c < channels; ++c) out.AddEvent(c, Event::EndOfPartition());
}

// Runs ProduceStream on its own thread; stops and joins however the test ends.
class ProducerThread {
 public:
  ProducerThread(std::shared_ptr<ResultPartition> partition, int channels, StreamShape shape) {
    thread_ = std::thread([this, partition = std::move(partition), channels, shape]() mutable {
      TestProducer out(std::move(partition), &stop_);
      ProduceStream(out, channels, shape);
      error_ = out.error();
    });
  }
  ~ProducerThread() { Join(); }
  const std::string& Join() {
    if (thread_.joinable()) {
      stop_ = true;  // only matters when the consumer gave up
      thread_.join();
    }
    return error_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::string error_;
};

// What one channel of the gate delivered.
struct Received {
  RecordSpanReader reader{kMaxRecordBytes};
  int records = 0;
  std::vector<std::pair<int, Event>> events;  // records received before it, event
  bool ended = false;
};

// Polls the gate as a task does until every channel has ended, the gate
// fails, or kWaitMs pass. Checks every record against MakeRecord as it comes.
// Buffers are released as soon as they are read, so credit flows back.
bool Consume(InputGate& gate, Wakeup& wakeup, std::vector<Received>& rx, bool close_on_end = true) {
  auto deadline = Clock::now() + milliseconds(kWaitMs);
  auto all_ended = [&] {
    for (auto& r : rx) {
      if (!r.ended) return false;
    }
    return true;
  };
  while (!all_ended()) {
    if (!gate.failure().ok()) {
      ADD_FAILURE() << "gate failed: " << gate.failure().ToString();
      return false;
    }
    if (Clock::now() > deadline) {
      std::string state;
      for (size_t c = 0; c < rx.size(); ++c) state += " ch" + std::to_string(c) + "=" + std::to_string(rx[c].records);
      ADD_FAILURE() << "stream did not end within " << kWaitMs << " ms;" << state;
      return false;
    }
    BufferOrEvent entry;
    int ch = -1;
    if (!gate.PollNext(&entry, &ch)) {
      wakeup.Wait(50);
      continue;
    }
    if (ch < 0 || ch >= static_cast<int>(rx.size())) {
      ADD_FAILURE() << "entry from unknown channel " << ch;
      return false;
    }
    Received& r = rx[ch];
    if (r.ended) {
      ADD_FAILURE() << "channel " << ch << " delivered something after its end";
      return false;
    }
    if (!entry.is_event) {
      const Buffer& b = entry.buffer.get();
      if (b.size == 0 || b.size > b.capacity || b.capacity != kBufferSize) {
        ADD_FAILURE() << "channel " << ch << ": buffer of " << b.size << " bytes, capacity " << b.capacity;
        return false;
      }
      r.reader.SetBuffer(b.data, b.size);
      while (true) {
        const uint8_t* record;
        uint32_t size;
        auto next = r.reader.Next(&record, &size);
        if (!next.ok()) {
          ADD_FAILURE() << "channel " << ch << ": " << next.status().ToString();
          return false;
        }
        if (!*next) break;
        std::string expected = MakeRecord(ch, r.records);
        if (std::string(reinterpret_cast<const char*>(record), size) != expected) {
          ADD_FAILURE() << "channel " << ch << ": record " << r.records << " is wrong (" << size << " bytes, expected "
                        << expected.size() << ")";
          return false;
        }
        ++r.records;
      }
      entry.buffer.Release();
    } else {
      if (r.reader.has_partial()) {
        ADD_FAILURE() << "channel " << ch << ": " << entry.event.ToString() << " inside a record";
        return false;
      }
      r.events.emplace_back(r.records, entry.event);
      if (entry.event.type == EventType::kEndOfPartition) {
        r.ended = true;
        if (close_on_end) gate.channel(ch).Close();
      }
    }
  }
  return true;
}

void ExpectWholeStream(const std::vector<Received>& rx, const StreamShape& shape) {
  for (size_t c = 0; c < rx.size(); ++c) {
    SCOPED_TRACE("channel " + std::to_string(c));
    EXPECT_EQ(rx[c].records, shape.records);
    EXPECT_TRUE(rx[c].ended);
    std::vector<std::pair<int, Event>> expected = {{shape.watermark_after, shape.WatermarkFor(static_cast<int>(c))},
                                                   {shape.barrier_after, shape.Barrier()},
                                                   {shape.records, Event::EndOfPartition()}};
    ASSERT_EQ(rx[c].events.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(rx[c].events[i].first, expected[i].first) << "event " << i << " out of place";
      EXPECT_EQ(rx[c].events[i].second, expected[i].second) << rx[c].events[i].second.ToString();
    }
  }
}

// ---- Fixtures ---------------------------------------------------------------

// A consumer DataPlane with one gate of `channels` remote channels to one
// producer address.
struct RemoteGate {
  Wakeup wakeup;
  std::shared_ptr<LocalBufferPool> pool;
  std::unique_ptr<InputGate> gate;

  RemoteGate(DataPlane& consumer, const std::string& producer_address, const std::string& producer_worker,
             const ResultPartitionId& id, int channels, const std::string& description = "channel") {
    auto p = consumer.CreateGatePool(channels, "input gate of sink#0");
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return;
    pool = std::move(*p);
    gate = std::make_unique<InputGate>(&wakeup);
    for (int i = 0; i < channels; ++i) {
      gate->AddChannel(consumer.CreateRemoteChannel(gate.get(), i, description + " " + std::to_string(i),
                                                    producer_address, producer_worker, id, i, pool, "sink#0"));
    }
  }
  // The gate first: its channels give their buffers back to the pool.
  void Destroy() {
    gate.reset();
    pool.reset();
  }
};

// ---- DataPlane::Start and pools ---------------------------------------------

TEST(DataPlaneTest, StartRejectsTooSmallBuffersOrMemory) {
  auto log = MakeLogger("data-plane-test", spdlog::level::off);
  DataPlaneOptions small_buffers = SmallOptions();
  small_buffers.buffer_size = 512;
  auto a = DataPlane::Start({"127.0.0.1", 0}, small_buffers, log);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);

  DataPlaneOptions small_memory = SmallOptions();
  small_memory.memory_bytes = 15 * kBufferSize;
  auto b = DataPlane::Start({"127.0.0.1", 0}, small_memory, log);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);

  auto c = DataPlane::Start({"not-an-ip", 0}, SmallOptions(), log);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

TEST(DataPlaneTest, GatePoolHoldsExclusivePlusFloatingBuffers) {
  auto plane = StartPlane("w");
  ASSERT_NE(plane, nullptr);
  auto pool = plane->CreateGatePool(3, "gate");
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ((*pool)->capacity(), 3u * 2 + 8);
  auto local_only = plane->CreateGatePool(0, "local gate");
  ASSERT_TRUE(local_only.ok());
  EXPECT_EQ((*local_only)->capacity(), 0u);
  auto too_big = plane->CreateGatePool(200, "huge gate");
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Contains(too_big.status().message(), "huge gate needs 408 network buffers"))
      << too_big.status().message();
}

// ---- Streams between two DataPlanes -----------------------------------------

class TwoPlanesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    producer_ = StartPlane("producer-w");
    consumer_ = StartPlane("consumer-w");
    ASSERT_NE(producer_, nullptr);
    ASSERT_NE(consumer_, nullptr);
  }

  // Everything but the planes is gone: every segment is back in the budget.
  void ExpectBudgetsRestored() {
    EXPECT_TRUE(WaitUntil([&] { return producer_->buffers().available_buffers() == producer_->buffers().total_buffers(); }))
        << producer_->buffers().available_buffers() << " of " << producer_->buffers().total_buffers();
    EXPECT_TRUE(WaitUntil([&] { return consumer_->buffers().available_buffers() == consumer_->buffers().total_buffers(); }))
        << consumer_->buffers().available_buffers() << " of " << consumer_->buffers().total_buffers();
  }

  std::unique_ptr<DataPlane> producer_;
  std::unique_ptr<DataPlane> consumer_;
};

TEST_F(TwoPlanesTest, TwoChannelsOnOneConnectionDeliverEverythingInOrder) {
  const auto id = PartitionIdFor();
  auto partition = MakePartition(*producer_, id, 2);
  ASSERT_NE(partition, nullptr);
  producer_->partitions().Register(partition);

  RemoteGate in(*consumer_, producer_->bound().ToString(), "producer-w", id, 2);
  ASSERT_NE(in.gate, nullptr);
  in.gate->Start();

  StreamShape shape;
  ProducerThread producing(partition, 2, shape);
  std::vector<Received> rx(2);
  bool done = Consume(*in.gate, in.wakeup, rx);
  EXPECT_EQ(producing.Join(), "");
  ASSERT_TRUE(done);
  ExpectWholeStream(rx, shape);
  EXPECT_TRUE(in.gate->failure().ok()) << in.gate->failure().ToString();
  EXPECT_TRUE(partition->failure().ok()) << partition->failure().ToString();
  // Consumed to the end: the producer's worker forgets the partition.
  EXPECT_TRUE(WaitUntil([&] { return producer_->partitions().partitions() == 0; }));

  in.gate->Close();
  EXPECT_EQ(in.pool->available(), in.pool->capacity());
  in.Destroy();
  partition.reset();
  ExpectBudgetsRestored();
}

TEST_F(TwoPlanesTest, RequestWaitsForAPartitionRegisteredLater) {
  const auto id = PartitionIdFor("late-source", 3);
  RemoteGate in(*consumer_, producer_->bound().ToString(), "producer-w", id, 2);
  ASSERT_NE(in.gate, nullptr);
  in.gate->Start();
  // Give the requests time to reach the producer (not observable from the
  // outside); they must wait there, not fail.
  std::this_thread::sleep_for(milliseconds(100));
  BufferOrEvent entry;
  int ch;
  EXPECT_FALSE(in.gate->PollNext(&entry, &ch));
  EXPECT_TRUE(in.gate->failure().ok()) << in.gate->failure().ToString();

  auto partition = MakePartition(*producer_, id, 2);
  ASSERT_NE(partition, nullptr);
  producer_->partitions().Register(partition);
  StreamShape shape;
  shape.records = 1500;
  shape.watermark_after = 10;
  shape.barrier_after = 1499;
  ProducerThread producing(partition, 2, shape);
  std::vector<Received> rx(2);
  bool done = Consume(*in.gate, in.wakeup, rx);
  EXPECT_EQ(producing.Join(), "");
  ASSERT_TRUE(done);
  ExpectWholeStream(rx, shape);

  in.Destroy();
  partition.reset();
  ExpectBudgetsRestored();
}

// The consumer lends floating buffers to the channel whose sender announces a
// backlog, and gives them back once they are not needed.
TEST_F(TwoPlanesTest, FloatingBuffersGoWhereTheBacklogIsAndComeBack) {
  const auto id = PartitionIdFor();
  auto partition = MakePartition(*producer_, id, 2, /*pool_buffers=*/48);
  ASSERT_NE(partition, nullptr);
  // Channel 0: 40 buffers waiting; channel 1: nothing but its end.
  for (int i = 0; i < 40; ++i) AddBuffer(*partition, 0, 100, static_cast<uint8_t>(i));
  partition->subpartition(0).AddEvent(Event::EndOfPartition());
  partition->subpartition(1).AddEvent(Event::EndOfPartition());
  producer_->partitions().Register(partition);

  RemoteGate in(*consumer_, producer_->bound().ToString(), "producer-w", id, 2);
  ASSERT_NE(in.gate, nullptr);
  const size_t capacity = in.pool->capacity();
  ASSERT_EQ(capacity, 2u * 2 + 8);
  in.gate->Start();

  // Nobody polls yet: channel 0 fills its 2 exclusive buffers and all 8
  // floating ones; channel 1 keeps only its exclusive ones.
  EXPECT_TRUE(WaitUntil([&] { return in.gate->channel(0).queued_buffers() == 10; }))
      << in.gate->channel(0).queued_buffers();
  EXPECT_EQ(in.pool->available(), 0u);
  EXPECT_TRUE(WaitUntil([&] { return in.gate->channel(1).queued_buffers() == 1; }));  // its end
  // Credit is exhausted: nothing more arrives.
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(in.gate->channel(0).queued_buffers(), 10u);
  EXPECT_EQ(partition->subpartition(0).queued_buffers(), 30u);

  int buffers = 0;
  bool ended[2] = {false, false};
  auto deadline = Clock::now() + milliseconds(kWaitMs);
  while (!(ended[0] && ended[1]) && Clock::now() < deadline && in.gate->failure().ok()) {
    BufferOrEvent entry;
    int ch = -1;
    if (!in.gate->PollNext(&entry, &ch)) {
      in.wakeup.Wait(50);
      continue;
    }
    if (entry.is_event) {
      EXPECT_EQ(entry.event.type, EventType::kEndOfPartition);
      if (ch == 0) {
        EXPECT_EQ(buffers, 40);
      }
      ended[ch] = true;
    } else {
      ASSERT_EQ(ch, 0);
      ASSERT_EQ(entry.buffer.get().size, 100u);
      EXPECT_EQ(entry.buffer.get().data[0], static_cast<uint8_t>(buffers)) << "buffer out of order";
      ++buffers;
    }
  }
  ASSERT_TRUE(ended[0] && ended[1]) << "buffers=" << buffers << " " << in.gate->failure().ToString();
  EXPECT_EQ(buffers, 40);
  // The backlog is gone: floating buffers went back to the gate as they were
  // released.
  EXPECT_GT(in.pool->available(), 0u);

  in.gate->Close();
  EXPECT_EQ(in.pool->available(), capacity);
  in.Destroy();
  partition.reset();
  ExpectBudgetsRestored();
}

// A consumer that closes its channels in the middle of a stream and goes away
// leaves no buffer behind on either side.
// The shuffle hang: a channel started after another already borrowed the
// gate's buffers must still own its exclusive ones, or it asks with no
// credit and never gets a buffer to earn any.
TEST_F(TwoPlanesTest, AChannelStartedAfterAnotherBorrowedEveryFloatingBufferStillGetsItsData) {
  const auto id = PartitionIdFor();
  auto partition = MakePartition(*producer_, id, 2, /*pool_buffers=*/48);
  ASSERT_NE(partition, nullptr);
  for (int i = 0; i < 40; ++i) AddBuffer(*partition, 0, 100, static_cast<uint8_t>(i));
  partition->subpartition(0).AddEvent(Event::EndOfPartition());
  AddBuffer(*partition, 1, 100, 0xee);
  partition->subpartition(1).AddEvent(Event::EndOfPartition());
  producer_->partitions().Register(partition);

  RemoteGate in(*consumer_, producer_->bound().ToString(), "producer-w", id, 2);
  ASSERT_NE(in.gate, nullptr);
  // Channel 0 alone first, as when the task thread is preempted between
  // starting its channels: it takes every buffer it may.
  in.gate->channel(0).Start();
  EXPECT_TRUE(WaitUntil([&] { return in.pool->available() == 0; }))
      << "channel 0 holds its own and every floating buffer: " << in.gate->channel(0).queued_buffers();
  in.gate->channel(1).Start();

  bool ended[2] = {false, false};
  int buffers[2] = {0, 0};
  auto deadline = Clock::now() + milliseconds(kWaitMs);
  while (!(ended[0] && ended[1]) && Clock::now() < deadline && in.gate->failure().ok()) {
    BufferOrEvent entry;
    int ch = -1;
    if (!in.gate->PollNext(&entry, &ch)) {
      in.wakeup.Wait(50);
      continue;
    }
    if (entry.is_event) {
      ended[ch] = true;
    } else {
      ++buffers[ch];
    }
  }
  EXPECT_TRUE(ended[0] && ended[1]) << "channel 0: " << buffers[0] << " buffers, channel 1: " << buffers[1]
                                    << (ended[1] ? "" : " and no end: it has no credit");
  EXPECT_EQ(buffers[0], 40);
  EXPECT_EQ(buffers[1], 1);
  in.gate->Close();
  in.Destroy();
  partition.reset();
  ExpectBudgetsRestored();
}

TEST_F(TwoPlanesTest, ClosingChannelsMidStreamReturnsEveryBuffer) {
  const auto id = PartitionIdFor();
  auto partition = MakePartition(*producer_, id, 2, 48);
  ASSERT_NE(partition, nullptr);
  for (int i = 0; i < 20; ++i) {
    AddBuffer(*partition, 0, 200, 1);
    AddBuffer(*partition, 1, 200, 2);
  }
  producer_->partitions().Register(partition);
  RemoteGate in(*consumer_, producer_->bound().ToString(), "producer-w", id, 2);
  ASSERT_NE(in.gate, nullptr);
  in.gate->Start();
  EXPECT_TRUE(WaitUntil([&] { return in.gate->queued_buffers() >= 6; }));
  {
    BufferOrEvent held;  // one buffer still held by the "task" when it closes
    int ch;
    ASSERT_TRUE(in.gate->PollNext(&held, &ch));
    in.gate->Close();
    // Buffers being received as it closed come back as they complete.
    EXPECT_TRUE(WaitUntil([&] { return in.pool->available() == in.pool->capacity() - 1; }))
        << in.pool->available();
  }
  EXPECT_EQ(in.pool->available(), in.pool->capacity());
  in.Destroy();
  // The producer drops what it cannot send any more.
  partition->Release();
  partition.reset();
  producer_->partitions().ReleaseJob("job-1", Status::Cancelled("test over"));
  ExpectBudgetsRestored();
}

// Unaligned checkpoints that start aligned: a barrier that came aligned and
// waits behind received data moves ahead of it once the task turns the
// checkpoint unaligned, with the bytes it overtook; one that has not come yet
// does so on arrival. The overtaken data still follows, in order.
TEST_F(TwoPlanesTest, APrioritizedBarrierOvertakesTheDataReceivedBeforeIt) {
  const auto id = PartitionIdFor();
  auto partition = MakePartition(*producer_, id, 1);
  ASSERT_NE(partition, nullptr);
  for (int i = 0; i < 3; ++i) AddBuffer(*partition, 0, 100 + i, static_cast<uint8_t>(i));
  partition->subpartition(0).AddEvent(Event::Watermark(5));
  AddBuffer(*partition, 0, 103, 3);
  partition->subpartition(0).AddEvent(Event::Barrier(7, 1000));
  AddBuffer(*partition, 0, 104, 4);
  producer_->partitions().Register(partition);
  RemoteGate in(*consumer_, producer_->bound().ToString(), "producer-w", id, 1);
  ASSERT_NE(in.gate, nullptr);
  in.gate->Start();
  InputChannel& channel = in.gate->channel(0);
  // All received (five buffers, two events), nothing read yet.
  ASSERT_TRUE(WaitUntil([&] { return channel.queued_buffers() == 7; })) << channel.queued_buffers();
  Event announced;
  ASSERT_TRUE(channel.AnnouncedBarrier(&announced));
  EXPECT_EQ(announced, Event::Barrier(7, 1000));

  channel.PrioritizeBarrier(7);
  BufferOrEvent entry;
  int ch = -1;
  ASSERT_TRUE(in.gate->PollNext(&entry, &ch));
  EXPECT_EQ(entry.event, Event::UnalignedBarrier(7, 1000));
  ASSERT_NE(entry.overtaken, nullptr);
  EXPECT_EQ(*entry.overtaken, std::string(100, '\0') + std::string(101, '\1') + std::string(102, '\2') +
                                  std::string(103, '\3'));
  auto expect_buffer = [&](uint32_t size, char fill) {
    BufferOrEvent b;
    ASSERT_TRUE(in.gate->PollNext(&b, &ch));
    ASSERT_FALSE(b.is_event) << b.event.ToString();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.buffer.get().data), b.buffer.get().size),
              std::string(size, fill));
  };
  expect_buffer(100, '\0');
  expect_buffer(101, '\1');
  expect_buffer(102, '\2');
  ASSERT_TRUE(in.gate->PollNext(&entry, &ch));
  EXPECT_EQ(entry.event, Event::Watermark(5));
  expect_buffer(103, '\3');
  expect_buffer(104, '\4');

  // Barrier 8 is prioritized before it comes: it arrives ahead of the
  // buffer received before it.
  channel.PrioritizeBarrier(8);
  AddBuffer(*partition, 0, 105, 5);
  partition->subpartition(0).AddEvent(Event::Barrier(8, 2000));
  ASSERT_TRUE(WaitUntil([&] { return channel.queued_buffers() == 2; })) << channel.queued_buffers();
  ASSERT_TRUE(in.gate->PollNext(&entry, &ch));
  EXPECT_EQ(entry.event, Event::UnalignedBarrier(8, 2000));
  ASSERT_NE(entry.overtaken, nullptr);
  EXPECT_EQ(*entry.overtaken, std::string(105, '\5'));
  expect_buffer(105, '\5');
  // Barrier 9 was not prioritized: it stays in line.
  AddBuffer(*partition, 0, 106, 6);
  partition->subpartition(0).AddEvent(Event::Barrier(9, 3000));
  ASSERT_TRUE(WaitUntil([&] { return channel.queued_buffers() == 2; })) << channel.queued_buffers();
  ASSERT_TRUE(channel.AnnouncedBarrier(&announced));
  EXPECT_EQ(announced, Event::Barrier(9, 3000));
  expect_buffer(106, '\6');
  ASSERT_TRUE(in.gate->PollNext(&entry, &ch));
  EXPECT_EQ(entry.event, Event::Barrier(9, 3000));
  EXPECT_EQ(entry.overtaken, nullptr);

  partition->subpartition(0).AddEvent(Event::EndOfPartition());
  ASSERT_TRUE(WaitUntil([&] { return in.gate->PollNext(&entry, &ch); }));
  EXPECT_EQ(entry.event, Event::EndOfPartition());
  EXPECT_TRUE(in.gate->failure().ok()) << in.gate->failure().ToString();
  EXPECT_TRUE(WaitUntil([&] { return producer_->partitions().partitions() == 0; }));
  in.gate->Close();
  EXPECT_EQ(in.pool->available(), in.pool->capacity());
  in.Destroy();
  partition.reset();
  ExpectBudgetsRestored();
}

// One connection carries the channels of many tasks. A task that closes its
// channel while its producer is still sending (cancelled, failed) must not
// take the others down with it. Racy by nature, so tried a number of times.
TEST_F(TwoPlanesTest, ClosingOneChannelDoesNotFailAnotherOnTheSameConnection) {
  StreamShape shape;
  shape.records = 1500;
  shape.watermark_after = 500;
  shape.barrier_after = 1000;
  for (int round = 0; round < 40; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const auto id_a = PartitionIdFor("cancelled-" + std::to_string(round));
    const auto id_b = PartitionIdFor("healthy-" + std::to_string(round));
    auto partition_a = MakePartition(*producer_, id_a, 1, 32);
    auto partition_b = MakePartition(*producer_, id_b, 1, 32);
    ASSERT_TRUE(partition_a && partition_b);
    producer_->partitions().Register(partition_a);
    producer_->partitions().Register(partition_b);
    ProducerThread producing_a(partition_a, 1, shape);
    ProducerThread producing_b(partition_b, 1, shape);
    RemoteGate a(*consumer_, producer_->bound().ToString(), "producer-w", id_a, 1, "cancelled channel");
    RemoteGate b(*consumer_, producer_->bound().ToString(), "producer-w", id_b, 1, "healthy channel");
    ASSERT_TRUE(a.gate && b.gate);
    a.gate->Start();
    b.gate->Start();
    std::thread cancelled_task([&, wanted = 1 + round % 3] {
      int got = 0;
      auto deadline = Clock::now() + milliseconds(kWaitMs);
      while (got < wanted && Clock::now() < deadline) {
        BufferOrEvent e;
        int ch;
        if (a.gate->PollNext(&e, &ch)) {
          ++got;
        } else {
          a.wakeup.Wait(5);
        }
      }
      a.gate->Close();  // kept alive until the end of the round
    });
    std::vector<Received> rx(1);
    bool done = Consume(*b.gate, b.wakeup, rx);
    cancelled_task.join();
    EXPECT_TRUE(b.gate->failure().ok()) << b.gate->failure().ToString();
    b.Destroy();
    a.Destroy();
    producing_a.Join();
    EXPECT_EQ(producing_b.Join(), "");
    producer_->partitions().ReleaseJob("job-1", Status::Cancelled("round over"));
    partition_a.reset();
    partition_b.reset();
    if (!done || HasFailure()) break;
    ExpectWholeStream(rx, shape);
  }
  ExpectBudgetsRestored();
}

// ---- Local channels ---------------------------------------------------------

class LocalChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plane_ = StartPlane("w");
    ASSERT_NE(plane_, nullptr);
  }
  std::unique_ptr<DataPlane> plane_;
};

void RunLocalStream(DataPlane& plane, bool register_first) {
  const auto id = PartitionIdFor("local-source");
  auto partition = MakePartition(plane, id, 2, 8);
  ASSERT_NE(partition, nullptr);
  if (register_first) plane.partitions().Register(partition);

  Wakeup wakeup;
  auto gate = std::make_unique<InputGate>(&wakeup);
  for (int i = 0; i < 2; ++i) {
    gate->AddChannel(std::make_unique<LocalInputChannel>(gate.get(), i, "local channel " + std::to_string(i),
                                                         &plane.partitions(), id, i));
  }
  gate->Start();
  if (!register_first) {
    EXPECT_EQ(plane.partitions().partitions(), 0u);
    plane.partitions().Register(partition);
  }

  StreamShape shape;
  ProducerThread producing(partition, 2, shape);
  std::vector<Received> rx(2);
  bool done = Consume(*gate, wakeup, rx);
  EXPECT_EQ(producing.Join(), "");
  ASSERT_TRUE(done);
  ExpectWholeStream(rx, shape);
  EXPECT_TRUE(gate->failure().ok()) << gate->failure().ToString();
  EXPECT_EQ(plane.partitions().partitions(), 0u) << "a consumed partition is removed";
  // Local channels pass the producer's own buffers: all back in its pool.
  EXPECT_EQ(partition->pool().available(), partition->pool().capacity());

  gate.reset();
  partition.reset();
  EXPECT_EQ(plane.buffers().available_buffers(), plane.buffers().total_buffers());
}

TEST_F(LocalChannelTest, StreamsThroughTheSameWorker) { RunLocalStream(*plane_, /*register_first=*/true); }

TEST_F(LocalChannelTest, RequestBeforeRegisterWaits) { RunLocalStream(*plane_, /*register_first=*/false); }

TEST_F(LocalChannelTest, SecondReaderOfASubpartitionFailsTheGate) {
  const auto id = PartitionIdFor();
  auto partition = MakePartition(*plane_, id, 1, 4);
  plane_->partitions().Register(partition);
  Wakeup wakeup;
  InputGate gate(&wakeup);
  gate.AddChannel(std::make_unique<LocalInputChannel>(&gate, 0, "first reader", &plane_->partitions(), id, 0));
  gate.AddChannel(std::make_unique<LocalInputChannel>(&gate, 1, "second reader", &plane_->partitions(), id, 0));
  gate.Start();
  ASSERT_FALSE(gate.failure().ok());
  EXPECT_TRUE(Contains(gate.failure().message(), "second reader")) << gate.failure().message();
  EXPECT_TRUE(Contains(gate.failure().message(), "already has a reader")) << gate.failure().message();
}

TEST_F(LocalChannelTest, ReleasedJobFailsAWaitingRequest) {
  Wakeup wakeup;
  InputGate gate(&wakeup);
  gate.AddChannel(std::make_unique<LocalInputChannel>(&gate, 0, "local channel 0", &plane_->partitions(),
                                                      PartitionIdFor(), 0));
  gate.Start();
  EXPECT_TRUE(gate.failure().ok());
  plane_->partitions().ReleaseJob("job-1", Status::Cancelled("job cancelled"));
  ASSERT_FALSE(gate.failure().ok());
  EXPECT_EQ(gate.failure().code(), StatusCode::kCancelled);
  EXPECT_EQ(gate.failure().message(), "local channel 0: job cancelled");
}

// ---- Credit, seen from a raw consumer socket ----------------------------------

class RawConsumerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plane_ = StartPlane("producer-w");
    ASSERT_NE(plane_, nullptr);
    partition_ = MakePartition(*plane_, PartitionIdFor(), 2, 32);
    ASSERT_NE(partition_, nullptr);
  }
  void TearDown() override {
    socket_.Close();
    partition_.reset();
  }

  void Connect() {
    socket_ = ConnectTo(plane_->bound().port);
    ASSERT_TRUE(socket_.valid());
  }

  std::unique_ptr<DataPlane> plane_;
  std::shared_ptr<ResultPartition> partition_;
  Socket socket_;
};

TEST_F(RawConsumerTest, DataNeedsCreditAndAnnouncesTheBacklog) {
  // Subpartition 0: B0 B1 W B2 B3 B4 B5 B6 B7 (8 data buffers).
  for (int i = 0; i < 8; ++i) {
    AddBuffer(*partition_, 0, 100 + i, static_cast<uint8_t>(i));
    if (i == 1) partition_->subpartition(0).AddEvent(Event::Watermark(5));
  }
  plane_->partitions().Register(partition_);
  Connect();
  const uint32_t kChannel = 7;
  ASSERT_TRUE(SendAll(socket_, RequestFrame(kChannel, PartitionIdFor(), 0, /*credit=*/1)));

  RawFrame f;
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);
  EXPECT_EQ(f.header.type, FrameType::kBuffer);
  EXPECT_EQ(f.header.channel_id, kChannel);
  EXPECT_EQ(f.seq(), 0u);
  EXPECT_EQ(f.backlog(), 7u);
  EXPECT_EQ(f.data(), std::string(100, '\0'));
  EXPECT_TRUE(WaitUntil([&] { return partition_->subpartition(0).queued_buffers() == 7; }));

  // Credit used up: nothing more.
  EXPECT_EQ(ReadFrame(socket_, &f, 300), ReadOutcome::kTimeout)
      << "unexpected " << FrameTypeName(f.header.type) << " frame without credit";
  EXPECT_EQ(partition_->subpartition(0).queued_buffers(), 7u);

  ASSERT_TRUE(SendAll(socket_, AddCreditFrame(kChannel, 2)));
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);
  EXPECT_EQ(f.header.type, FrameType::kBuffer);
  EXPECT_EQ(f.seq(), 1u);
  EXPECT_EQ(f.backlog(), 6u);
  EXPECT_EQ(f.data(), std::string(101, '\1'));
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);  // in order with the data, free of credit
  EXPECT_EQ(f.header.type, FrameType::kEvent);
  EXPECT_EQ(f.header.channel_id, kChannel);
  EXPECT_EQ(f.event(), Event::Watermark(5));
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);
  EXPECT_EQ(f.header.type, FrameType::kBuffer);
  EXPECT_EQ(f.seq(), 2u);
  EXPECT_EQ(f.backlog(), 5u);
  EXPECT_EQ(f.data(), std::string(102, '\2'));
  EXPECT_EQ(ReadFrame(socket_, &f, 200), ReadOutcome::kTimeout)
      << "unexpected " << FrameTypeName(f.header.type) << " frame beyond the credit";
  EXPECT_EQ(partition_->subpartition(0).queued_buffers(), 5u);
  // Sent buffers went back to the producer's pool.
  EXPECT_TRUE(WaitUntil([&] { return partition_->pool().available() == partition_->pool().capacity() - 5; }));
}

TEST_F(RawConsumerTest, EventsNeedNoCredit) {
  partition_->subpartition(1).AddEvent(Event::Watermark(1));
  partition_->subpartition(1).AddEvent(Event::Barrier(2, 3));
  AddBuffer(*partition_, 1, 10, 9);
  plane_->partitions().Register(partition_);
  Connect();
  ASSERT_TRUE(SendAll(socket_, RequestFrame(1, PartitionIdFor(), 1, /*credit=*/0)));
  RawFrame f;
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);
  EXPECT_EQ(f.header.type, FrameType::kEvent);
  EXPECT_EQ(f.event(), Event::Watermark(1));
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);
  EXPECT_EQ(f.header.type, FrameType::kEvent);
  EXPECT_EQ(f.event(), Event::Barrier(2, 3));
  EXPECT_EQ(ReadFrame(socket_, &f, 200), ReadOutcome::kTimeout);

  ASSERT_TRUE(SendAll(socket_, AddCreditFrame(1, 1)));
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);
  EXPECT_EQ(f.header.type, FrameType::kBuffer);
  EXPECT_EQ(f.seq(), 0u);
  EXPECT_EQ(f.backlog(), 0u);
  EXPECT_EQ(f.data(), std::string(10, '\x09'));

  // With no credit left, an event at the head still goes out.
  partition_->subpartition(1).AddEvent(Event::EndOfPartition());
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);
  EXPECT_EQ(f.header.type, FrameType::kEvent);
  EXPECT_EQ(f.event(), Event::EndOfPartition());
  // Subpartition 0 still unconsumed: the partition stays registered.
  EXPECT_EQ(plane_->partitions().partitions(), 1u);
  partition_->subpartition(0).AddEvent(Event::EndOfPartition());
  ASSERT_TRUE(SendAll(socket_, RequestFrame(2, PartitionIdFor(), 0, 0)));
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);
  EXPECT_EQ(f.header.channel_id, 2u);
  EXPECT_EQ(f.event(), Event::EndOfPartition());
  EXPECT_TRUE(WaitUntil([&] { return plane_->partitions().partitions() == 0; }));
}

TEST_F(RawConsumerTest, UnknownSubpartitionIsReportedOnTheChannel) {
  plane_->partitions().Register(partition_);
  Connect();
  ASSERT_TRUE(SendAll(socket_, RequestFrame(4, PartitionIdFor(), 5, 2)));
  RawFrame f;
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);
  EXPECT_EQ(f.header.type, FrameType::kError);
  EXPECT_EQ(f.header.channel_id, 4u);
  EXPECT_EQ(std::string(f.payload.begin(), f.payload.end()), "subpartition 5 does not exist");
}

// The producer side of a broken connection: its partition fails, and a task
// blocked on an output buffer wakes up to see it.
TEST_F(RawConsumerTest, LostConsumerFailsThePartition) {
  for (int i = 0; i < 32; ++i) AddBuffer(*partition_, 0, 50, 1);  // the whole pool queued
  plane_->partitions().Register(partition_);
  Connect();
  ASSERT_TRUE(SendAll(socket_, RequestFrame(1, PartitionIdFor(), 0, 1, "consumer-w", "sink#2")));
  RawFrame f;
  ASSERT_EQ(ReadFrame(socket_, &f), ReadOutcome::kOk);  // bound and streaming
  ASSERT_EQ(f.header.type, FrameType::kBuffer);
  // The sent buffer came back; take it so the "task" waits on an empty pool.
  ASSERT_TRUE(WaitUntil([&] { return partition_->pool().available() == 1; }));
  PooledBuffer last = partition_->pool().Take(0);
  ASSERT_TRUE(last.valid());

  // The "task" waits for an output buffer the way RecordWriter does, but
  // with a long timeout: only the failure's WakeUp can end the wait early.
  std::atomic<bool> woke{false};
  std::thread task([&] {
    PooledBuffer b;
    auto deadline = Clock::now() + milliseconds(kWaitMs);
    while (!b.valid() && partition_->failure().ok() && Clock::now() < deadline) b = partition_->pool().Take(kWaitMs);
    EXPECT_FALSE(b.valid());
    woke = true;
  });
  EXPECT_TRUE(partition_->failure().ok());
  // A WakeUp before Take sleeps is not remembered; give the task time to
  // fall asleep (not observable from outside).
  std::this_thread::sleep_for(milliseconds(30));
  socket_.Close();  // 31 buffers still queued and unsent
  EXPECT_TRUE(WaitUntil([&] { return !partition_->failure().ok(); }));
  Status failure = partition_->failure();
  EXPECT_TRUE(Contains(failure.message(), "connection to consumer")) << failure.ToString();
  EXPECT_TRUE(Contains(failure.message(), "task sink#2 on worker consumer-w")) << failure.ToString();
  EXPECT_TRUE(Contains(failure.message(), PartitionIdFor().ToString())) << failure.ToString();
  EXPECT_TRUE(WaitUntil([&] { return woke.load(); })) << "producer still blocked on its pool";
  task.join();
}

// A request for a channel id already in use on the connection is a protocol
// violation; the producer must survive it (and not keep a dangling reader).
TEST_F(RawConsumerTest, DuplicateChannelIdIsRefused) {
  plane_->partitions().Register(partition_);
  Connect();
  ASSERT_TRUE(SendAll(socket_, RequestFrame(3, PartitionIdFor(), 0, 2) + RequestFrame(3, PartitionIdFor(), 1, 2)));
  RawFrame f;
  // Whatever the producer answers, it ends with the connection closed.
  ReadOutcome r;
  std::vector<std::string> answers;
  while ((r = ReadFrame(socket_, &f, 500)) == ReadOutcome::kOk) {
    answers.push_back(std::string(FrameTypeName(f.header.type)) + " " + std::string(f.payload.begin(), f.payload.end()));
  }
  EXPECT_EQ(r, ReadOutcome::kClosed) << "answers: " << testing::PrintToString(answers);
  // A fresh, well-behaved consumer can read both subpartitions: no reader
  // of the broken connection is left attached to them. (No data is added
  // before this check: were a freed reader still attached, notifying it
  // would be a use after free.)
  Socket again = ConnectTo(plane_->bound().port);
  ASSERT_TRUE(SendAll(again, RequestFrame(1, PartitionIdFor(), 0, 8) + RequestFrame(2, PartitionIdFor(), 1, 8)));
  EXPECT_EQ(ReadFrame(again, &f, 300), ReadOutcome::kTimeout)
      << FrameTypeName(f.header.type) << " " << std::string(f.payload.begin(), f.payload.end());
}

// ---- Failures, seen from a fake producer --------------------------------------

class FakeProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    consumer_ = StartPlane("consumer-w");
    ASSERT_NE(consumer_, nullptr);
  }

  // Starts a gate of `channels` remote channels to the fake producer,
  // accepts its connection and reads the partition requests.
  void StartGate(int channels = 1) {
    in_ = std::make_unique<RemoteGate>(*consumer_, server_.address(), "fake-producer", PartitionIdFor(), channels,
                                       "channel under test");
    ASSERT_NE(in_->gate, nullptr);
    in_->gate->Start();
    peer_ = server_.Accept();
    ASSERT_TRUE(peer_.valid());
    for (int i = 0; i < channels; ++i) {
      RawFrame f;
      ASSERT_EQ(ReadFrame(peer_, &f), ReadOutcome::kOk);
      ASSERT_EQ(f.header.type, FrameType::kPartitionRequest);
      auto request = DecodePartitionRequest(f.payload.data(), f.payload.size());
      ASSERT_TRUE(request.ok()) << request.status().ToString();
      EXPECT_EQ(request->job_id, "job-1");
      EXPECT_EQ(request->producer_vertex, "source");
      EXPECT_EQ(request->initial_credit, 2);
      EXPECT_EQ(request->consumer_worker, "consumer-w");
      EXPECT_EQ(request->consumer_task, "sink#0");
      channel_ids_.push_back(f.header.channel_id);
      subpartitions_.push_back(request->subpartition);
    }
  }

  Status WaitForFailure() {
    EXPECT_TRUE(WaitUntil([&] { return !in_->gate->failure().ok(); })) << "the gate did not fail";
    return in_->gate->failure();
  }

  void TearDown() override {
    if (in_) in_->Destroy();
    peer_.Close();
    // Nothing leaked, whatever happened.
    if (consumer_) {
      EXPECT_TRUE(WaitUntil(
          [&] { return consumer_->buffers().available_buffers() == consumer_->buffers().total_buffers(); }));
    }
  }

  std::unique_ptr<DataPlane> consumer_;
  RawServer server_;
  std::unique_ptr<RemoteGate> in_;
  Socket peer_;
  std::vector<uint32_t> channel_ids_;
  std::vector<int> subpartitions_;
};

TEST_F(FakeProducerTest, HealthyFramesAreDelivered) {
  ASSERT_NO_FATAL_FAILURE(StartGate(2));
  EXPECT_EQ(subpartitions_, (std::vector<int>{0, 1}));
  EXPECT_NE(channel_ids_[0], channel_ids_[1]) << "both channels share the one connection";
  ASSERT_TRUE(SendAll(peer_, BufferFrame(channel_ids_[1], 0, 0, "hello") + EventFrame(channel_ids_[1], Event::EndOfPartition()) +
                                 BufferFrame(channel_ids_[0], 0, 0, "world")));
  std::vector<std::pair<int, std::string>> got;
  auto deadline = Clock::now() + milliseconds(kWaitMs);
  while (got.size() < 3 && Clock::now() < deadline) {
    BufferOrEvent e;
    int ch;
    if (!in_->gate->PollNext(&e, &ch)) {
      in_->wakeup.Wait(50);
      continue;
    }
    got.emplace_back(ch, e.is_event ? e.event.ToString()
                                    : std::string(reinterpret_cast<char*>(e.buffer.get().data), e.buffer.get().size));
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::pair<int, std::string>>{{0, "world"}, {1, "EndOfPartition"}, {1, "hello"}}));
  EXPECT_TRUE(in_->gate->failure().ok());
  // Released buffers come back as credit.
  RawFrame f;
  ASSERT_EQ(ReadFrame(peer_, &f), ReadOutcome::kOk);
  EXPECT_EQ(f.header.type, FrameType::kAddCredit);
}

TEST_F(FakeProducerTest, SequenceGapFailsTheGate) {
  ASSERT_NO_FATAL_FAILURE(StartGate());
  ASSERT_TRUE(SendAll(peer_, BufferFrame(channel_ids_[0], 5, 0, "data")));
  Status failure = WaitForFailure();
  EXPECT_TRUE(Contains(failure.message(), "sequence gap")) << failure.ToString();
  EXPECT_TRUE(Contains(failure.message(), "expected 0, got 5")) << failure.ToString();
  EXPECT_TRUE(Contains(failure.message(), "channel under test 0")) << failure.ToString();
  BufferOrEvent e;
  int ch;
  EXPECT_FALSE(in_->gate->PollNext(&e, &ch)) << "the out-of-sequence buffer must not be delivered";
}

TEST_F(FakeProducerTest, GarbageFailsTheGateWithBadFrame) {
  ASSERT_NO_FATAL_FAILURE(StartGate());
  ASSERT_TRUE(SendAll(peer_, "this is no frame at all"));
  Status failure = WaitForFailure();
  EXPECT_TRUE(Contains(failure.message(), "bad frame")) << failure.ToString();
  EXPECT_TRUE(Contains(failure.message(), "channel under test 0")) << failure.ToString();
  EXPECT_TRUE(Contains(failure.message(), "connection to worker fake-producer (" + server_.address() + ")"))
      << failure.ToString();
}

TEST_F(FakeProducerTest, ClosedConnectionFailsTheGate) {
  ASSERT_NO_FATAL_FAILURE(StartGate(2));
  peer_.Close();
  Status failure = WaitForFailure();
  EXPECT_EQ(failure.code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(failure.message(), "connection to worker fake-producer (" + server_.address() + ") lost"))
      << failure.ToString();
}

TEST_F(FakeProducerTest, ConnectionRefusedFailsTheGate) {
  const std::string address = server_.address();
  server_ = RawServer();  // the old port is closed now: nobody listens there
  Wakeup wakeup;
  auto pool = consumer_->CreateGatePool(1, "gate");
  ASSERT_TRUE(pool.ok());
  {
    InputGate gate(&wakeup);
    gate.AddChannel(consumer_->CreateRemoteChannel(&gate, 0, "lonely channel", address, "gone-worker",
                                                   PartitionIdFor(), 0, *pool, "sink#0"));
    gate.Start();
    EXPECT_TRUE(WaitUntil([&] { return !gate.failure().ok(); }));
    EXPECT_TRUE(Contains(gate.failure().message(), "lonely channel")) << gate.failure().ToString();
    EXPECT_TRUE(Contains(gate.failure().message(), "gone-worker")) << gate.failure().ToString();
  }
  EXPECT_TRUE(WaitUntil([&] { return (*pool)->available() == (*pool)->capacity(); }));
}

TEST_F(FakeProducerTest, ErrorFrameFailsTheGate) {
  ASSERT_NO_FATAL_FAILURE(StartGate());
  ASSERT_TRUE(SendAll(peer_, EncodeFrame(FrameType::kError, channel_ids_[0], "partition was released")));
  Status failure = WaitForFailure();
  EXPECT_TRUE(Contains(failure.message(), "channel under test 0")) << failure.ToString();
  EXPECT_TRUE(Contains(failure.message(), "fake-producer")) << failure.ToString();
  EXPECT_TRUE(Contains(failure.message(), "partition was released")) << failure.ToString();
}

TEST_F(FakeProducerTest, BufferBeyondCreditFailsTheGate) {
  ASSERT_NO_FATAL_FAILURE(StartGate());
  // Initial credit 2, plus one floating buffer lent for the announced
  // backlog of 2 while the first buffer was received; nobody polls, so no
  // more is granted. The fourth buffer has no credit.
  ASSERT_TRUE(SendAll(peer_, BufferFrame(channel_ids_[0], 0, 2, "a") + BufferFrame(channel_ids_[0], 1, 1, "b") +
                                 BufferFrame(channel_ids_[0], 2, 0, "c") + BufferFrame(channel_ids_[0], 3, 0, "d")));
  Status failure = WaitForFailure();
  EXPECT_TRUE(Contains(failure.message(), "without credit")) << failure.ToString();
  EXPECT_LE(in_->gate->queued_buffers(), in_->pool->capacity());
}

// A buffer frame larger than this worker's network buffers (a peer with
// another network.buffer-size, or a broken one) must be refused, not read
// past the end of the segment.
TEST_F(FakeProducerTest, OversizedBufferFrameFailsTheGate) {
  ASSERT_NO_FATAL_FAILURE(StartGate());
  ASSERT_TRUE(SendAll(peer_, BufferFrame(channel_ids_[0], 0, 0, std::string(3 * kBufferSize, 'z'))));
  auto deadline = Clock::now() + milliseconds(kWaitMs);
  while (in_->gate->failure().ok() && Clock::now() < deadline) {
    BufferOrEvent e;
    int ch;
    if (in_->gate->PollNext(&e, &ch)) {
      ADD_FAILURE() << "delivered a buffer of " << e.buffer.get().size << " bytes in a segment of "
                    << e.buffer.get().capacity;
      break;
    }
    in_->wakeup.Wait(20);
  }
  Status failure = in_->gate->failure();
  ASSERT_FALSE(failure.ok());
  EXPECT_TRUE(Contains(failure.message(), "channel under test 0")) << failure.ToString();
  EXPECT_TRUE(Contains(failure.message(), "3072 bytes")) << failure.ToString();
}

}  // namespace
}  // namespace sluice
