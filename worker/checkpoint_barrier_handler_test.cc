#include "worker/checkpoint_barrier_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sluice {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Plays the task: feeds the handler what channels deliver, in the order a
// task would, and writes down what it was told to do. Entries are named by
// a tag ("a", "b") so a test can see which were held and in what order they
// came back.
class Harness {
 public:
  explicit Harness(std::vector<size_t> channels_per_gate = {2}) : channels_per_gate_(std::move(channels_per_gate)) {
    options_.is_savepoint = [this](int64_t id) { return savepoints_.count(id) > 0; };
    options_.announced_barrier = [this](size_t g, int ch, Event* barrier) {
      auto it = announced_.find({static_cast<int>(g), ch});
      if (it == announced_.end()) return false;
      *barrier = it->second;
      return true;
    };
    // The clock seam: time moves only when a test says so.
    options_.now_ms = [this] { return now_ms_; };
  }

  CheckpointBarrierHandler::Options& options() { return options_; }
  // checkpoint.unaligned with checkpoint.aligned-timeout.
  void UnalignedAfter(int64_t aligned_timeout_ms) {
    options_.unaligned = true;
    options_.aligned_timeout_ms = aligned_timeout_ms;
  }
  CheckpointBarrierHandler& handler() {
    if (!handler_) handler_ = std::make_unique<CheckpointBarrierHandler>(channels_per_gate_, options_);
    return *handler_;
  }
  void Announce(int gate, int channel, int64_t checkpoint_id) {
    announced_[{gate, channel}] = Event::Barrier(checkpoint_id, 0);
  }
  void MarkSavepoint(int64_t checkpoint_id) { savepoints_.insert(checkpoint_id); }

  void Data(int gate, int channel, const std::string& tag) {
    tags_.push_back(tag);
    BufferOrEvent entry;
    Buffer buffer;
    buffer.data = reinterpret_cast<uint8_t*>(tags_.back().data());
    buffer.size = static_cast<uint32_t>(tag.size());
    buffer.capacity = buffer.size;
    entry.buffer = PooledBuffer(buffer, nullptr);
    Deliver(gate, channel, std::move(entry));
  }
  void Barrier(int gate, int channel, int64_t checkpoint_id) {
    Deliver(gate, channel, EventEntry(Event::Barrier(checkpoint_id, 0)));
  }
  void UnalignedBarrier(int gate, int channel, int64_t checkpoint_id, const std::string& overtaken) {
    BufferOrEvent entry = EventEntry(Event::UnalignedBarrier(checkpoint_id, 0));
    entry.overtaken = std::make_shared<const std::string>(overtaken);
    Deliver(gate, channel, std::move(entry));
  }
  void EndOfPartition(int gate, int channel) { Deliver(gate, channel, EventEntry(Event::EndOfPartition())); }
  void Trigger(int64_t checkpoint_id) {
    Record(handler().OnTriggered(Event::Barrier(checkpoint_id, 0)));
    HandleReleased();
  }
  void Tick() {
    Record(handler().CheckTimeout());
    HandleReleased();
  }
  // The clock moves on, and the task's loop comes round.
  void PassTime(int64_t ms) {
    now_ms_ += ms;
    Tick();
  }

  // What the task was told since the last call.
  std::vector<std::string> Log() {
    std::vector<std::string> log;
    log.swap(log_);
    return log;
  }

 private:
  static BufferOrEvent EventEntry(const Event& event) {
    BufferOrEvent entry;
    entry.is_event = true;
    entry.event = event;
    return entry;
  }

  void Deliver(int gate, int channel, BufferOrEvent entry) {
    Handle(gate, channel, std::move(entry));
    HandleReleased();
  }

  // As the task's loop: released entries go before the next new one.
  void HandleReleased() {
    size_t g;
    int ch;
    BufferOrEvent released;
    while (handler().NextReleased(&g, &ch, &released)) Handle(static_cast<int>(g), ch, std::move(released));
  }

  void Handle(int gate, int channel, BufferOrEvent entry) {
    const std::string where = std::to_string(gate) + "/" + std::to_string(channel);
    if (handler().Hold(gate, channel, entry)) return;
    if (!entry.is_event) {
      const Buffer& b = entry.buffer.get();
      log_.push_back("process " + std::string(reinterpret_cast<const char*>(b.data), b.size) + " from " + where);
    } else if (entry.event.type == EventType::kCheckpointBarrier) {
      Record(handler().OnBarrier(gate, channel, std::move(entry)));
    } else if (entry.event.type == EventType::kEndOfPartition) {
      Record(handler().OnEndOfPartition(gate, channel));
    }
  }

  static std::string Channels(const std::vector<CheckpointBarrierHandler::Channel>& channels) {
    std::string out;
    for (const auto& [g, ch] : channels) out += " " + std::to_string(g) + "/" + std::to_string(ch);
    return out;
  }

  void Record(const CheckpointBarrierHandler::Action& action) {
    using Kind = CheckpointBarrierHandler::Action::Kind;
    const std::string id = std::to_string(action.barrier.checkpoint_id);
    switch (action.kind) {
      case Kind::kNone:
        return;
      case Kind::kAbandoned:
        log_.push_back("abandon " + id);
        return;
      case Kind::kSnapshotAligned:
        EXPECT_FALSE(action.barrier.unaligned);
        log_.push_back("snapshot aligned " + id + (action.may_overtake_later ? ", may overtake later" : ""));
        return;
      case Kind::kSnapshotUnaligned: {
        EXPECT_TRUE(action.barrier.unaligned);
        std::string line = "snapshot unaligned " + id + ", in flight" + Channels(action.in_flight) + ", owing" +
                           Channels({action.owing.begin(), action.owing.end()});
        if (action.trigger) line += ", overtaken on" + Channels({*action.trigger}) + ": " + *action.overtaken;
        log_.push_back(line);
        return;
      }
    }
  }

  std::vector<size_t> channels_per_gate_;
  CheckpointBarrierHandler::Options options_;
  std::unique_ptr<CheckpointBarrierHandler> handler_;
  int64_t now_ms_ = 1000;
  std::map<CheckpointBarrierHandler::Channel, Event> announced_;
  std::set<int64_t> savepoints_;
  std::deque<std::string> tags_;  // a deque: the data pointers stay put
  std::vector<std::string> log_;
};

TEST(CheckpointBarrierHandlerTest, TwoChannelsSnapshotOnceBothDeliveredTheBarrierAndHeldDataComesBackAfter) {
  Harness task;
  task.Barrier(0, 0, 1);
  task.Data(0, 0, "after barrier");
  task.Data(0, 1, "before barrier");
  EXPECT_THAT(task.Log(), ElementsAre("process before barrier from 0/1"));
  EXPECT_EQ(task.handler().aligning(), 1);

  task.Barrier(0, 1, 1);
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 1", "process after barrier from 0/0"));
  EXPECT_EQ(task.handler().aligning(), 0);
}

TEST(CheckpointBarrierHandlerTest, ChannelsOfDifferentGatesAlignTogether) {
  Harness task({1, 1});
  task.Barrier(1, 0, 4);
  task.Data(1, 0, "held");
  EXPECT_THAT(task.Log(), IsEmpty());
  task.Barrier(0, 0, 4);
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 4", "process held from 1/0"));
}

TEST(CheckpointBarrierHandlerTest, ABarrierOvertakenByANewerOneIsAbandonedAndTheNewerOneAlignsInstead) {
  Harness task;
  task.Barrier(0, 0, 1);
  task.Data(0, 0, "held for 1");
  task.Barrier(0, 1, 2);
  // The newer barrier comes back first, then what was held for the old one.
  EXPECT_THAT(task.Log(), ElementsAre("abandon 1", "process held for 1 from 0/0"));
  EXPECT_EQ(task.handler().aligning(), 2);

  task.Barrier(0, 0, 1);  // late: its checkpoint was given up on
  EXPECT_THAT(task.Log(), IsEmpty());
  task.Barrier(0, 0, 2);
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 2"));
}

TEST(CheckpointBarrierHandlerTest, BarriersOfACheckpointAlreadyPassedOnAreIgnored) {
  Harness task;
  task.options().last_checkpoint_id = 5;  // restored from 5
  task.Barrier(0, 0, 5);
  task.Data(0, 0, "flows");
  EXPECT_THAT(task.Log(), ElementsAre("process flows from 0/0"));
  EXPECT_EQ(task.handler().aligning(), 0);
}

TEST(CheckpointBarrierHandlerTest, AChannelEndingDuringAlignmentNoLongerOwesTheBarrier) {
  Harness task;
  task.Barrier(0, 0, 1);
  task.Data(0, 0, "held");
  task.EndOfPartition(0, 1);
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 1", "process held from 0/0"));
  EXPECT_FALSE(task.handler().exhausted());

  task.EndOfPartition(0, 0);
  EXPECT_TRUE(task.handler().exhausted());
}

TEST(CheckpointBarrierHandlerTest, AnEndOfPartitionHeldBehindABarrierEndsTheChannelOnlyWhenReleased) {
  Harness task;
  task.Barrier(0, 0, 1);
  task.EndOfPartition(0, 0);  // held: it follows the barrier
  task.EndOfPartition(0, 1);  // the last one owing the barrier
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 1"));
  EXPECT_TRUE(task.handler().exhausted());
}

TEST(CheckpointBarrierHandlerTest, AtLeastOnceCountsBarriersWithoutHoldingDataBack) {
  Harness task;
  task.options().exactly_once = false;
  task.Barrier(0, 0, 1);
  task.Data(0, 0, "after barrier");
  EXPECT_THAT(task.Log(), ElementsAre("process after barrier from 0/0"));
  task.Barrier(0, 1, 1);
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 1"));
}

TEST(CheckpointBarrierHandlerTest, AtLeastOnceNoLongerCountsTheBarrierOfAChannelThatEnded) {
  Harness task({3});
  task.options().exactly_once = false;
  task.Barrier(0, 0, 1);
  task.EndOfPartition(0, 0);  // one barrier seen, of two open channels
  task.Barrier(0, 1, 1);
  EXPECT_THAT(task.Log(), IsEmpty());
  task.Barrier(0, 2, 1);
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 1"));
}

TEST(CheckpointBarrierHandlerTest, AnAlignmentPastTheAlignedTimeoutTurnsUnaligned) {
  Harness task;
  task.UnalignedAfter(100);
  task.Barrier(0, 0, 1);
  task.Data(0, 0, "held");
  task.PassTime(99);
  EXPECT_THAT(task.Log(), IsEmpty());

  task.PassTime(1);
  // Channel 0/0 delivered its barrier in line: nothing of it is in flight.
  EXPECT_THAT(task.Log(), ElementsAre("snapshot unaligned 1, in flight 0/1, owing 0/1", "process held from 0/0"));
  task.Data(0, 1, "in flight");
  EXPECT_THAT(task.Log(), ElementsAre("process in flight from 0/1"));
}

TEST(CheckpointBarrierHandlerTest, AnAlignmentWithinTheAlignedTimeoutStaysAligned) {
  Harness task;
  task.UnalignedAfter(100);
  task.Barrier(0, 0, 1);
  task.PassTime(50);
  task.Barrier(0, 1, 1);
  // Its queued copies may still jump the output queues when the timeout
  // passes downstream.
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 1, may overtake later"));
}

TEST(CheckpointBarrierHandlerTest, ABarrierAnnouncedBehindQueuedDataStartsTheAlignedTimeout) {
  Harness task;
  task.UnalignedAfter(100);
  task.Announce(0, 1, 3);
  task.Tick();
  EXPECT_EQ(task.handler().aligning(), 3);
  task.PassTime(100);
  EXPECT_THAT(task.Log(), ElementsAre("snapshot unaligned 3, in flight 0/0 0/1, owing 0/0 0/1"));
}

TEST(CheckpointBarrierHandlerTest, ASavepointStaysAlignedPastTheAlignedTimeout) {
  Harness task;
  task.UnalignedAfter(100);
  task.MarkSavepoint(1);
  task.Barrier(0, 0, 1);
  task.PassTime(1000);
  EXPECT_THAT(task.Log(), IsEmpty());
  task.Barrier(0, 1, 1);
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 1"));
}

TEST(CheckpointBarrierHandlerTest, AnUnalignedBarrierSnapshotsAtOnceAndTheOtherChannelsOweIt) {
  Harness task({2, 1});
  task.options().unaligned = true;
  task.UnalignedBarrier(0, 1, 1, "overtaken bytes");
  EXPECT_THAT(task.Log(), ElementsAre("snapshot unaligned 1, in flight 0/0 0/1 1/0, owing 0/0 1/0, overtaken on 0/1: "
                                      "overtaken bytes"));
  task.Data(0, 1, "not held");
  EXPECT_THAT(task.Log(), ElementsAre("process not held from 0/1"));
  task.Barrier(0, 0, 1);  // late: the task collects its in-flight data, alignment has nothing to do
  EXPECT_THAT(task.Log(), IsEmpty());
}

TEST(CheckpointBarrierHandlerTest, AnUnalignedBarrierDuringAlignmentLeavesTheAlignedChannelsOut) {
  Harness task({3});
  task.UnalignedAfter(100);
  task.Barrier(0, 0, 1);
  task.Data(0, 0, "held");
  task.EndOfPartition(0, 2);
  task.UnalignedBarrier(0, 1, 1, "x");
  EXPECT_THAT(task.Log(),
              ElementsAre("snapshot unaligned 1, in flight 0/1, owing, overtaken on 0/1: x", "process held from 0/0"));
}

TEST(CheckpointBarrierHandlerTest, ACheckpointTriggeredAfterEveryInputEndedIsTakenAtOnce) {
  Harness task;
  task.EndOfPartition(0, 0);
  task.EndOfPartition(0, 1);
  task.Trigger(7);
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 7"));
}

TEST(CheckpointBarrierHandlerTest, ACheckpointTriggeredWhileChannelsAreOpenWaitsForThemToEnd) {
  Harness task;
  task.UnalignedAfter(100);
  task.Trigger(7);
  task.EndOfPartition(0, 0);
  task.PassTime(1000);  // no barrier will come, so it never turns unaligned
  EXPECT_THAT(task.Log(), IsEmpty());
  task.EndOfPartition(0, 1);
  EXPECT_THAT(task.Log(), ElementsAre("snapshot aligned 7"));
}

}  // namespace
}  // namespace sluice
