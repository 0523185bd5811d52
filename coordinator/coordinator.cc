#include "coordinator/coordinator.h"

#include <algorithm>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <set>
#include <tuple>

#include "common/catalog/graph_schema.h"
#include "common/config.h"
#include "coordinator/checkpoint_storage.h"
#include "coordinator/job_graph_validator.h"
#include "coordinator/job_state.h"
#include "coordinator/slot_assignment.h"

namespace sluice {

Coordinator::Coordinator(CoordinatorOptions options, std::unique_ptr<TaskGateway> gateway,
                         const Clock* clock, Logger logger)
    : options_(options), gateway_(std::move(gateway)), clock_(clock), log_(std::move(logger)) {}

Coordinator::~Coordinator() { Stop(); }

void Coordinator::Start() {
  orphan_canceller_ = std::thread([this] { RunOrphanCanceller(); });
  monitor_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    int64_t period = std::max<int64_t>(10, std::min<int64_t>(options_.heartbeat_timeout_ms / 10, 200));
    while (!stopping_) {
      changed_.wait_for(lock, std::chrono::milliseconds(period));
      if (stopping_) break;
      lock.unlock();
      CheckHeartbeats();
      ForgetOldJobs();
      ReturnFreedMemory();
      lock.lock();
    }
  });
}

void Coordinator::Stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;  // drivers cancel their jobs and return; the monitor ends
    for (auto& [id, job] : jobs_) {
      if (job->driver.joinable()) threads.push_back(std::move(job->driver));
    }
    for (auto& t : finished_drivers_) threads.push_back(std::move(t));
    finished_drivers_.clear();
  }
  changed_.notify_all();
  if (monitor_.joinable()) monitor_.join();
  if (orphan_canceller_.joinable()) orphan_canceller_.join();
  for (auto& t : threads) t.join();
}

// ---------------------------------------------------------------- jobs ----

// The job's tasks as its CheckpointCoordinator sees them; answered under mu_,
// which every CheckpointCoordinator method is called with.
class Coordinator::JobTasks final : public CheckpointedJob {
 public:
  JobTasks(Coordinator* coordinator, Job* job) : coordinator_(coordinator), job_(job) {}
  int64_t attempt() const override { return job_->attempt; }
  proto::TaskState StateOf(int vertex, int subtask) const override { return job_->subtasks[vertex][subtask].state; }
  int64_t LastBarrierId(int vertex, int subtask) const override {
    return job_->subtasks[vertex][subtask].metrics.last_barrier_id();
  }
  std::string TaskAddress(int vertex, int subtask) const override {
    auto w = coordinator_->workers_.find(job_->subtasks[vertex][subtask].worker_id);
    return w == coordinator_->workers_.end() ? "" : w->second.info.rpc_address();
  }
  std::set<std::string> SlotAddresses() const override {
    std::set<std::string> addresses;
    for (const auto& worker_id : job_->slot_workers) {
      auto w = coordinator_->workers_.find(worker_id);
      if (w != coordinator_->workers_.end()) addresses.insert(w->second.info.rpc_address());
    }
    return addresses;
  }
  void Fail(const std::string& reason) override { coordinator_->FailJob(job_, reason); }

 private:
  Coordinator* const coordinator_;
  Job* const job_;
};

Coordinator::Job::Job() = default;
Coordinator::Job::~Job() = default;

Result<std::string> Coordinator::SubmitJob(proto::JobGraph graph, const std::string& restore_path) {
  Result<std::string> id = Submit(std::move(graph), restore_path);
  if (!id.ok()) last_refusal_mono_.store(clock_->MonotonicMillis());
  return id;
}

Result<std::string> Coordinator::Submit(proto::JobGraph graph, const std::string& restore_path) {
  // The bounds first, so that nothing below spends time or memory on an
  // abusive graph; then the config, before its values are read.
  SLUICE_RETURN_IF_ERROR(CheckJobLimits(graph, options_.limits));
  if (restore_path.size() > options_.limits.max_config_value_bytes) {
    return Status::InvalidArgument("the restore path is " + std::to_string(restore_path.size()) +
                                   " bytes; the limit is " + std::to_string(options_.limits.max_config_value_bytes));
  }
  SLUICE_RETURN_IF_ERROR(ValidateJobConfig(graph));
  OperatorCatalog catalog = OperatorCatalog::Builtin();
  SLUICE_RETURN_IF_ERROR(ValidateJobGraph(catalog, options_.max_parallelism, &graph));
  if (restore_path.empty()) SLUICE_RETURN_IF_ERROR(CheckSinkDirectories(graph));
  std::unique_ptr<proto::CheckpointMetadata> restore;
  if (!restore_path.empty()) {
    auto metadata = ReadCheckpointMetadata(restore_path);
    if (!metadata.ok()) return metadata.status();
    SLUICE_RETURN_IF_ERROR(CheckRestorable(*metadata, graph, options_.max_parallelism)
                               .WithPrefix("cannot start from " + restore_path));
    restore = std::make_unique<proto::CheckpointMetadata>(std::move(*metadata));
  }

  std::vector<std::thread> ended;
  // Joined after the lock is released: a pruned job's driver has finished
  // its work and is only returning, but it needs mu_ to get there.
  struct JoinOnExit {
    std::vector<std::thread>* threads;
    ~JoinOnExit() {
      for (auto& t : *threads) t.join();
    }
  } join_on_exit{&ended};
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Status::Unavailable("the coordinator is shutting down");
  std::map<std::string, std::string> config(graph.config().begin(), graph.config().end());
  SLUICE_ASSIGN_OR_RETURN(CheckpointConfig checkpoint, ParseCheckpointConfig(config));
  SLUICE_ASSIGN_OR_RETURN(RestartStrategy restart, ParseRestartStrategy(config, checkpoint.enabled()));
  auto job = std::make_unique<Job>();
  job->restart = restart;
  std::vector<bool> source_vertex;
  for (const auto& v : graph.vertices()) {
    const OperatorSignature* sig = catalog.Find(v.operators(0).type());
    source_vertex.push_back(sig != nullptr && sig->role == OperatorRole::kSource);
  }
  job->id = ids_.NextHex(16);
  job->graph = std::move(graph);
  job->tasks = std::make_unique<JobTasks>(this, job.get());
  job->checkpoints = std::make_unique<CheckpointCoordinator>(job->id, job->graph, checkpoint, std::move(source_vertex),
                                                             job->tasks.get(), gateway_.get(), clock_, log_, &changed_);
  if (restore) job->checkpoints->StartFrom(std::move(restore));
  job->submit_time_ms = clock_->NowMillis();
  for (const auto& v : job->graph.vertices()) {
    job->slots_needed = std::max(job->slots_needed, v.parallelism());
    job->subtasks.emplace_back(v.parallelism());
  }
  Job* raw = job.get();
  std::string id = job->id;
  log_->info("job {} '{}' submitted: {} vertices, needs {} slots", id, job->graph.name(),
             job->graph.vertices_size(), job->slots_needed);
  raw->seq = next_job_seq_++;
  job_order_[raw->seq] = id;
  jobs_[id] = std::move(job);
  raw->driver = std::thread([this, raw] { DriveJob(raw); });
  PruneFinishedJobs();
  ended.swap(finished_drivers_);
  return id;
}

void Coordinator::PruneFinishedJobs() {
  std::vector<std::pair<int64_t, uint64_t>> finished;  // (end, seq): the oldest first
  for (const auto& [seq, id] : job_order_) {
    const Job& job = *jobs_.at(id);
    if (IsTerminal(job.state)) finished.emplace_back(job.end_mono, seq);
  }
  std::sort(finished.begin(), finished.end());
  const int64_t now = clock_->MonotonicMillis();
  for (size_t i = 0; i < finished.size(); ++i) {
    const bool too_many = finished.size() - i > options_.jobs_retained;
    const bool too_old = options_.jobs_retained_age_ms > 0 && now - finished[i].first > options_.jobs_retained_age_ms;
    if (!too_many && !too_old) break;
    const std::string id = job_order_.at(finished[i].second);
    auto& job = jobs_.at(id);
    // Its driver has done all its work under mu_; it only has to return.
    if (job->driver.joinable()) finished_drivers_.push_back(std::move(job->driver));
    log_->debug("job {} forgotten ({})", id, too_many ? "jobs.retained" : "jobs.retained-age");
    jobs_.erase(id);
    job_order_.erase(finished[i].second);
  }
}

void Coordinator::ReturnFreedMemory() {
#ifdef __GLIBC__
  // A flood of refused submissions (each up to gRPC's 4 MiB, on as many
  // threads as calls) leaves glibc's per-thread arenas full of free memory
  // it keeps for later: without a trim the process stays several times its
  // size for good. Trimmed about once a second while refusals come, and a
  // little after, when the last requests' buffers have been freed.
  const int64_t now = clock_->MonotonicMillis();
  if (now - last_refusal_mono_.load() > 3000 || now - last_trim_mono_ < 1000) return;
  last_trim_mono_ = now;
  malloc_trim(0);
#endif
}

void Coordinator::ForgetOldJobs() {
  std::vector<std::thread> ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;  // Stop() joins the drivers
    PruneFinishedJobs();
    ended.swap(finished_drivers_);
  }
  for (auto& t : ended) t.join();
}

void Coordinator::Transition(Job* job, proto::JobState to) {
  Status allowed = CheckTransition(job->state, to);
  if (!allowed.ok()) {
    log_->error("job {}: {}", job->id, allowed.message());
    return;
  }
  log_->info("job {} {} -> {}{}", job->id, JobStateName(job->state), JobStateName(to),
             job->failure.empty() || to != proto::FAILED ? "" : ": " + job->failure);
  job->state = to;
  if (to == proto::RUNNING) job->start_time_ms = clock_->NowMillis();
  if (IsTerminal(to)) {
    job->end_time_ms = clock_->NowMillis();
    job->end_mono = clock_->MonotonicMillis();
  }
  changed_.notify_all();
}

void Coordinator::FailJob(Job* job, const std::string& reason) {
  if (job->failure.empty()) job->failure = reason;
  changed_.notify_all();
}

bool Coordinator::AllSubtasks(const Job& job, bool (*pred)(proto::TaskState)) const {
  for (const auto& vertex : job.subtasks) {
    for (const auto& s : vertex) {
      if (!pred(s.state)) return false;
    }
  }
  return true;
}

void Coordinator::DriveJob(Job* job) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!AcquireSlots(job, lock)) {
    ReleaseSlots(job);
    return;
  }
  Status deployed = DeployAll(job, lock);
  if (!deployed.ok()) FailJob(job, deployed.message());
  job->checkpoints->ScheduleFirstTrigger();
  if (job->failure.empty() && !job->cancel_requested && !stopping_) Transition(job, proto::RUNNING);

  while (true) {
    if (!job->failure.empty()) {
      Transition(job, proto::FAILING);
      job->checkpoints->AbortAll("the job is failing");
      CancelTasksAndWait(job, lock);
      if (!job->cancel_requested && !stopping_ && Restart(job, lock)) continue;
      if (job->state == proto::FAILING) Transition(job, proto::FAILED);
      break;
    }
    if (job->cancel_requested || stopping_) {
      Transition(job, proto::CANCELLING);
      // Before the end-of-job cleanup below deletes released files: a late
      // acknowledgement must not complete a checkpoint that lists one.
      job->checkpoints->AbortAll("the job is cancelled");
      CancelTasksAndWait(job, lock);
      Transition(job, proto::CANCELED);
      break;
    }
    if (AllSubtasks(*job, [](proto::TaskState s) { return s == proto::TASK_FINISHED; })) {
      job->checkpoints->AbortAll("the job finished");
      Transition(job, proto::FINISHED);
      break;
    }
    if (job->checkpoints->config().enabled()) {
      job->checkpoints->SendNotifications(lock);
      job->checkpoints->MaybeTrigger(job->state == proto::RUNNING, lock);
      if (!job->failure.empty() || job->cancel_requested || stopping_) continue;
      int64_t wait = job->checkpoints->next_trigger_mono() - clock_->MonotonicMillis();
      // Overdue yet not triggered: as many in flight as allowed; a
      // completion wakes this loop at once.
      if (wait <= 0) wait = 100;
      if (job->checkpoints->in_flight() > 0) wait = std::min<int64_t>(wait, 100);  // to notice a timeout
      changed_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(wait, 1000)));
    } else {
      // A savepoint without periodic checkpoints: a subtask that ended may
      // leave consumers that must start it themselves.
      if (!job->checkpoints->RetriggerOne(lock)) changed_.wait(lock);
    }
  }
  job->checkpoints->OnJobEnded();
  ReleaseSlots(job);
}

// The job's tasks are all cancelled. Under its restart strategy it waits,
// then runs again on whatever slots there are, from the latest completed
// checkpoint (or from the start without one).
bool Coordinator::Restart(Job* job, std::unique_lock<std::mutex>& lock) {
  if (job->last_restart_mono > 0 && clock_->MonotonicMillis() - job->last_restart_mono > job->restart.reset_ms &&
      job->restart.kind == RestartStrategy::Kind::kExponentialDelay) {
    job->backoff_restarts = 0;  // it ran long enough: the backoff starts over
  }
  auto delay = job->restart.DelayBefore(job->restart.kind == RestartStrategy::Kind::kExponentialDelay
                                            ? job->backoff_restarts + 1
                                            : job->restarts + 1);
  if (!delay) {
    if (job->restart.kind != RestartStrategy::Kind::kNone) {
      job->failure += " (no restart left: " + job->restart.ToString() + ", " + std::to_string(job->restarts) +
                      " restarts so far)";
    }
    return false;
  }
  ++job->restarts;
  ++job->backoff_restarts;
  job->last_restart_mono = clock_->MonotonicMillis();
  log_->warn("job {}: restart {} of {} in {} ms after: {}", job->id, job->restarts, job->restart.attempts, *delay,
             job->failure);
  Transition(job, proto::RESTARTING);
  ReleaseSlots(job);
  const int64_t until = clock_->MonotonicMillis() + *delay;
  while (!job->cancel_requested && !stopping_ && clock_->MonotonicMillis() < until) {
    changed_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(until - clock_->MonotonicMillis(), 100)));
  }
  if (job->cancel_requested || stopping_) {
    Transition(job, proto::CANCELLING);
    Transition(job, proto::CANCELED);
    return false;
  }
  Status restorable = job->checkpoints->PrepareRestart();
  if (!restorable.ok()) {
    job->failure = restorable.message();
    Transition(job, proto::FAILED);
    return false;
  }
  job->failure.clear();
  job->cancelling_tasks = false;
  for (auto& vertex : job->subtasks) {
    for (auto& s : vertex) s = Subtask{};
  }
  if (!AcquireSlots(job, lock)) return false;  // it ended the job
  Status deployed = DeployAll(job, lock);
  if (!deployed.ok()) {
    // A task that cannot read its state marks the checkpoint damaged: the
    // next restart falls back to an earlier one.
    const proto::CheckpointMetadata* restored = job->checkpoints->restore_point();
    if (restored != nullptr && deployed.message().find("restoring checkpoint") != std::string::npos) {
      job->checkpoints->MarkDamaged(restored->checkpoint_id(), deployed.message());
    }
    FailJob(job, deployed.message());
    return true;  // the loop fails, or restarts, it
  }
  job->checkpoints->ScheduleFirstTrigger();
  if (job->failure.empty() && !job->cancel_requested && !stopping_) Transition(job, proto::RUNNING);
  return true;
}

Result<std::string> Coordinator::TriggerSavepoint(const std::string& job_id, const std::string& requested_dir,
                                                  bool stop, bool drain) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return Status::NotFound("no job with id '" + job_id + "'");
  Job* job = it->second.get();
  std::string directory = requested_dir;
  if (directory.empty()) {
    auto configured = job->graph.config().find("savepoint.dir");
    if (configured == job->graph.config().end() || configured->second.empty()) {
      return Status::InvalidArgument("no savepoint directory given, and the job sets no savepoint.dir");
    }
    directory = configured->second;
  }
  if (directory[0] != '/') {
    return Status::InvalidArgument("savepoint directory '" + directory + "' must be an absolute path");
  }
  auto ready = [&]() -> Status {
    if (job->state != proto::RUNNING) {
      return Status::FailedPrecondition("job " + job_id + " is " + JobStateName(job->state) + ", not RUNNING");
    }
    if (!job->checkpoints->CanCheckpoint()) {
      return Status::FailedPrecondition("job " + job_id + " has tasks that are not running yet, or none running");
    }
    return Status::Ok();
  };
  SLUICE_RETURN_IF_ERROR(ready());
  // A savepoint runs alone: the checkpoints in flight go first.
  // Nothing new starts meanwhile, or overlapping checkpoints would never
  // leave a gap.
  const int64_t deadline = clock_->MonotonicMillis() + job->checkpoints->config().timeout_ms;
  // A job that ended may be pruned by a submission while this waits: it is
  // looked up again after each wait.
  auto still_there = [&] {
    auto again = jobs_.find(job_id);
    return again != jobs_.end() && again->second.get() == job;
  };
  job->checkpoints->PauseTriggers();
  while (job->checkpoints->in_flight() > 0 && clock_->MonotonicMillis() < deadline) {
    changed_.wait_for(lock, std::chrono::milliseconds(50));
    if (!still_there()) return Status::Unavailable("job " + job_id + " ended before its savepoint could start");
  }
  job->checkpoints->ResumeTriggers();
  if (job->checkpoints->in_flight() > 0) {
    return Status::DeadlineExceeded("a checkpoint of job " + job_id + " is still in flight");
  }
  SLUICE_RETURN_IF_ERROR(ready());
  const int64_t id = job->checkpoints->TriggerSavepoint(directory, drain, lock);
  if (!still_there()) return Status::Unavailable("job " + job_id + " ended during savepoint " + std::to_string(id));
  const int64_t until = clock_->MonotonicMillis() + job->checkpoints->config().timeout_ms;
  while (job->checkpoints->SavepointResult(id) == nullptr && !IsTerminal(job->state) &&
         clock_->MonotonicMillis() < until) {
    changed_.wait_for(lock, std::chrono::milliseconds(50));
    if (!still_there()) return Status::Unavailable("job " + job_id + " ended during savepoint " + std::to_string(id));
  }
  const Result<std::string>* result = job->checkpoints->SavepointResult(id);
  if (result == nullptr) {
    job->checkpoints->Abort(id, "the job ended or the savepoint timed out");
    return Status::Unavailable("savepoint " + std::to_string(id) + " of job " + job_id + " did not complete");
  }
  Result<std::string> path = *result;
  if (path.ok() && stop && !drain) {
    job->cancel_requested = true;
    changed_.notify_all();
  }
  return path;
}

void Coordinator::AcknowledgeCheckpoint(const proto::CheckpointAck& ack) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(ack.task().job_id());
  if (it == jobs_.end()) return;
  it->second->checkpoints->Acknowledge(ack);
}

bool Coordinator::AcquireSlots(Job* job, std::unique_lock<std::mutex>& lock) {
  int64_t deadline = clock_->MonotonicMillis() + options_.slot_request_timeout_ms;
  const int64_t since_ms = clock_->NowMillis();
  while (true) {
    if (job->cancel_requested || stopping_) {
      job->slot_wait.Clear();
      Transition(job, proto::CANCELED);
      return false;
    }
    std::vector<WorkerFreeSlots> free;
    for (const auto& [id, w] : workers_) {
      free.push_back({id, w.info.slots_free(), w.info.slots_total()});
    }
    auto slots = AssignSlots(free, job->slots_needed);
    job->slot_wait.Clear();
    if (slots.ok()) {
      job->slot_workers = *slots;
      for (const auto& worker_id : job->slot_workers) {
        Worker& w = workers_[worker_id];
        w.info.set_slots_free(w.info.slots_free() - 1);
        ++w.slots_by_job[job->id];
      }
      return true;
    }
    int64_t now = clock_->MonotonicMillis();
    // What `sluice status` shows while the job waits.
    job->slot_wait.set_slots_needed(job->slots_needed);
    for (const auto& w : free) {
      job->slot_wait.set_slots_free(job->slot_wait.slots_free() + w.free_slots);
      job->slot_wait.set_slots_total(job->slot_wait.slots_total() + w.total_slots);
    }
    job->slot_wait.set_workers(static_cast<int32_t>(free.size()));
    job->slot_wait.set_since_ms(since_ms);
    job->slot_wait.set_timeout_ms(options_.slot_request_timeout_ms);
    if (now >= deadline) {
      job->slot_wait.Clear();
      job->failure = "could not get enough slots within slot.request-timeout (" +
                     std::to_string(options_.slot_request_timeout_ms) + " ms): " +
                     slots.status().message();
      Transition(job, proto::FAILED);
      return false;
    }
    changed_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(deadline - now, 100)));
  }
}

Status Coordinator::DeployAll(Job* job, std::unique_lock<std::mutex>& lock) {
  struct Deployment {
    std::string address, worker_id;
    proto::DeployTaskRequest request;
  };
  std::vector<Deployment> deployments;
  ++job->attempt;
  const proto::JobGraph& graph = job->graph;
  std::map<std::string, int> vertex_index;
  for (int v = 0; v < graph.vertices_size(); ++v) vertex_index[graph.vertices(v).id()] = v;
  // Slot sharing: subtask i of every vertex sits in slot i.
  for (int v = 0; v < graph.vertices_size(); ++v) {
    for (int i = 0; i < graph.vertices(v).parallelism(); ++i) job->subtasks[v][i].worker_id = job->slot_workers[i];
  }
  for (int v = 0; v < job->graph.vertices_size(); ++v) {
    const auto& vertex = job->graph.vertices(v);
    for (int i = 0; i < vertex.parallelism(); ++i) {
      Subtask& s = job->subtasks[v][i];
      s.state = proto::DEPLOYING;
      Deployment d;
      d.worker_id = s.worker_id;
      d.address = workers_[s.worker_id].info.rpc_address();
      auto* task = d.request.mutable_task();
      task->set_job_id(job->id);
      task->set_vertex_id(vertex.id());
      task->set_subtask(i);
      task->set_attempt(job->attempt);
      *d.request.mutable_vertex() = vertex;
      d.request.set_max_parallelism(job->graph.max_parallelism());
      *d.request.mutable_job_config() = job->graph.config();
      d.request.set_job_name(job->graph.name());
      if (const proto::CheckpointMetadata* latest = job->checkpoints->restore_point()) {
        // Every subtask's snapshots of this vertex: each keeps the key
        // groups it owns. A source gets its own subtask's position.
        proto::TaskRestore* restore = d.request.mutable_restore();
        restore->set_checkpoint_id(latest->checkpoint_id());
        std::set<std::string> ops;
        for (const auto& op : vertex.operators()) ops.insert(op.id());
        std::vector<std::string> positions;
        int old_subtasks = 0, old_finished = 0;
        // The parallelism it was taken at: a finished subtask has no
        // position, so the positions' count does not tell.
        int old_parallelism = 0;
        for (const auto& v : latest->graph().vertices()) {
          if (v.id() == vertex.id()) old_parallelism = v.parallelism();
        }
        restore->set_same_key_groups(old_parallelism == vertex.parallelism());
        for (const auto& t : latest->tasks()) {
          // At an unchanged parallelism a subtask's key groups are those its
          // namesake had: only that snapshot holds entries for it.
          const bool own = old_parallelism != vertex.parallelism() || t.vertex_id() != vertex.id() || t.subtask() == i;
          for (const auto& o : t.operators()) {
            if (own && ops.count(o.operator_id())) *restore->add_files() = o;
          }
          if (t.vertex_id() != vertex.id()) continue;
          ++old_subtasks;
          old_finished += t.finished() ? 1 : 0;
          // In-flight data and a finished end only fit the same subtask
          // (CheckRestorable refuses to rescale such a checkpoint).
          if (t.subtask() == i) {
            restore->set_channel_state(t.channel_state());
            restore->set_finished(t.finished());
          }
          if (t.source_position().empty()) continue;
          if (positions.size() <= static_cast<size_t>(t.subtask())) positions.resize(t.subtask() + 1);
          positions[t.subtask()] = t.source_position();
        }
        if (old_subtasks > 0 && old_finished == old_subtasks) restore->set_finished(true);
        if (old_parallelism == vertex.parallelism()) {
          if (static_cast<size_t>(i) < positions.size()) restore->set_source_position(positions[i]);
        } else if (!positions.empty()) {
          positions.resize(static_cast<size_t>(old_parallelism));
          for (const auto& p : positions) restore->add_source_positions(p);  // the parallelism changed
        }
      }
      // Outputs, numbered in edge order; inputs name the producer's number.
      for (const auto& e : graph.edges()) {
        if (e.source() != vertex.id()) continue;
        const auto& consumer = graph.vertices(vertex_index[e.target()]);
        auto* out = d.request.add_outputs();
        out->set_consumer_vertex(e.target());
        out->set_partitioning(e.partitioning());
        for (const auto& key : e.key_fields()) {
          for (int f = 0; f < vertex.output_schema().fields_size(); ++f) {
            if (vertex.output_schema().fields(f).name() == key) out->add_key_field_indices(f);
          }
        }
        out->set_num_subpartitions(e.partitioning() == proto::FORWARD ? 1 : consumer.parallelism());
      }
      int input_index = 0;
      for (const auto& e : graph.edges()) {
        if (e.target() != vertex.id()) continue;
        int u = vertex_index[e.source()];
        const auto& producer = graph.vertices(u);
        if (input_index == 0) *d.request.mutable_input_schema() = producer.output_schema();
        auto* in = d.request.add_inputs();
        in->set_input_index(input_index++);
        *in->mutable_schema() = producer.output_schema();
        in->set_producer_vertex(e.source());
        int output_index = 0;
        for (const auto& other : graph.edges()) {
          if (&other == &e) break;
          if (other.source() == e.source()) ++output_index;
        }
        in->set_output_index(output_index);
        bool forward = e.partitioning() == proto::FORWARD;
        for (int j = 0; j < producer.parallelism(); ++j) {
          if (forward && j != i) continue;
          const std::string& producer_worker = job->subtasks[u][j].worker_id;
          auto* ch = in->add_channels();
          ch->set_producer_subtask(j);
          ch->set_producer_worker_id(producer_worker);
          ch->set_producer_data_address(workers_[producer_worker].info.data_address());
          ch->set_local(producer_worker == s.worker_id);
          ch->set_subpartition(forward ? 0 : i);
        }
      }
      deployments.push_back(std::move(d));
    }
  }
  lock.unlock();
  Status result;
  size_t deployed = 0;
  for (; deployed < deployments.size(); ++deployed) {
    const Deployment& d = deployments[deployed];
    Status s = gateway_->DeployTask(d.address, d.request);
    if (!s.ok()) {
      result = Status(s.code(), "deploying subtask " + std::to_string(d.request.task().subtask()) +
                                    " of vertex '" + d.request.task().vertex_id() + "' on worker " +
                                    d.worker_id + " failed: " + s.message());
      break;
    }
  }
  lock.lock();
  const int64_t now = clock_->MonotonicMillis();
  for (size_t i = 0; i < deployed; ++i) {
    const proto::TaskId& t = deployments[i].request.task();
    for (int v = 0; v < job->graph.vertices_size(); ++v) {
      if (job->graph.vertices(v).id() == t.vertex_id()) job->subtasks[v][t.subtask()].deployed_mono = now;
    }
  }
  // The failed deployment and those never attempted have no task to cancel.
  for (size_t i = deployed; i < deployments.size(); ++i) {
    const proto::TaskId& t = deployments[i].request.task();
    for (int v = 0; v < job->graph.vertices_size(); ++v) {
      if (job->graph.vertices(v).id() != t.vertex_id()) continue;
      Subtask& s = job->subtasks[v][t.subtask()];
      if (i == deployed) {
        s.state = proto::TASK_FAILED;
        s.failure = result.message();
      } else if (!IsTerminalTask(s.state)) {
        s.state = proto::TASK_CANCELED;
      }
    }
  }
  return result;
}

void Coordinator::CancelTasksAndWait(Job* job, std::unique_lock<std::mutex>& lock) {
  job->cancelling_tasks = true;
  std::map<std::string, std::string> targets;  // worker id -> address
  // Every worker that held a slot is told, even where all its subtasks have
  // ended: a finished producer's partitions still hold network buffers there
  // until their consumers are done, and only the cancel releases them.
  for (const auto& worker_id : job->slot_workers) {
    auto w = workers_.find(worker_id);
    if (w != workers_.end()) targets[worker_id] = w->second.info.rpc_address();
  }
  for (auto& vertex : job->subtasks) {
    for (auto& s : vertex) {
      if (s.state == proto::SCHEDULED) s.state = proto::TASK_CANCELED;
      if (IsTerminalTask(s.state)) continue;
      auto w = workers_.find(s.worker_id);
      if (w == workers_.end()) {
        s.state = proto::TASK_FAILED;  // its worker is gone, and the task with it
        continue;
      }
      targets[s.worker_id] = w->second.info.rpc_address();
    }
  }
  lock.unlock();
  for (const auto& [worker_id, address] : targets) {
    Status s = gateway_->CancelJobTasks(address, job->id);
    if (!s.ok()) log_->warn("job {}: cancelling tasks on worker {}: {}", job->id, worker_id, s.message());
  }
  lock.lock();
  int64_t deadline = clock_->MonotonicMillis() + options_.cancel_timeout_ms;
  while (!AllSubtasks(*job, IsTerminalTask)) {
    int64_t now = clock_->MonotonicMillis();
    if (now >= deadline) {
      log_->warn("job {}: tasks did not confirm cancellation within {} ms", job->id,
                 options_.cancel_timeout_ms);
      for (auto& vertex : job->subtasks) {
        for (auto& s : vertex) {
          if (!IsTerminalTask(s.state)) s.state = proto::TASK_CANCELED;
        }
      }
      break;
    }
    changed_.wait_for(lock, std::chrono::milliseconds(std::min<int64_t>(deadline - now, 100)));
  }
}

void Coordinator::ReleaseSlots(Job* job) {
  for (auto& [id, w] : workers_) {
    auto it = w.slots_by_job.find(job->id);
    if (it == w.slots_by_job.end()) continue;
    w.info.set_slots_free(w.info.slots_free() + it->second);
    w.slots_by_job.erase(it);
  }
  job->slot_workers.clear();
  changed_.notify_all();
}

std::vector<proto::JobStatus> Coordinator::ListJobs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<proto::JobStatus> out;
  for (const auto& [seq, id] : job_order_) out.push_back(StatusOf(*jobs_.at(id), false));
  return out;
}

Result<proto::ListJobsResponse> Coordinator::ListJobs(int page_size, const std::string& page_token) const {
  if (page_size < 0) return Status::InvalidArgument("page_size " + std::to_string(page_size) + " is negative");
  if (page_size == 0) page_size = options_.list_page_default;
  page_size = std::min(page_size, options_.list_page_max);
  uint64_t after = 0;  // the token is the seq of the last job of the page before
  if (!page_token.empty()) {
    auto parsed = page_token.size() > 20 ? Result<int64_t>(Status::InvalidArgument("")) : ParseInt(page_token);
    if (!parsed.ok() || *parsed < 0) {
      return Status::InvalidArgument("page_token is not one this coordinator gave out");
    }
    after = static_cast<uint64_t>(*parsed);
  }
  std::lock_guard<std::mutex> lock(mu_);
  proto::ListJobsResponse response;
  size_t bytes = 0;
  for (auto it = job_order_.upper_bound(after); it != job_order_.end(); ++it) {
    if (response.jobs_size() >= page_size || bytes >= options_.list_page_max_bytes) {
      response.set_next_page_token(std::to_string(std::prev(it)->first));
      break;
    }
    proto::JobStatus* status = response.add_jobs();
    *status = StatusOf(*jobs_.at(it->second), false);
    bytes += status->ByteSizeLong();
  }
  return response;
}

Result<proto::JobStatus> Coordinator::GetJob(const std::string& job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return Status::NotFound("no job with id '" + job_id + "'");
  return StatusOf(*it->second, true);
}

Result<proto::JobState> Coordinator::CancelJob(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return Status::NotFound("no job with id '" + job_id + "'");
  Job* job = it->second.get();
  if (IsTerminal(job->state)) {
    return Status::FailedPrecondition("job " + job_id + " is already " + JobStateName(job->state));
  }
  job->cancel_requested = true;
  log_->info("job {}: cancel requested", job_id);
  changed_.notify_all();
  return job->state;
}

proto::JobStatus Coordinator::StatusOf(const Job& job, bool with_vertices) const {
  proto::JobStatus st;
  st.set_job_id(job.id);
  st.set_name(job.graph.name());
  st.set_state(job.state);
  st.set_submit_time_ms(job.submit_time_ms);
  st.set_start_time_ms(job.start_time_ms);
  st.set_end_time_ms(job.end_time_ms);
  st.set_failure(job.failure);
  *st.mutable_checkpoints() = job.checkpoints->Stats();
  st.set_restarts(job.restarts);
  if (job.slot_wait.slots_needed() > 0) *st.mutable_waiting_for_slots() = job.slot_wait;
  if (!with_vertices) return st;
  for (int v = 0; v < job.graph.vertices_size(); ++v) {
    const auto& vertex = job.graph.vertices(v);
    auto* vs = st.add_vertices();
    vs->set_id(vertex.id());
    std::string ops;
    for (const auto& op : vertex.operators()) ops += (ops.empty() ? "" : " -> ") + op.id();
    vs->set_operators(ops);
    vs->set_parallelism(vertex.parallelism());
    for (int i = 0; i < vertex.parallelism(); ++i) {
      const Subtask& s = job.subtasks[v][i];
      auto* ss = vs->add_subtasks();
      ss->set_index(i);
      ss->set_worker_id(s.worker_id);
      auto w = workers_.find(s.worker_id);
      if (w != workers_.end()) ss->set_worker_address(w->second.info.rpc_address());
      ss->set_state(s.state);
      *ss->mutable_metrics() = s.metrics;
      ss->set_failure(s.failure);
    }
  }
  return st;
}

// ------------------------------------------------------------- workers ----

std::vector<proto::WorkerInfo> Coordinator::ListWorkers() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<proto::WorkerInfo> out;
  for (const auto& [id, w] : workers_) out.push_back(w.info);
  return out;
}

Result<proto::RegisterWorkerResponse> Coordinator::RegisterWorker(
    const proto::RegisterWorkerRequest& request) {
  if (request.slots() < 1) return Status::InvalidArgument("a worker must offer at least one slot");
  if (request.rpc_address().empty()) return Status::InvalidArgument("a worker must give its rpc address");
  std::string stale;
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A worker that registers again from the same address was restarted:
    // the old registration is dead even if its heartbeats have not timed out.
    for (const auto& [wid, w] : workers_) {
      if (w.info.rpc_address() == request.rpc_address()) stale = wid;
    }
    id = "worker-" + std::to_string(next_worker_number_++) + "-" + ids_.NextHex(4);
  }
  if (!stale.empty()) MarkWorkerLost(stale, "it registered again from " + request.rpc_address());
  std::lock_guard<std::mutex> lock(mu_);
  Worker w;
  w.info.set_worker_id(id);
  w.info.set_rpc_address(request.rpc_address());
  w.info.set_data_address(request.data_address());
  w.info.set_slots_total(request.slots());
  w.info.set_slots_free(request.slots());
  w.info.set_registered_ms(clock_->NowMillis());
  w.info.set_last_heartbeat_ms(clock_->NowMillis());
  w.last_heartbeat_mono = clock_->MonotonicMillis();
  workers_[id] = std::move(w);
  log_->info("worker {} registered: rpc {}, data {}, {} slots (host {}, pid {})", id,
             request.rpc_address(), request.data_address(), request.slots(), request.hostname(),
             request.pid());
  changed_.notify_all();
  proto::RegisterWorkerResponse response;
  response.set_worker_id(id);
  response.set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  return response;
}

bool Coordinator::OnHeartbeat(const proto::Heartbeat& heartbeat) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = workers_.find(heartbeat.worker_id());
  if (it == workers_.end()) return false;
  it->second.last_heartbeat_mono = clock_->MonotonicMillis();
  it->second.info.set_last_heartbeat_ms(clock_->NowMillis());
  it->second.info.set_running_tasks(heartbeat.running_tasks());
  it->second.info.set_network_buffers_total(heartbeat.network_buffers_total());
  it->second.info.set_network_buffers_free(heartbeat.network_buffers_free());
  ReconcileTasks(heartbeat);
  return true;
}

void Coordinator::ReconcileTasks(const proto::Heartbeat& heartbeat) {
  const std::string& worker_id = heartbeat.worker_id();
  const std::string& address = workers_.at(worker_id).info.rpc_address();
  const int64_t now = clock_->MonotonicMillis();
  for (auto it = orphans_sent_.begin(); it != orphans_sent_.end();) {
    it = now - it->second >= options_.heartbeat_timeout_ms ? orphans_sent_.erase(it) : std::next(it);
  }
  auto orphan = [&](const proto::TaskId& task) {
    std::string key = worker_id + " " + task.ShortDebugString();
    if (orphans_sent_.count(key)) return;  // cancelled lately: give it time to end
    orphans_sent_[key] = now;
    log_->warn("worker {} runs task {} that the coordinator does not know of; cancelling it", worker_id,
               task.ShortDebugString());
    orphans_.push_back({address, task});
    changed_.notify_all();
  };

  std::set<std::tuple<const Job*, int, int>> listed;  // (job, vertex, subtask)
  for (const auto& report : heartbeat.tasks()) {
    const proto::TaskId& task = report.task();
    auto found = jobs_.find(task.job_id());
    Job* job = found == jobs_.end() || found->second->attempt != task.attempt() ? nullptr : found->second.get();
    int v = -1;
    for (int k = 0; job != nullptr && k < job->graph.vertices_size(); ++k) {
      if (job->graph.vertices(k).id() == task.vertex_id()) v = k;
    }
    const int i = task.subtask();
    const bool known = v >= 0 && i >= 0 && i < static_cast<int>(job->subtasks[v].size()) &&
                       job->subtasks[v][i].worker_id == worker_id;
    if (!known) {
      // An older attempt's task, one of a forgotten job, or a deploy whose
      // answer never came: it holds a slot no job accounts for.
      if (!IsTerminalTask(report.state())) orphan(task);
      continue;
    }
    listed.insert({job, v, i});
    Subtask& s = job->subtasks[v][i];
    if (IsTerminalTask(s.state)) {
      // Given up on (cancel.timeout) while it still runs there.
      if (!IsTerminalTask(report.state())) orphan(task);
      continue;
    }
    s.metrics = report.metrics();
    // Heartbeats repair a lost state update: a report that moves the
    // subtask forward is applied as if it had come on its own.
    if (report.state() > s.state) {
      s.state = report.state();
      if (IsTerminalTask(s.state)) OnSubtaskEnded(job, v, i, worker_id);
      changed_.notify_all();
    }
  }

  // A task the worker should run but does not list has ended without a word
  // reaching us (its update lost), or was never there.
  for (auto& [id, job] : jobs_) {
    if (IsTerminal(job->state)) continue;
    for (int v = 0; v < static_cast<int>(job->subtasks.size()); ++v) {
      for (int i = 0; i < static_cast<int>(job->subtasks[v].size()); ++i) {
        Subtask& s = job->subtasks[v][i];
        if (s.worker_id != worker_id || (s.state != proto::DEPLOYING && s.state != proto::TASK_RUNNING)) continue;
        if (s.deployed_mono == 0 || now - s.deployed_mono <= options_.heartbeat_timeout_ms) continue;
        if (listed.count({job.get(), v, i})) continue;
        s.state = job->cancelling_tasks ? proto::TASK_CANCELED : proto::TASK_FAILED;
        s.failure = "worker " + worker_id + " no longer runs it (it is missing from the worker's heartbeat)";
        OnSubtaskEnded(job.get(), v, i, worker_id);
        changed_.notify_all();
      }
    }
  }
}

void Coordinator::OnSubtaskEnded(Job* job, int vertex, int subtask, const std::string& worker_id) {
  const Subtask& s = job->subtasks[vertex][subtask];
  const std::string name = "subtask " + std::to_string(subtask) + " of vertex '" + job->graph.vertices(vertex).id() +
                           "' on worker " + worker_id;
  if (s.state == proto::TASK_FINISHED) {
    job->checkpoints->OnSubtaskFinished(vertex, subtask);
  } else if (s.state == proto::TASK_FAILED) {
    if (!job->cancel_requested) FailJob(job, name + " failed" + (s.failure.empty() ? "" : ": " + s.failure));
  } else if (s.state == proto::TASK_CANCELED) {
    // Not asked for by the coordinator: the job cannot go on without it,
    // and must not hold the slots of a task that is gone.
    if (!job->cancel_requested && !job->cancelling_tasks) {
      FailJob(job, name + " was cancelled, not by the coordinator (a CancelTask sent to the worker directly, "
                          "or the worker stopping)");
    }
  }
}

void Coordinator::RunOrphanCanceller() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || !orphans_.empty(); });
    if (stopping_) return;
    std::map<std::pair<std::string, std::string>, std::vector<proto::TaskId>> batches;  // (address, job) -> tasks
    for (auto& o : orphans_) batches[{o.address, o.task.job_id()}].push_back(std::move(o.task));
    orphans_.clear();
    lock.unlock();
    for (const auto& [where, tasks] : batches) {
      Status s = gateway_->CancelTasks(where.first, where.second, tasks);
      if (!s.ok()) log_->warn("cancelling {} unknown tasks of job {} at {}: {}", tasks.size(), where.second, where.first, s.message());
    }
    lock.lock();
  }
}

void Coordinator::OnHeartbeatStreamClosed(const std::string& worker_id) {
  MarkWorkerLost(worker_id, "its connection to the coordinator closed");
}

void Coordinator::CheckHeartbeats() {
  std::vector<std::pair<std::string, int64_t>> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t now = clock_->MonotonicMillis();
    for (const auto& [id, w] : workers_) {
      if (now - w.last_heartbeat_mono > options_.heartbeat_timeout_ms) {
        expired.emplace_back(id, now - w.last_heartbeat_mono);
      }
    }
  }
  for (const auto& [id, silent_ms] : expired) {
    MarkWorkerLost(id, "no heartbeat for " + std::to_string(silent_ms) + " ms (heartbeat.timeout " +
                           std::to_string(options_.heartbeat_timeout_ms) + " ms)");
  }
}

void Coordinator::MarkWorkerLost(const std::string& worker_id, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  std::string who = "worker " + worker_id + " (" + it->second.info.rpc_address() + ")";
  log_->warn("{} lost: {}", who, reason);
  for (auto& [job_id, job] : jobs_) {
    if (IsTerminal(job->state)) continue;
    bool affected = false;
    for (auto& vertex : job->subtasks) {
      for (auto& s : vertex) {
        if (s.worker_id != worker_id || IsTerminalTask(s.state) || s.state == proto::SCHEDULED) continue;
        s.state = proto::TASK_FAILED;
        s.failure = who + " lost";
        affected = true;
      }
    }
    if (affected) FailJob(job.get(), who + " was lost: " + reason);
  }
  workers_.erase(it);
  changed_.notify_all();
}

Status Coordinator::UpdateTaskState(const proto::TaskStateUpdate& update) {
  std::lock_guard<std::mutex> lock(mu_);
  auto job_it = jobs_.find(update.task().job_id());
  if (job_it == jobs_.end()) return Status::NotFound("no job with id '" + update.task().job_id() + "'");
  Job* job = job_it->second.get();
  if (update.task().attempt() != job->attempt) return Status::Ok();  // a stale attempt's news
  for (int v = 0; v < job->graph.vertices_size(); ++v) {
    if (job->graph.vertices(v).id() != update.task().vertex_id()) continue;
    int i = update.task().subtask();
    if (i < 0 || i >= static_cast<int>(job->subtasks[v].size())) break;
    Subtask& s = job->subtasks[v][i];
    if (s.worker_id != update.worker_id()) {
      return Status::FailedPrecondition("subtask " + std::to_string(i) + " of vertex '" +
                                        update.task().vertex_id() + "' is not on worker " + update.worker_id());
    }
    if (IsTerminalTask(s.state)) {
      // A heartbeat got here first; keep the reason this update brings.
      if (s.failure.empty()) s.failure = update.failure();
      return Status::Ok();
    }
    s.state = update.state();
    s.metrics = update.metrics();
    if (!update.failure().empty()) s.failure = update.failure();
    log_->debug("job {} vertex {} subtask {} on {}: {}", job->id, update.task().vertex_id(), i,
                update.worker_id(), TaskStateName(update.state()));
    if (IsTerminalTask(s.state)) OnSubtaskEnded(job, v, i, update.worker_id());
    changed_.notify_all();
    return Status::Ok();
  }
  return Status::NotFound("job " + job->id + " has no subtask " + std::to_string(update.task().subtask()) +
                          " of vertex '" + update.task().vertex_id() + "'");
}

}  // namespace sluice
