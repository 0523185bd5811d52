#include "coordinator/checkpoint_coordinator.h"

#include <algorithm>
#include <filesystem>

#include "coordinator/checkpoint_storage.h"

namespace sluice {

CheckpointCoordinator::CheckpointCoordinator(std::string job_id, const proto::JobGraph& graph,
                                             CheckpointConfig config, std::vector<bool> source_vertex,
                                             CheckpointedJob* job, TaskGateway* gateway, const Clock* clock,
                                             Logger logger, std::condition_variable* changed)
    : job_id_(std::move(job_id)),
      graph_(graph),
      config_(std::move(config)),
      source_vertex_(std::move(source_vertex)),
      job_(job),
      gateway_(gateway),
      clock_(clock),
      log_(std::move(logger)),
      changed_(changed) {}

// ----------------------------------------------------------- restoring ----

void CheckpointCoordinator::StartFrom(std::unique_ptr<proto::CheckpointMetadata> restore) {
  next_checkpoint_id_ = restore->checkpoint_id() + 1;
  stats_.set_restored_id(restore->checkpoint_id());
  latest_ = std::move(restore);
}

Status CheckpointCoordinator::PrepareRestart() {
  std::string damage;
  while (!retained_.empty()) {
    const std::string dir = retained_.back();
    auto metadata = ReadCheckpointMetadata(dir);
    if (metadata.ok() && metadata->checkpoint_id() != bad_checkpoint_) {
      latest_ = std::make_unique<proto::CheckpointMetadata>(std::move(*metadata));
      break;
    }
    std::string why = metadata.ok() ? bad_checkpoint_reason_ : metadata.status().message();
    log_->error("job {}: checkpoint {} cannot be restored: {}", job_id_, dir, why);
    damage += (damage.empty() ? "" : "; ") + dir + ": " + why;
    PopRetained(true, 0);
  }
  // None retained and none damaged: as before (from the start, or a savepoint).
  if (retained_.empty() && !damage.empty()) {
    latest_.reset();
    return Status::FailedPrecondition("no retained checkpoint can be restored: " + damage);
  }
  // The new attempt's uploaders reuse only the restored checkpoint's files
  // (retained, so counted): no released file can be listed any more.
  notified_id_ = notify_id_;
  notify_retry_mono_ = 0;
  notify_failures_ = 0;
  DeleteReleasedFiles();
  stats_.set_restored_id(latest_ ? latest_->checkpoint_id() : 0);
  return Status::Ok();
}

void CheckpointCoordinator::MarkDamaged(int64_t id, const std::string& reason) {
  bad_checkpoint_ = id;
  bad_checkpoint_reason_ = reason;
}

// ---------------------------------------------------------- triggering ----

void CheckpointCoordinator::ScheduleFirstTrigger() {
  next_trigger_mono_ = clock_->MonotonicMillis() + config_.interval_ms;
}

void CheckpointCoordinator::MaybeTrigger(bool job_running, std::unique_lock<std::mutex>& lock) {
  const int64_t now = clock_->MonotonicMillis();
  std::vector<int64_t> expired, again;
  for (auto& [id, pending] : pending_) {
    if (now - pending->started_mono > config_.timeout_ms) {
      expired.push_back(id);
    } else if (pending->trigger_again) {
      pending->trigger_again = false;
      again.push_back(id);
    }
  }
  for (int64_t id : expired) {
    Abort(id, "not complete within checkpoint.timeout (" + std::to_string(config_.timeout_ms) + " ms)");
  }
  for (int64_t id : again) SendTrigger(id, lock);  // each looks its checkpoint up again
  if (!job_running || now < next_trigger_mono_ || paused_ > 0) return;
  if (!pending_.empty()) {
    // Another one may start beside those in flight only if none is a
    // savepoint and no min-pause applies (it counts from a completion).
    if (static_cast<int>(pending_.size()) >= config_.max_concurrent || config_.min_pause_ms > 0) return;
    for (const auto& [id, pending] : pending_) {
      if (!pending->savepoint_dir.empty()) return;
    }
  }
  next_trigger_mono_ = now + config_.interval_ms;
  if (!CanCheckpoint()) return;
  auto pending = NewPending(now);
  const int64_t id = pending->id;
  log_->info("job {}: triggering checkpoint {} ({} in flight)", job_id_, id, pending_.size() + 1);
  pending_.emplace(id, std::move(pending));
  SendTrigger(id, lock);
}

bool CheckpointCoordinator::RetriggerOne(std::unique_lock<std::mutex>& lock) {
  for (auto& [id, pending] : pending_) {
    if (!pending->trigger_again) continue;
    pending->trigger_again = false;
    SendTrigger(id, lock);
    return true;  // the lock was released: the map may have changed
  }
  return false;
}

std::unique_ptr<CheckpointCoordinator::Pending> CheckpointCoordinator::NewPending(int64_t now) {
  auto pending = std::make_unique<Pending>();
  pending->id = next_checkpoint_id_++;
  pending->timestamp_ms = clock_->NowMillis();
  pending->started_mono = now;
  pending->base_id = notified_id_;
  for (int v = 0; v < graph_.vertices_size(); ++v) {
    for (int i = 0; i < graph_.vertices(v).parallelism(); ++i) {
      if (job_->StateOf(v, i) == proto::TASK_FINISHED) pending->finished.insert({v, i});
    }
  }
  return pending;
}

CheckpointCoordinator::Pending* CheckpointCoordinator::FindPending(int64_t id) const {
  auto it = pending_.find(id);
  return it == pending_.end() ? nullptr : it->second.get();
}

size_t CheckpointCoordinator::SubtaskCount() const {
  size_t n = 0;
  for (const auto& v : graph_.vertices()) n += static_cast<size_t>(v.parallelism());
  return n;
}

bool CheckpointCoordinator::CanCheckpoint() const {
  bool any_running = false;
  for (int v = 0; v < graph_.vertices_size(); ++v) {
    for (int i = 0; i < graph_.vertices(v).parallelism(); ++i) {
      const proto::TaskState s = job_->StateOf(v, i);
      if (s == proto::TASK_RUNNING) {
        any_running = true;
      } else if (s != proto::TASK_FINISHED) {
        return false;
      }
    }
  }
  return any_running;
}

std::vector<std::pair<int, int>> CheckpointCoordinator::OrphanedSubtasks() const {
  std::vector<std::pair<int, int>> out;
  std::map<std::string, int> index;
  for (int v = 0; v < graph_.vertices_size(); ++v) index[graph_.vertices(v).id()] = v;
  for (int v = 0; v < graph_.vertices_size(); ++v) {
    if (source_vertex_[v]) continue;
    bool producers_ended = true;
    for (const auto& e : graph_.edges()) {
      if (e.target() != graph_.vertices(v).id()) continue;
      const int u = index[e.source()];
      for (int j = 0; j < graph_.vertices(u).parallelism(); ++j) {
        producers_ended = producers_ended && job_->StateOf(u, j) == proto::TASK_FINISHED;
      }
    }
    if (!producers_ended) continue;
    for (int i = 0; i < graph_.vertices(v).parallelism(); ++i) {
      if (job_->StateOf(v, i) == proto::TASK_RUNNING) out.push_back({v, i});
    }
  }
  return out;
}

// A checkpoint starts at the sources, and at subtasks whose producers have
// all ended (no barrier reaches those). A savepoint's directory is first
// told to every worker of the job, so no task meets its barrier without
// knowing where to write.
void CheckpointCoordinator::SendTrigger(int64_t id, std::unique_lock<std::mutex>& lock) {
  Pending* pending = FindPending(id);
  if (pending == nullptr) return;  // completed or aborted meanwhile
  std::set<std::string> sources, all;
  std::map<std::string, std::vector<std::string>> also_start;  // address -> "<vertex>#<subtask>"
  for (int v = 0; v < graph_.vertices_size(); ++v) {
    for (int i = 0; i < graph_.vertices(v).parallelism(); ++i) {
      const std::string address = job_->TaskAddress(v, i);
      if (address.empty()) continue;
      all.insert(address);
      if (source_vertex_[v] && job_->StateOf(v, i) != proto::TASK_FINISHED) sources.insert(address);
    }
  }
  for (auto [v, i] : OrphanedSubtasks()) {
    if (!pending->started_directly.insert({v, i}).second) continue;
    const std::string address = job_->TaskAddress(v, i);
    if (address.empty()) continue;
    also_start[address].push_back(graph_.vertices(v).id() + "#" + std::to_string(i));
    sources.insert(address);
  }
  proto::TriggerCheckpointRequest request;
  request.set_job_id(job_id_);
  request.set_attempt(job_->attempt());
  request.set_checkpoint_id(pending->id);
  request.set_timestamp_ms(pending->timestamp_ms);
  request.set_directory(pending->savepoint_dir);
  request.set_drain(pending->drain);
  // From here on nothing of `this` is touched: the job may be gone when the
  // lock is back (a savepoint's caller checks).
  const std::string job_id = job_id_;
  TaskGateway* gateway = gateway_;
  Logger log = log_;
  lock.unlock();
  if (!request.directory().empty()) {
    request.set_start_sources(false);
    for (const auto& address : all) {
      Status s = gateway->TriggerCheckpoint(address, request);
      if (!s.ok()) log->warn("job {}: savepoint {}: {}", job_id, request.checkpoint_id(), s.message());
    }
  }
  request.set_start_sources(true);
  for (const auto& address : sources) {
    request.clear_also_start();
    for (const auto& name : also_start[address]) request.add_also_start(name);
    Status s = gateway->TriggerCheckpoint(address, request);
    if (!s.ok()) log->warn("job {}: checkpoint {}: {}", job_id, request.checkpoint_id(), s.message());
  }
  lock.lock();
}

// ----------------------------------------------------------- savepoints ----

int64_t CheckpointCoordinator::TriggerSavepoint(const std::string& directory, bool drain,
                                                std::unique_lock<std::mutex>& lock) {
  auto pending = NewPending(clock_->MonotonicMillis());
  pending->savepoint_dir = directory + "/savepoint-" + job_id_.substr(0, 6) + "-" + std::to_string(pending->id);
  pending->drain = drain;
  const int64_t id = pending->id;
  log_->info("job {}: savepoint {} to {}{}", job_id_, id, pending->savepoint_dir, drain ? " (draining)" : "");
  pending_.emplace(id, std::move(pending));
  SendTrigger(id, lock);
  return id;
}

const Result<std::string>* CheckpointCoordinator::SavepointResult(int64_t id) const {
  auto it = savepoints_.find(id);
  return it == savepoints_.end() ? nullptr : &it->second;
}

// -------------------------------------------------------- subtasks' news ----

void CheckpointCoordinator::OnSubtaskFinished(int vertex, int subtask) {
  const std::pair<int, int> key{vertex, subtask};
  std::vector<int64_t> ids;
  for (const auto& [id, pending] : pending_) ids.push_back(id);
  for (int64_t id : ids) {  // completing one may drop older ones
    Pending* pending = FindPending(id);
    if (pending == nullptr || pending->acks.count(key)) continue;
    if (job_->LastBarrierId(vertex, subtask) >= id) continue;  // its ack is on the way
    pending->finished.insert(key);
    pending->trigger_again = true;  // its consumers may now have no producer left
    MaybeComplete(id);
  }
}

void CheckpointCoordinator::Acknowledge(const proto::CheckpointAck& ack) {
  Pending* pending = ack.task().attempt() == job_->attempt() ? FindPending(ack.checkpoint_id()) : nullptr;
  if (pending == nullptr) {
    DropUnreferencedFiles(ack.snapshot());  // of a checkpoint given up on
    return;
  }
  if (!ack.decline_reason().empty()) {
    Abort(ack.checkpoint_id(), ack.decline_reason());
    return;
  }
  int v = -1;
  for (int i = 0; i < graph_.vertices_size(); ++i) {
    if (graph_.vertices(i).id() == ack.task().vertex_id()) v = i;
  }
  if (v < 0 || ack.task().subtask() < 0 || ack.task().subtask() >= graph_.vertices(v).parallelism()) return;
  pending->acks[{v, ack.task().subtask()}] = ack.snapshot();
  MaybeComplete(ack.checkpoint_id());
}

void CheckpointCoordinator::MaybeComplete(int64_t id) {
  Pending* pending = FindPending(id);
  if (pending == nullptr) return;
  if (pending->acks.size() + pending->finished.size() == SubtaskCount()) Complete(id);
}

// Every subtask has stored its part: the checkpoint's metadata makes it
// complete; the one before is removed; workers are told so sinks publish.
void CheckpointCoordinator::Complete(int64_t id) {
  auto& pending = *pending_.at(id);
  proto::CheckpointMetadata metadata;
  metadata.set_job_id(job_id_);
  metadata.set_checkpoint_id(pending.id);
  metadata.set_timestamp_ms(pending.timestamp_ms);
  *metadata.mutable_graph() = graph_;
  int64_t bytes = 0;
  for (auto& [key, snapshot] : pending.acks) {
    for (const auto& o : snapshot.operators()) bytes += o.bytes();
    bytes += snapshot.channel_state_bytes();
    *metadata.add_tasks() = std::move(snapshot);
  }
  for (auto [v, i] : pending.finished) {
    proto::TaskSnapshot* t = metadata.add_tasks();
    t->set_vertex_id(graph_.vertices(v).id());
    t->set_subtask(i);
    t->set_finished(true);
  }
  const bool savepoint = !pending.savepoint_dir.empty();
  const std::string dir = savepoint ? pending.savepoint_dir : CheckpointDirectory(config_.dir, job_id_, pending.id);
  Status written = WriteCheckpointMetadata(dir, metadata);
  if (!written.ok()) {
    Abort(id, written.message());
    return;
  }
  if (savepoint) {
    // A savepoint belongs to the user: it is not the job's recovery point
    // and is never removed; sinks publish up to it all the same.
    log_->info("job {}: savepoint {} complete: {}", job_id_, pending.id, dir);
    savepoints_.emplace(pending.id, dir);
    notify_id_ = std::max(notify_id_, pending.id);
    pending_.erase(id);
    changed_->notify_all();
    return;
  }
  retained_.push_back(dir);
  std::vector<std::string> shared;
  for (const auto& t : metadata.tasks()) {
    for (const auto& o : t.operators()) {
      for (const auto& f : o.rocksdb_files()) {
        if (f.shared()) shared.push_back(f.path());
      }
    }
  }
  for (const auto& f : shared) ++shared_refs_[f];
  retained_shared_.push_back(std::move(shared));
  while (static_cast<int>(retained_.size()) > config_.retained) PopRetained(false, id);
  consecutive_failures_ = 0;
  next_trigger_mono_ = std::max(next_trigger_mono_, clock_->MonotonicMillis() + config_.min_pause_ms);
  const int64_t duration = clock_->MonotonicMillis() - pending.started_mono;
  log_->info("job {}: checkpoint {} complete in {} ms ({} bytes)", job_id_, pending.id, duration, bytes);
  stats_.set_completed(stats_.completed() + 1);
  stats_.set_last_completed_id(pending.id);
  stats_.set_last_duration_ms(duration);
  stats_.set_last_bytes(bytes);
  stats_.set_last_completed_ms(clock_->NowMillis());
  stats_.set_last_path(dir);
  latest_ = std::make_unique<proto::CheckpointMetadata>(std::move(metadata));
  notify_id_ = std::max(notify_id_, pending.id);
  pending_.erase(id);  // `pending` is gone from here on
  // As in Flink, a completed checkpoint subsumes older ones still in flight:
  // it is newer, and restoring never goes back to them.
  while (!pending_.empty() && pending_.begin()->first < id) {
    AbortPending(pending_.begin()->first, "subsumed by checkpoint " + std::to_string(id), AbortKind::kSubsumed);
  }
  DeleteReleasedFiles();
  changed_->notify_all();
}

// Every worker is told, again after a failure (it is idempotent): sinks
// publish on it, and released shared files wait for it.
void CheckpointCoordinator::SendNotifications(std::unique_lock<std::mutex>& lock) {
  if (notify_id_ <= notified_id_ || clock_->MonotonicMillis() < notify_retry_mono_) return;
  const int64_t attempt = job_->attempt();
  proto::NotifyCheckpointCompleteRequest request;
  request.set_job_id(job_id_);
  request.set_attempt(attempt);
  request.set_checkpoint_id(notify_id_);
  const std::set<std::string> addresses = job_->SlotAddresses();
  lock.unlock();
  bool all = true;
  for (const auto& address : addresses) {
    Status s = gateway_->NotifyCheckpointComplete(address, request);
    if (!s.ok()) {
      log_->warn("job {}: checkpoint {} notification: {}", job_id_, request.checkpoint_id(), s.message());
      all = false;
    }
  }
  lock.lock();
  if (job_->attempt() != attempt) return;
  if (!all) {
    // A worker that hangs costs a call timeout per try: back off, until it
    // answers or is declared lost.
    notify_retry_mono_ = clock_->MonotonicMillis() + std::min<int64_t>(200 << std::min(notify_failures_, 5), 5000);
    ++notify_failures_;
    return;
  }
  notify_failures_ = 0;
  notified_id_ = std::max(notified_id_, request.checkpoint_id());
  DeleteReleasedFiles();
}

// ------------------------------------------------- retained and shared ----

void CheckpointCoordinator::PopRetained(bool newest, int64_t released_by) {
  if (retained_.empty()) return;
  RemoveCheckpoint(newest ? retained_.back() : retained_.front());
  ReleaseSharedFiles(newest ? retained_shared_.back() : retained_shared_.front(), released_by);
  if (newest) {
    retained_.pop_back();
    retained_shared_.pop_back();
  } else {
    retained_.pop_front();
    retained_shared_.pop_front();
  }
}

void CheckpointCoordinator::ReleaseSharedFiles(const std::vector<std::string>& files, int64_t released_by) {
  for (const auto& f : files) {
    auto it = shared_refs_.find(f);
    if (it == shared_refs_.end() || --it->second > 0) continue;
    shared_refs_.erase(it);
    released_[f] = released_by;
  }
  DeleteReleasedFiles();
}

void CheckpointCoordinator::DeleteReleasedFiles() {
  int64_t oldest_base = INT64_MAX;  // of the checkpoints in flight
  for (const auto& [id, pending] : pending_) oldest_base = std::min(oldest_base, pending->base_id);
  for (auto it = released_.begin(); it != released_.end();) {
    const auto& [file, released_by] = *it;
    if (shared_refs_.count(file)) {
      it = released_.erase(it);  // a checkpoint that completed since lists it again
    } else if (notified_id_ >= released_by && oldest_base >= released_by) {
      std::error_code ec;
      std::filesystem::remove(file, ec);
      it = released_.erase(it);
    } else {
      ++it;
    }
  }
}

void CheckpointCoordinator::DropUnreferencedFiles(const proto::TaskSnapshot& snapshot) {
  for (const auto& o : snapshot.operators()) {
    for (const auto& f : o.rocksdb_files()) {
      // A released file may still be listed by another checkpoint in flight.
      if (!f.shared() || shared_refs_.count(f.path()) || released_.count(f.path())) continue;
      std::error_code ec;
      std::filesystem::remove(f.path(), ec);
    }
  }
}

// ---------------------------------------------------- aborting, ending ----

void CheckpointCoordinator::Abort(int64_t id, const std::string& why) { AbortPending(id, why, AbortKind::kFailed); }

void CheckpointCoordinator::AbortAll(const std::string& why) {
  while (!pending_.empty()) AbortPending(pending_.begin()->first, why, AbortKind::kNotCounted);
}

void CheckpointCoordinator::AbortPending(int64_t id, const std::string& why, AbortKind kind) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  std::unique_ptr<Pending> owned = std::move(it->second);
  pending_.erase(it);
  const auto& pending = *owned;
  for (const auto& [key, snapshot] : pending.acks) DropUnreferencedFiles(snapshot);
  if (kind == AbortKind::kSubsumed) {
    log_->info("job {}: checkpoint {} dropped: {}", job_id_, pending.id, why);
  } else {
    log_->warn("job {}: {} {} failed: {}", job_id_, pending.savepoint_dir.empty() ? "checkpoint" : "savepoint",
               pending.id, why);
  }
  if (pending.savepoint_dir.empty()) {
    if (kind != AbortKind::kSubsumed) stats_.set_failed(stats_.failed() + 1);
    RemoveCheckpoint(CheckpointDirectory(config_.dir, job_id_, pending.id));
    if (kind == AbortKind::kFailed && ++consecutive_failures_ > config_.tolerable_failures) {
      job_->Fail("checkpoint " + std::to_string(pending.id) + " failed: " + why + " (" +
                 std::to_string(consecutive_failures_) + " in a row; checkpoint.tolerable-failures is " +
                 std::to_string(config_.tolerable_failures) + ")");
    }
  } else {
    savepoints_.emplace(pending.id, Status::Unavailable("savepoint " + std::to_string(pending.id) + ": " + why));
    RemoveCheckpoint(pending.savepoint_dir);
  }
  DeleteReleasedFiles();  // it may have been the last to hold some back
  changed_->notify_all();
}

void CheckpointCoordinator::OnJobEnded() {
  for (const auto& [file, released_by] : released_) {
    std::error_code ec;
    if (!shared_refs_.count(file)) std::filesystem::remove(file, ec);
  }
  released_.clear();
}

proto::CheckpointStats CheckpointCoordinator::Stats() const {
  proto::CheckpointStats stats = stats_;
  stats.set_in_progress_id(pending_.empty() ? 0 : pending_.rbegin()->first);
  stats.set_in_progress(static_cast<int32_t>(pending_.size()));
  return stats;
}

}  // namespace sluice
