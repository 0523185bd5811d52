#include "worker/checkpoint_barrier_handler.h"

#include <algorithm>

namespace sluice {

// Announced barriers are looked for this often: each look takes every
// channel's lock.
constexpr int64_t kAnnouncementCheckMs = 5;

CheckpointBarrierHandler::CheckpointBarrierHandler(const std::vector<size_t>& channels_per_gate, Options options)
    : options_(std::move(options)), last_passed_(options_.last_checkpoint_id) {
  for (size_t n : channels_per_gate) {
    channels_.emplace_back(n);
    open_channels_ += n;
  }
}

bool CheckpointBarrierHandler::Hold(size_t gate, int channel, BufferOrEvent& entry) {
  if (!channels_[gate][channel].blocked) return false;
  held_.push_back({gate, channel, std::move(entry)});
  return true;
}

bool CheckpointBarrierHandler::NextReleased(size_t* gate, int* channel, BufferOrEvent* entry) {
  if (released_.empty()) return false;
  *gate = released_.front().gate;
  *channel = released_.front().channel;
  *entry = std::move(released_.front().entry);
  released_.pop_front();
  return true;
}

CheckpointBarrierHandler::Action CheckpointBarrierHandler::OnBarrier(size_t gate, int channel, BufferOrEvent entry) {
  const Event& barrier = entry.event;
  const int64_t id = barrier.checkpoint_id;
  // Of a checkpoint passed on or given up on: its successor is under way.
  if (id <= last_passed_ || id <= given_up_ || (aligning_ != 0 && id < aligning_)) return {};
  if (aligning_ != 0 && id > aligning_) {
    // The checkpoint being aligned was given up on (it timed out): this
    // barrier comes first (what follows on its channel may be among the
    // released entries behind it), then what was held.
    Action abandoned;
    abandoned.kind = Action::Kind::kAbandoned;
    abandoned.barrier = aligning_barrier_;
    given_up_ = std::max(given_up_, aligning_);
    Release();
    released_.push_front({gate, channel, std::move(entry)});
    return abandoned;
  }
  ChannelBarriers& state = channels_[gate][channel];
  // At-least-once: the channel keeps flowing; rows after its barrier enter
  // the state before the snapshot, and a restore replays them.
  if (!options_.exactly_once) {
    if (aligning_ == 0) BeginAlignment(barrier);
    return CountBarrier(state, /*block=*/false);
  }
  if (barrier.unaligned) {
    return StartUnaligned(barrier, Channel{static_cast<int>(gate), channel}, std::move(entry.overtaken));
  }
  if (aligning_ == 0) BeginAlignment(barrier);
  return CountBarrier(state, /*block=*/true);
}

CheckpointBarrierHandler::Action CheckpointBarrierHandler::OnEndOfPartition(size_t gate, int channel) {
  ChannelBarriers& state = channels_[gate][channel];
  state.ended = true;
  --open_channels_;
  if (aligning_ == 0) return {};
  // One that delivered the barrier (at-least-once) no longer counts.
  if (state.saw_barrier) --barriers_seen_;
  return barriers_seen_ == open_channels_ ? CompleteAlignment() : Action{};
}

CheckpointBarrierHandler::Action CheckpointBarrierHandler::OnTriggered(const Event& barrier) {
  if (barrier.checkpoint_id <= last_passed_ || aligning_ != 0 || !options_.exactly_once) return {};
  BeginAlignment(barrier);
  // No barrier will come in line behind queued output to turn it unaligned.
  may_turn_unaligned_ = false;
  return barriers_seen_ == open_channels_ ? CompleteAlignment() : Action{};
}

CheckpointBarrierHandler::Action CheckpointBarrierHandler::CheckTimeout() {
  const int64_t now = options_.now_ms();
  // Aligned first, unaligned after the timeout: a barrier still queued in a
  // channel behind data (the task has not reached it) starts the clock, so a
  // task whose barriers all wait in remote channels switches too.
  if (aligning_ == 0 && options_.unaligned && options_.aligned_timeout_ms > 0 &&
      now >= next_announcement_check_ms_) {
    next_announcement_check_ms_ = now + kAnnouncementCheckMs;
    for (size_t g = 0; g < channels_.size() && aligning_ == 0; ++g) {
      for (size_t ch = 0; ch < channels_[g].size(); ++ch) {
        Event announced;
        if (!channels_[g][ch].ended && options_.announced_barrier(g, static_cast<int>(ch), &announced) &&
            announced.checkpoint_id > std::max(last_passed_, given_up_) &&
            !options_.is_savepoint(announced.checkpoint_id)) {
          BeginAlignment(announced);
          break;
        }
      }
    }
  }
  if (aligning_ != 0 && may_turn_unaligned_ && now - align_started_ms_ >= options_.aligned_timeout_ms) {
    return StartUnaligned(aligning_barrier_, std::nullopt, nullptr);
  }
  return {};
}

void CheckpointBarrierHandler::BeginAlignment(const Event& barrier) {
  aligning_ = barrier.checkpoint_id;
  aligning_barrier_ = barrier;
  aligning_barrier_.unaligned = false;
  barriers_seen_ = 0;
  align_started_ms_ = options_.now_ms();
  may_turn_unaligned_ = options_.unaligned && !options_.is_savepoint(aligning_);
}

CheckpointBarrierHandler::Action CheckpointBarrierHandler::CountBarrier(ChannelBarriers& channel, bool block) {
  channel.saw_barrier = true;
  channel.blocked = block;
  return ++barriers_seen_ == open_channels_ ? CompleteAlignment() : Action{};
}

CheckpointBarrierHandler::Action CheckpointBarrierHandler::CompleteAlignment() {
  Action action;
  action.kind = Action::Kind::kSnapshotAligned;
  action.barrier = aligning_barrier_;
  action.may_overtake_later = may_turn_unaligned_;
  last_passed_ = aligning_;
  Release();
  return action;
}

// The snapshot is taken now. What the channels that have not delivered the
// barrier yet bring until they do is in flight.
CheckpointBarrierHandler::Action CheckpointBarrierHandler::StartUnaligned(
    const Event& barrier, std::optional<Channel> trigger, std::shared_ptr<const std::string> overtaken) {
  Action action;
  action.kind = Action::Kind::kSnapshotUnaligned;
  action.barrier = barrier;
  action.barrier.unaligned = true;
  action.trigger = trigger;
  action.overtaken = std::move(overtaken);
  for (size_t g = 0; g < channels_.size(); ++g) {
    for (size_t ch = 0; ch < channels_[g].size(); ++ch) {
      const ChannelBarriers& state = channels_[g][ch];
      // A blocked channel's barrier came in line: nothing of it is in flight.
      if (state.ended || state.blocked) continue;
      const Channel channel{static_cast<int>(g), static_cast<int>(ch)};
      action.in_flight.push_back(channel);
      if (channel != trigger) action.owing.insert(channel);
    }
  }
  last_passed_ = barrier.checkpoint_id;
  Release();
  return action;
}

void CheckpointBarrierHandler::Release() {
  aligning_ = 0;
  barriers_seen_ = 0;
  for (auto& gate : channels_) {
    for (auto& state : gate) state.blocked = state.saw_barrier = false;
  }
  // Ahead of what is left to release: a held entry came before any entry of
  // its channel still waiting there.
  while (!held_.empty()) {
    released_.push_front(std::move(held_.back()));
    held_.pop_back();
  }
}

}  // namespace sluice
