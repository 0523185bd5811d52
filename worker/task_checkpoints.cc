// The checkpoint side of Task (task.h): restoring, starting a checkpoint
// at a source, passing barriers on (aligned or unaligned), collecting
// in-flight data, and the uploader thread that stores snapshots and
// acknowledges them. The record path is in task.cc.
#include <chrono>
#include <filesystem>

#include "worker/network/data_plane.h"
#include "worker/state/state_backend.h"
#include "worker/state/state_snapshot.h"
#include "worker/task.h"

namespace sluice {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace


// Each operator takes, from the snapshots of every subtask of its vertex,
// the entries of the key groups this subtask owns; a source goes back to
// its position.
Status Task::Restore(const proto::TaskRestore& restore) {
  started_checkpoint_ = restore.checkpoint_id();
  notified_checkpoint_ = restore.checkpoint_id();
  last_barrier_id_ = restore.checkpoint_id();
  if (restore.finished()) {
    finished_on_restore_ = true;
    return Status::Ok();
  }
  if (!restore.channel_state().empty()) {
    auto channels = ReadChannelState(restore.channel_state());
    if (!channels.ok()) {
      return channels.status().WithPrefix("restoring checkpoint " + std::to_string(restore.checkpoint_id()));
    }
    restored_channels_ = std::make_unique<ChannelState>(std::move(*channels));
  }
  const KeyGroupRange range = key_groups_;
  int scratch = 0;
  for (size_t i = 0; i < operators_.size(); ++i) {
    KeyedStateBackend* state = operators_[i]->keyed_state();
    const std::string what = "restoring checkpoint " + std::to_string(restore.checkpoint_id());
    // The common restart: one incremental snapshot with exactly our key
    // groups. Its files become the database as they are, and count as
    // uploaded, so neither the restore nor the next checkpoint copies
    // entries one by one.
    std::vector<const proto::OperatorSnapshot*> own;
    for (const auto& file : restore.files()) {
      if (file.operator_id() == operator_ids_[i]) own.push_back(&file);
    }
    if (restore.same_key_groups() && own.size() == 1 && own[0]->rocksdb_files_size() > 0 && state != nullptr &&
        state->SupportsIncremental()) {
      std::vector<proto::StateFile> files(own[0]->rocksdb_files().begin(), own[0]->rocksdb_files().end());
      const std::string staging = state_base_ + "/restore-" + operator_ids_[i];
      Status copied = CopyStateFiles(files, staging);
      if (copied.ok()) copied = state->ReopenFrom(staging);
      if (!copied.ok()) {
        std::error_code ec;
        std::filesystem::remove_all(staging, ec);
        return copied.WithPrefix(what);
      }
      if (uploaders_[i]) uploaders_[i]->Seed(files);
      operators_[i]->AfterRestore();
      continue;
    }
    bool any = false;
    for (const auto& file : restore.files()) {
      if (file.operator_id() != operator_ids_[i]) continue;
      if (state == nullptr) {
        return Status::FailedPrecondition("checkpoint " + std::to_string(restore.checkpoint_id()) +
                                          " has keyed state for operator '" + operator_ids_[i] + "', which keeps none");
      }
      Status restored;
      if (file.rocksdb_files_size() > 0) {
        std::vector<proto::StateFile> files(file.rocksdb_files().begin(), file.rocksdb_files().end());
        restored = RestoreIncremental(files, range.start, range.end - 1,
                                      state_base_ + "/restore-" + operator_ids_[i] + "-" + std::to_string(++scratch),
                                      *state);
      } else {
        restored = RestoreStateSnapshot(file.file(), range.start, range.end, *state).status();
      }
      if (!restored.ok()) return restored.WithPrefix(what);
      any = true;
    }
    if (any) operators_[i]->AfterRestore();
  }
  if (source_ && !restore.source_position().empty()) {
    SLUICE_RETURN_IF_ERROR(source_->RestorePosition(restore.source_position())
                               .WithPrefix("restoring checkpoint " + std::to_string(restore.checkpoint_id())));
  } else if (source_ && restore.source_positions_size() > 0) {
    std::vector<std::string> positions(restore.source_positions().begin(), restore.source_positions().end());
    SLUICE_RETURN_IF_ERROR(source_->RestoreRescaled(positions)
                               .WithPrefix("restoring checkpoint " + std::to_string(restore.checkpoint_id())));
  }
  return Status::Ok();
}

void Task::TriggerCheckpoint(int64_t checkpoint_id, int64_t timestamp_ms, bool drain) {
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    if (checkpoint_id > requested_checkpoint_.load(std::memory_order_relaxed)) {
      requests_.push_back({checkpoint_id, timestamp_ms, drain});
      requested_checkpoint_.store(checkpoint_id, std::memory_order_release);
    }
  }
  wakeup_.Signal();
}

void Task::SetCheckpointDirectory(int64_t checkpoint_id, std::string directory) {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  checkpoint_dirs_[checkpoint_id] = std::move(directory);
}

void Task::NotifyCheckpointComplete(int64_t checkpoint_id) {
  // At once, on the caller's thread: the coordinator sends this before it
  // triggers the next checkpoint, which must see these files as uploaded
  // (uploaders are thread-safe, and the vector never changes once built).
  for (auto& uploader : uploaders_) {
    if (uploader) uploader->Confirm(checkpoint_id);
  }
  int64_t seen = completed_checkpoint_.load(std::memory_order_relaxed);
  while (checkpoint_id > seen && !completed_checkpoint_.compare_exchange_weak(seen, checkpoint_id)) {
  }
  wakeup_.Signal();
}

// Called between batches on the task thread: one atomic load when there is
// nothing new, so it costs nothing on the record path.
void Task::DeliverCheckpointNotifications() {
  const int64_t completed = completed_checkpoint_.load(std::memory_order_acquire);
  if (completed <= notified_checkpoint_) return;
  notified_checkpoint_ = completed;
  for (auto& op : operators_) {
    Status s = op->NotifyCheckpointComplete(completed);
    if (!s.ok()) log_->warn("{}: committing checkpoint {}: {}", Name(), completed, s.message());
  }
}

// The source side of a checkpoint: between two batches, so the position
// snapshotted is exactly where the barrier goes into the stream.
Status Task::MaybeStartCheckpoint() {
  if (requested_checkpoint_.load(std::memory_order_acquire) <= started_checkpoint_) return Status::Ok();
  std::deque<CheckpointRequest> due;
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    due.swap(requests_);
  }
  // The coordinator keeps at most max-concurrent in flight: older queued
  // triggers have been given up on already (timed out).
  while (due.size() > max_concurrent_checkpoints_) due.pop_front();
  for (const CheckpointRequest& request : due) {
    if (request.id <= started_checkpoint_) continue;
    StartSourceCheckpoint(request);
    if (drained_) break;  // the source ends after this barrier
  }
  return Status::Ok();
}

void Task::StartSourceCheckpoint(const CheckpointRequest& request) {
  const int64_t id = request.id;
  started_checkpoint_ = id;
  if (request.drain) {
    // Event time ends here: every window fires before the savepoint, and
    // the source stops after its barrier.
    head_->EmitWatermark(INT64_MAX);
    drained_ = true;
  }
  // Savepoints are always aligned, as in Flink: they must be self-contained.
  const bool unaligned = unaligned_ && !IsSavepoint(id);
  auto upload = BeginSnapshot(id);
  PassBarrier(unaligned && aligned_timeout_ms_ == 0 ? Event::UnalignedBarrier(id, request.timestamp_ms)
                                                    : Event::Barrier(id, request.timestamp_ms),
              std::move(upload), {}, {}, unaligned);
}

Task::Upload::~Upload() {
  for (const File& file : files) {
    std::error_code ec;
    if (!file.local_dir.empty()) std::filesystem::remove_all(file.local_dir, ec);
  }
}

bool Task::IsSavepoint(int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(checkpoint_mu_);
  return checkpoint_dirs_.count(checkpoint_id) > 0;
}

// The synchronous part runs on the task thread: operators flush into their
// state and each backend hands out a point-in-time view. Writing the files
// is the uploader thread's, so the barrier goes on at once and processing
// continues while the snapshot is written; the acknowledgement follows.
std::unique_ptr<Task::Upload> Task::BeginSnapshot(int64_t checkpoint_id) {
  auto upload = std::make_unique<Upload>();
  upload->ack.mutable_task()->CopyFrom(id_);
  upload->ack.set_checkpoint_id(checkpoint_id);
  proto::TaskSnapshot* snapshot = upload->ack.mutable_snapshot();
  snapshot->set_vertex_id(id_.vertex_id());
  snapshot->set_subtask(id_.subtask());
  Status status = TakeSnapshot(checkpoint_id, upload.get());
  if (!status.ok()) {
    // A checkpoint that cannot be stored is declined, not the task failed;
    // the coordinator decides what that means for the job.
    log_->warn("{}: checkpoint {} declined: {}", Name(), checkpoint_id, status.message());
    for (auto& file : upload->files) {
      std::error_code ec;
      if (!file.local_dir.empty()) std::filesystem::remove_all(file.local_dir, ec);
    }
    upload->files.clear();
    upload->ack.clear_snapshot();
    upload->ack.set_decline_reason(Name() + ": " + status.message());
  }
  return upload;
}

void Task::QueueUpload(std::unique_ptr<Upload> upload) {
  std::lock_guard<std::mutex> lock(upload_mu_);
  if (!uploader_.joinable()) uploader_ = std::thread([this] { RunUploader(); });
  uploads_.push_back(std::move(upload));
  upload_cv_.notify_all();
}

void Task::PassBarrier(const Event& barrier, std::unique_ptr<Upload> upload,
                       std::set<std::pair<int, int>> inputs_owing, ChannelState in_flight, bool may_overtake_later) {
  if (pending_) {
    log_->info("{}: checkpoint {} given up for {}", Name(), pending_->id, barrier.checkpoint_id);
    pending_.reset();
  }
  last_barrier_id_ = barrier.checkpoint_id;
  counters_.last_barrier_id.store(last_barrier_id_, std::memory_order_relaxed);
  auto pending = std::make_unique<PendingChannels>();
  pending->id = barrier.checkpoint_id;
  pending->data = std::move(in_flight);
  pending->inputs_owing = std::move(inputs_owing);
  for (size_t w = 0; w < writers_.size(); ++w) {
    if (barrier.unaligned) {
      std::vector<std::string> overtaken;
      writers_[w]->BroadcastPriorityEvent(barrier, &overtaken);
      for (size_t s = 0; s < overtaken.size(); ++s) {
        if (!overtaken[s].empty()) pending->data.outputs[{static_cast<int>(w), static_cast<int>(s)}] = std::move(overtaken[s]);
      }
    } else {
      writers_[w]->BroadcastEvent(barrier);
      if (!may_overtake_later) continue;
      for (int s = 0; s < writers_[w]->partition().num_subpartitions(); ++s) {
        pending->outputs_owing.push_back({static_cast<int>(w), s});
      }
    }
  }
  pending->deadline_ms = NowMs() + aligned_timeout_ms_;
  if (!upload->ack.decline_reason().empty()) {
    QueueUpload(std::move(upload));  // nothing more to collect for a declined one
    return;
  }
  pending->upload = std::move(upload);
  pending_ = std::move(pending);
  AdvancePendingCheckpoint(true);
}

void Task::AdvancePendingCheckpoint(bool force) {
  if (!pending_) return;
  const int64_t now = NowMs();
  if (!pending_->outputs_owing.empty() && (force || now - last_advance_ms_ >= 5)) {
    last_advance_ms_ = now;
    auto& owing = pending_->outputs_owing;
    for (size_t i = 0; i < owing.size();) {
      auto [w, s] = owing[i];
      Subpartition& sub = writers_[w]->partition().subpartition(s);
      bool done = !sub.HasBarrier(pending_->id);
      if (!done && now >= pending_->deadline_ms) {
        // Alignment takes too long: the barrier jumps its queue, whose data
        // the checkpoint keeps.
        std::string overtaken;
        if (sub.PrioritizeBarrier(pending_->id, &overtaken) && !overtaken.empty()) {
          pending_->data.outputs[{w, s}] = std::move(overtaken);
        }
        done = true;
      }
      if (done) {
        owing[i] = owing.back();
        owing.pop_back();
      } else {
        ++i;
      }
    }
  }
  if (!pending_->inputs_owing.empty() || !pending_->outputs_owing.empty()) return;
  pending_->upload->channels = std::move(pending_->data);
  QueueUpload(std::move(pending_->upload));
  pending_.reset();
}

void Task::FinishPendingCheckpoint() {
  if (!pending_) return;
  pending_->inputs_owing.clear();   // every input ended
  pending_->outputs_owing.clear();  // the barriers stay in line ahead of the end
  AdvancePendingCheckpoint(true);
}

Status Task::TakeSnapshot(int64_t checkpoint_id, Upload* upload) {
  proto::TaskSnapshot* snapshot = upload->ack.mutable_snapshot();
  if (source_) snapshot->set_source_position(source_->SnapshotPosition());
  std::string dir;
  bool savepoint = false;
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    auto it = checkpoint_dirs_.find(checkpoint_id);
    savepoint = it != checkpoint_dirs_.end();
    if (it != checkpoint_dirs_.end()) dir = it->second + "/";
    checkpoint_dirs_.erase(checkpoint_dirs_.begin(), checkpoint_dirs_.upper_bound(checkpoint_id));
  }
  if (dir.empty()) {
    if (checkpoint_dir_.empty()) return Status::FailedPrecondition("the job has no checkpoint.dir");
    dir = checkpoint_dir_ + "/" + id_.job_id() + "/chk-" + std::to_string(checkpoint_id) + "/";
  }
  upload->directory = dir;
  for (size_t i = 0; i < operators_.size(); ++i) {
    SLUICE_RETURN_IF_ERROR(operators_[i]->PrepareSnapshot(checkpoint_id, *outputs_[i]));
    KeyedStateBackend* state = operators_[i]->keyed_state();
    if (state == nullptr) continue;
    Upload::File file;
    file.operator_id = operator_ids_[i];
    const std::string name = id_.vertex_id() + "-" + std::to_string(id_.subtask()) + "-" + operator_ids_[i];
    file.path = dir + name + ".state";
    // Savepoints are self-contained: always a full snapshot.
    if (uploaders_[i] && !savepoint && state->SupportsIncremental()) {
      // Flushes RocksDB and hard-links its files: the upload copies them
      // while the task goes on.
      file.local_dir = state_base_ + "/" + name + "-chk-" + std::to_string(checkpoint_id);
      auto created = state->CreateLocalCheckpoint(file.local_dir);
      if (!created.ok()) return created.status();
      file.uploader = uploaders_[i].get();
    } else {
      file.entries = state->SnapshotAll();
    }
    upload->files.push_back(std::move(file));
  }
  return Status::Ok();
}

void Task::RunUploader() {
  std::unique_lock<std::mutex> lock(upload_mu_);
  while (true) {
    upload_cv_.wait(lock, [this] { return uploads_stopping_ || !uploads_.empty(); });
    if (uploads_.empty()) return;  // stopping, nothing left
    std::unique_ptr<Upload> upload = std::move(uploads_.front());
    uploads_.pop_front();
    lock.unlock();
    proto::CheckpointAck& ack = upload->ack;
    for (auto& file : upload->files) {
      auto* o = ack.mutable_snapshot()->add_operators();
      o->set_operator_id(file.operator_id);
      Status stored;
      if (file.uploader != nullptr) {
        auto uploaded = file.uploader->Upload(ack.checkpoint_id(), file.local_dir, upload->directory);
        stored = uploaded.status();
        if (uploaded.ok()) {
          for (auto& f : uploaded->files) *o->add_rocksdb_files() = std::move(f);
          o->set_bytes(uploaded->bytes_written);
        }
      } else {
        auto written = WriteStateSnapshot(*file.entries, file.path);
        file.entries.reset();  // lets go of the backend's snapshot at once
        stored = written.status();
        if (written.ok()) {
          o->set_file(file.path);
          o->set_bytes(written->bytes);
        }
      }
      if (!stored.ok()) {
        log_->warn("{}: checkpoint {} declined: {}", Name(), ack.checkpoint_id(), stored.message());
        ack.clear_snapshot();
        ack.set_decline_reason(Name() + ": " + stored.message());
        break;
      }
    }
    for (auto& file : upload->files) {
      std::error_code ec;
      if (!file.local_dir.empty()) std::filesystem::remove_all(file.local_dir, ec);  // one not uploaded
    }
    upload->files.clear();
    if (!upload->channels.empty() && ack.decline_reason().empty()) {
      const std::string path = upload->directory + id_.vertex_id() + "-" + std::to_string(id_.subtask()) + ".channels";
      auto written = WriteChannelState(upload->channels, path);
      if (written.ok()) {
        ack.mutable_snapshot()->set_channel_state(path);
        ack.mutable_snapshot()->set_channel_state_bytes(*written);
      } else {
        log_->warn("{}: checkpoint {} declined: {}", Name(), ack.checkpoint_id(), written.status().message());
        ack.clear_snapshot();
        ack.set_decline_reason(Name() + ": " + written.status().message());
      }
      upload->channels = ChannelState();
    }
    if (checkpoint_listener_) checkpoint_listener_(ack);
    lock.lock();
  }
}

// Before the operators (and their backends) go: uploads in flight finish.
void Task::StopUploader() {
  {
    std::lock_guard<std::mutex> lock(upload_mu_);
    uploads_stopping_ = true;
  }
  upload_cv_.notify_all();
  if (uploader_.joinable()) uploader_.join();
}

}  // namespace sluice
