// One job's checkpoints, on the coordinator's side: triggering (interval,
// min-pause, max-concurrent, timeout), acknowledgements and declines,
// completion and subsumption, savepoints, the completed checkpoints retained
// and the reference counts of the shared (incremental) files they list,
// completion notifications, and the choice of what a restart restores.
//
// The Coordinator owns one per job and answers what it needs to know of the
// job's tasks (CheckpointedJob); RPCs go through the TaskGateway and time
// comes from the Clock, so tests drive it with fakes and no Coordinator.
//
// Locking: it has no mutex of its own. Every method REQUIRES the owner's
// mutex (Coordinator::mu_) held; those taking `lock` release it around RPCs
// and hold it again when they return. While it is released the job may
// change, so such a method looks its checkpoint up again afterwards.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/logging.h"
#include "common/status.h"
#include "coordinator/checkpoint_policy.h"
#include "coordinator/task_gateway.h"
#include "proto/job.pb.h"
#include "proto/cluster_service.pb.h"

namespace sluice {

// What a CheckpointCoordinator asks of the job it serves. Answered with the
// owner's mutex held.
class CheckpointedJob {
 public:
  virtual ~CheckpointedJob() = default;
  // The running attempt: acknowledgements of another one are stale.
  virtual int64_t attempt() const = 0;
  virtual proto::TaskState StateOf(int vertex, int subtask) const = 0;
  // The newest barrier the subtask passed on (from its metrics).
  virtual int64_t LastBarrierId(int vertex, int subtask) const = 0;
  // Where the subtask's worker takes RPCs; empty when that worker is gone.
  virtual std::string TaskAddress(int vertex, int subtask) const = 0;
  // Where every worker holding a slot of the job takes RPCs.
  virtual std::set<std::string> SlotAddresses() const = 0;
  // More checkpoints failed in a row than checkpoint.tolerable-failures.
  virtual void Fail(const std::string& reason) = 0;
};

class CheckpointCoordinator {
 public:
  // `graph` and `job` outlive it (both belong to the Coordinator's job);
  // `source_vertex[v]`: vertex v's chain starts with a source. `changed` is
  // notified whenever a checkpoint ends, so waiters look again.
  CheckpointCoordinator(std::string job_id, const proto::JobGraph& graph, CheckpointConfig config,
                        std::vector<bool> source_vertex, CheckpointedJob* job, TaskGateway* gateway,
                        const Clock* clock, Logger logger, std::condition_variable* changed);
  CheckpointCoordinator(const CheckpointCoordinator&) = delete;
  CheckpointCoordinator& operator=(const CheckpointCoordinator&) = delete;

  const CheckpointConfig& config() const { return config_; }

  // --- Restoring ---
  // The job starts from a savepoint or checkpoint: numbers go on after it,
  // so a sink's files published before and after never share a name.
  // REQUIRES: mu_ held (or the job not yet shared).
  void StartFrom(std::unique_ptr<proto::CheckpointMetadata> restore);
  // What the next attempt restores; null: it starts from the beginning.
  // REQUIRES: mu_ held.
  const proto::CheckpointMetadata* restore_point() const { return latest_.get(); }
  // Before a restart: picks the newest retained checkpoint whose _metadata
  // reads back whole (dropping damaged ones), and forgets what the failed
  // attempt's workers were told. An error (naming every damaged checkpoint)
  // when all retained ones are damaged: the job must not run on wrong state.
  // REQUIRES: mu_ held; nothing in flight.
  Status PrepareRestart();
  // A task could not restore checkpoint `id`: a later restart falls back to
  // an earlier one. REQUIRES: mu_ held.
  void MarkDamaged(int64_t id, const std::string& reason);

  // --- Periodic checkpoints ---
  // The job (re)started running: the first trigger is an interval away.
  // REQUIRES: mu_ held.
  void ScheduleFirstTrigger();
  // When the next periodic trigger is due (monotonic ms). REQUIRES: mu_ held.
  int64_t next_trigger_mono() const { return next_trigger_mono_; }
  // Aborts the checkpoints past checkpoint.timeout, triggers again those a
  // finished subtask may leave unstarted, and, if `job_running`, starts a new
  // one when due and allowed.
  // REQUIRES: mu_ held via `lock`; released around RPCs.
  void MaybeTrigger(bool job_running, std::unique_lock<std::mutex>& lock);
  // Sends the trigger again of one checkpoint a finished subtask may leave
  // unstarted; false if none needed it. For jobs without periodic
  // checkpoints, where MaybeTrigger is not called.
  // REQUIRES: mu_ held via `lock`; released around RPCs.
  bool RetriggerOne(std::unique_lock<std::mutex>& lock);
  // Tells every worker of the newest completion they have not heard of (sinks
  // publish on it; released shared files wait for it), backing off while one
  // misses it. REQUIRES: mu_ held via `lock`; released around RPCs.
  void SendNotifications(std::unique_lock<std::mutex>& lock);

  // --- Subtasks' news ---
  // A subtask stored (or declined) its part. REQUIRES: mu_ held.
  void Acknowledge(const proto::CheckpointAck& ack);
  // A subtask ended: unless it passed a pending checkpoint's barrier on
  // (then it acknowledges), that checkpoint records it as finished.
  // REQUIRES: mu_ held.
  void OnSubtaskFinished(int vertex, int subtask);
  // Subtasks can take part in a checkpoint: all running or finished, not all
  // finished. REQUIRES: mu_ held.
  bool CanCheckpoint() const;

  // --- Savepoints ---
  // While paused (counted: one per savepoint waiting) no periodic
  // checkpoint starts, so those in flight leave a gap. REQUIRES: mu_ held.
  void PauseTriggers() { ++paused_; }
  void ResumeTriggers() { --paused_; }
  // Starts savepoint `<directory>/savepoint-<job>-<id>`; returns its id.
  // The caller waits for SavepointResult(id).
  // REQUIRES: mu_ held via `lock`; released around RPCs. Nothing in flight.
  int64_t TriggerSavepoint(const std::string& directory, bool drain, std::unique_lock<std::mutex>& lock);
  // The path of savepoint `id`, or why it failed; null while in flight.
  // REQUIRES: mu_ held.
  const Result<std::string>* SavepointResult(int64_t id) const;

  // --- Aborting and ending ---
  // Checkpoints in flight. REQUIRES: mu_ held.
  size_t in_flight() const { return pending_.size(); }
  // Counted towards checkpoint.tolerable-failures. REQUIRES: mu_ held.
  void Abort(int64_t id, const std::string& why);
  // Every checkpoint in flight, not counted as failures (the job ends or
  // restarts). REQUIRES: mu_ held.
  void AbortAll(const std::string& why);
  // The job ended: no checkpoint will list a released file again, so they
  // all go. REQUIRES: mu_ held; nothing in flight.
  void OnJobEnded();

  // Completed, failed, in progress, last completion. REQUIRES: mu_ held.
  proto::CheckpointStats Stats() const;

 private:
  struct Pending {
    int64_t id = 0;
    int64_t timestamp_ms = 0;
    int64_t started_mono = 0;
    std::map<std::pair<int, int>, proto::TaskSnapshot> acks;  // (vertex, subtask)
    // Subtasks that ended before the barrier reached them: they take no
    // part and are restored as finished.
    std::set<std::pair<int, int>> finished;
    // Non-source subtasks told to start it (their producers all ended).
    std::set<std::pair<int, int>> started_directly;
    bool trigger_again = false;  // a subtask ended: more may have to start it
    int64_t base_id = 0;  // notified_id_ at its trigger: its uploads list no file released after that
    bool drain = false;          // stop --drain
    std::string savepoint_dir;  // non-empty: a savepoint, written there
  };
  // A subsumed checkpoint is no failure at all: neither counted nor in the
  // failed figure.
  enum class AbortKind { kFailed, kNotCounted, kSubsumed };

  // A new pending checkpoint with the subtasks already finished recorded.
  std::unique_ptr<Pending> NewPending(int64_t now);
  Pending* FindPending(int64_t id) const;
  // Sends the trigger of pending checkpoint `id` (lock released around RPCs).
  void SendTrigger(int64_t id, std::unique_lock<std::mutex>& lock);
  void AbortPending(int64_t id, const std::string& why, AbortKind kind);
  void MaybeComplete(int64_t id);
  void Complete(int64_t id);
  // Running subtasks that are no sources and whose producers have all ended.
  std::vector<std::pair<int, int>> OrphanedSubtasks() const;
  size_t SubtaskCount() const;
  // `released_by`: the completion that pushed it out (0: none, when
  // restoring; then nothing is in flight).
  void PopRetained(bool newest, int64_t released_by);
  // Incremental snapshots: a shared file goes when no retained checkpoint
  // lists it any more.
  void ReleaseSharedFiles(const std::vector<std::string>& files, int64_t released_by);
  // Deletes the released files no checkpoint in flight may list.
  void DeleteReleasedFiles();
  // Deletes the shared files of a snapshot that will never complete, unless
  // a retained checkpoint lists them.
  void DropUnreferencedFiles(const proto::TaskSnapshot& snapshot);

  const std::string job_id_;
  const proto::JobGraph& graph_;
  const CheckpointConfig config_;
  const std::vector<bool> source_vertex_;  // [vertex]
  CheckpointedJob* const job_;
  TaskGateway* const gateway_;
  const Clock* const clock_;
  Logger log_;
  std::condition_variable* const changed_;

  int64_t next_checkpoint_id_ = 1;
  int64_t next_trigger_mono_ = 0;
  // Checkpoints in flight, by id: at most checkpoint.max-concurrent, and a
  // savepoint only alone.
  std::map<int64_t, std::unique_ptr<Pending>> pending_;
  std::map<int64_t, Result<std::string>> savepoints_;  // id -> path, or why it failed
  int paused_ = 0;  // savepoint requests waiting for pending_ to empty: nothing new starts
  std::unique_ptr<proto::CheckpointMetadata> latest_;  // what the next attempt restores
  std::deque<std::string> retained_;                   // completed checkpoints' directories, oldest first
  std::deque<std::vector<std::string>> retained_shared_;  // per retained checkpoint: the shared files it lists
  std::map<std::string, int> shared_refs_;             // shared file -> retained checkpoints listing it
  int64_t bad_checkpoint_ = 0;  // found damaged when restoring: never used again
  std::string bad_checkpoint_reason_;
  int consecutive_failures_ = 0;  // failed checkpoints since the last completed one
  int64_t notify_id_ = 0;          // the newest completion, to tell the workers
  int64_t notified_id_ = 0;        // the newest completion every worker of the job was told of
  int64_t notify_retry_mono_ = 0;  // a worker missed a notification: when to tell them again
  int notify_failures_ = 0;        // notifications in a row that some worker missed
  // Shared files no retained checkpoint lists any more, each with the
  // completion that released it. Uploads reuse the files of the newest
  // checkpoint a worker was told completed, so a checkpoint triggered
  // before every worker knew of that completion may still list one: it
  // is deleted only once no such checkpoint is in flight.
  std::map<std::string, int64_t> released_;
  proto::CheckpointStats stats_;
};

}  // namespace sluice
