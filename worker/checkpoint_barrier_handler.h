// Barrier alignment for a task that reads input gates (as Flink's
// CheckpointBarrierHandler). The task feeds it what each (gate, channel)
// delivers; it decides when the task snapshots, whether the checkpoint goes
// aligned or unaligned, and which entries wait until the snapshot is taken.
//
//   Aligned (exactly-once): once a channel delivers barrier N, what follows
//     on it is held back (its buffers keep their credit, so its sender
//     stops) until every open channel has delivered N. Then the task
//     snapshots and passes N on, and what was held comes back ahead of new
//     input.
//   Unaligned (checkpoint.unaligned): an unaligned barrier, or an alignment
//     outlasting checkpoint.aligned-timeout, has the task snapshot at once.
//     What the channels still owing the barrier bring until it arrives is in
//     flight: the task stores it with the checkpoint (Task::PassBarrier).
//   At-least-once: barriers are only counted; every channel keeps flowing,
//     and a restore replays what entered the state after a barrier.
//
// The task thread owns it; nothing here blocks or reads a clock but the one
// it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "worker/network/event.h"
#include "worker/network/result_partition.h"

namespace sluice {

class CheckpointBarrierHandler {
 public:
  using Channel = std::pair<int, int>;  // (gate, channel)

  struct Options {
    bool exactly_once = true;        // checkpoint.mode
    bool unaligned = false;          // checkpoint.unaligned
    int64_t aligned_timeout_ms = 0;  // checkpoint.aligned-timeout: 0 = unaligned at once
    // The newest checkpoint passed on before (restored): older barriers are
    // stale.
    int64_t last_checkpoint_id = 0;
    // Savepoints are always aligned, as in Flink: they must be
    // self-contained.
    std::function<bool(int64_t checkpoint_id)> is_savepoint;
    // The newest aligned barrier a channel has received but the task has not
    // reached yet, behind queued data (InputChannel::AnnouncedBarrier): it
    // starts the aligned timeout before the barrier itself comes in.
    std::function<bool(size_t gate, int channel, Event* barrier)> announced_barrier;
    // Milliseconds, monotonic. Tests pass their own.
    std::function<int64_t()> now_ms;
  };

  // What the task does now.
  struct Action {
    enum class Kind {
      kNone,
      // Snapshot, then pass `barrier` on aligned. With
      // `may_overtake_later` its queued copies may still jump the output
      // queues once the aligned timeout passes.
      kSnapshotAligned,
      // Snapshot, then pass `barrier` (unaligned) on ahead of the output
      // queues. The partly read record of each `in_flight` channel goes with
      // the checkpoint, and so does what the `owing` ones deliver until their
      // barrier comes; `overtaken` is what the barrier that started it
      // (on `trigger`) overtook in its channel.
      kSnapshotUnaligned,
      // Alignment of `barrier` was abandoned for a newer checkpoint (it
      // timed out at the coordinator); nothing was snapshotted.
      kAbandoned,
    };
    Kind kind = Kind::kNone;
    Event barrier;
    bool may_overtake_later = false;
    std::vector<Channel> in_flight;
    std::set<Channel> owing;
    std::optional<Channel> trigger;
    std::shared_ptr<const std::string> overtaken;
  };

  CheckpointBarrierHandler(const std::vector<size_t>& channels_per_gate, Options options);

  // Takes `entry` if its channel delivered the barrier being aligned: it is
  // processed after the snapshot. False: the task processes it now.
  bool Hold(size_t gate, int channel, BufferOrEvent& entry);
  // What was held comes back, in its order, before any new input.
  bool NextReleased(size_t* gate, int* channel, BufferOrEvent* entry);

  // A barrier the task has reached. One of a checkpoint passed on already
  // (the late barrier of an unaligned one) is the task's business, not
  // alignment's: it is ignored here.
  [[nodiscard]] Action OnBarrier(size_t gate, int channel, BufferOrEvent entry);
  // The channel ended: it no longer owes the barrier being aligned.
  [[nodiscard]] Action OnEndOfPartition(size_t gate, int channel);
  // Checkpoint triggered at the task itself: its producers have all ended,
  // so no barrier comes and each channel's end stands in for it.
  [[nodiscard]] Action OnTriggered(const Event& barrier);
  // Starts the aligned timeout for announced barriers, and turns an
  // alignment past it unaligned. Called on every turn of the task's loop.
  [[nodiscard]] Action CheckTimeout();

  // Every channel ended and nothing held is left.
  bool exhausted() const { return open_channels_ == 0 && released_.empty(); }
  // The checkpoint being aligned, 0 if none.
  int64_t aligning() const { return aligning_; }

 private:
  struct ChannelBarriers {
    bool ended = false;
    bool blocked = false;      // delivered the barrier being aligned (exactly-once: held back)
    bool saw_barrier = false;  // delivered the barrier being aligned (counted in barriers_seen_)
  };
  struct Entry {
    size_t gate;
    int channel;
    BufferOrEvent entry;
  };

  void BeginAlignment(const Event& barrier);
  Action CountBarrier(ChannelBarriers& channel, bool block);
  Action CompleteAlignment();
  Action StartUnaligned(const Event& barrier, std::optional<Channel> trigger,
                        std::shared_ptr<const std::string> overtaken);
  // Ends the alignment: every channel flows again, held entries first.
  void Release();

  Options options_;
  std::vector<std::vector<ChannelBarriers>> channels_;
  size_t open_channels_ = 0;
  int64_t last_passed_ = 0;  // the newest checkpoint the task passed on
  int64_t given_up_ = 0;     // the newest checkpoint abandoned for a newer one
  int64_t aligning_ = 0;
  Event aligning_barrier_;
  size_t barriers_seen_ = 0;
  int64_t align_started_ms_ = 0;
  bool may_turn_unaligned_ = false;  // after the aligned timeout
  int64_t next_announcement_check_ms_ = INT64_MIN;
  std::deque<Entry> held_;
  std::deque<Entry> released_;
};

}  // namespace sluice
