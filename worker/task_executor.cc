#include "worker/task_executor.h"

#include <algorithm>
#include <chrono>

#include "worker/network/data_plane.h"

namespace sluice {

TaskExecutor::TaskExecutor(int slots, OperatorRegistry registry, DataPlane* data_plane, Task::StateListener listener,
                           Logger log)
    : slots_(slots), registry_(std::move(registry)), data_plane_(data_plane), listener_(std::move(listener)),
      log_(std::move(log)) {}

TaskExecutor::~TaskExecutor() {
  std::vector<std::unique_ptr<Task>> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(tasks_);
  }
  for (auto& t : tasks) t->Cancel();
  tasks.clear();  // joins
}

Status TaskExecutor::Deploy(const proto::DeployTaskRequest& request) {
  const proto::TaskId& id = request.task();
  {
    std::lock_guard<std::mutex> lock(mu_);
    int same_vertex = 0;
    for (const auto& t : tasks_) {
      const auto& other = t->id();
      if (other.job_id() == id.job_id() && other.vertex_id() == id.vertex_id() && !t->done()) {
        if (other.subtask() == id.subtask() && other.attempt() == id.attempt()) {
          return Status::AlreadyExists("subtask " + std::to_string(id.subtask()) + " of vertex '" +
                                       id.vertex_id() + "' is already deployed");
        }
        ++same_vertex;
      }
    }
    // Slot sharing: one subtask of each vertex per slot.
    if (same_vertex >= slots_) {
      return Status::ResourceExhausted("this worker has " + std::to_string(slots_) +
                                       " slots, all holding a subtask of vertex '" + id.vertex_id() + "'");
    }
  }
  auto task = Task::Create(request, registry_, data_plane_, listener_, log_, state_dir_);
  if (!task.ok()) return task.status();
  log_->info("deploying job {} vertex '{}' subtask {}/{} (attempt {})", id.job_id(), id.vertex_id(),
             id.subtask(), request.vertex().parallelism(), id.attempt());
  (*task)->set_checkpoint_listener(checkpoint_listener_);
  std::lock_guard<std::mutex> lock(mu_);
  (*task)->Start();
  tasks_.push_back(std::move(*task));
  return Status::Ok();
}

int TaskExecutor::TriggerCheckpoint(const std::string& job_id, int64_t attempt, int64_t checkpoint_id,
                                    int64_t timestamp_ms, const std::string& directory, bool start_sources,
                                    const std::vector<std::string>& also_start, bool drain) {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (auto& t : tasks_) {
    if (t->id().job_id() != job_id || t->id().attempt() != attempt || t->done()) continue;
    if (!directory.empty()) t->SetCheckpointDirectory(checkpoint_id, directory);
    if (!start_sources) continue;
    const std::string name = t->id().vertex_id() + "#" + std::to_string(t->id().subtask());
    if (!t->is_source() && std::find(also_start.begin(), also_start.end(), name) == also_start.end()) continue;
    t->TriggerCheckpoint(checkpoint_id, timestamp_ms, drain);
    ++n;
  }
  return n;
}

void TaskExecutor::NotifyCheckpointComplete(const std::string& job_id, int64_t attempt, int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& t : tasks_) {
    if (t->id().job_id() == job_id && t->id().attempt() == attempt && !t->done()) {
      t->NotifyCheckpointComplete(checkpoint_id);
    }
  }
}

int TaskExecutor::CancelJob(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (auto& t : tasks_) {
    if (t->id().job_id() == job_id && !t->done()) {
      t->Cancel();
      ++n;
    }
  }
  if (n > 0) log_->info("cancelling {} tasks of job {}", n, job_id);
  // Data of the cancelled attempt is worthless: drop it, and fail consumers
  // still waiting for a partition that will never come.
  if (data_plane_ != nullptr) data_plane_->partitions().ReleaseJob(job_id, Status::Cancelled("job " + job_id + " was cancelled"));
  return n;
}

int TaskExecutor::CancelTasks(const std::vector<proto::TaskId>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (auto& t : tasks_) {
    if (t->done()) continue;
    for (const auto& id : ids) {
      if (t->id().job_id() == id.job_id() && t->id().vertex_id() == id.vertex_id() &&
          t->id().subtask() == id.subtask() && t->id().attempt() == id.attempt()) {
        t->Cancel();
        ++n;
        break;
      }
    }
  }
  if (n > 0) log_->info("cancelling {} tasks the coordinator does not know of", n);
  return n;
}

void TaskExecutor::CancelAll() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : tasks_) t->Cancel();
  }
  // Nobody will consume what they produced: give the buffers back.
  if (data_plane_ != nullptr) data_plane_->partitions().ReleaseAll(Status::Cancelled("all tasks were cancelled"));
}

void TaskExecutor::ReapLocked() {
  auto ended = std::stable_partition(tasks_.begin(), tasks_.end(), [](const auto& t) { return !t->done(); });
  tasks_.erase(ended, tasks_.end());  // ~Task joins an ended thread at once
}

std::vector<proto::TaskReport> TaskExecutor::Reports() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<proto::TaskReport> reports;
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count();
  std::map<std::string, Previous> current;
  for (const auto& t : tasks_) {
    proto::TaskReport r;
    *r.mutable_task() = t->id();
    r.set_state(t->state());
    proto::TaskMetrics m = t->Metrics();
    std::string key = t->id().ShortDebugString();
    Previous p{now, m.records_in(), m.records_out(), static_cast<double>(m.backpressured_ms())};
    auto prev = previous_.find(key);
    if (prev != previous_.end() && now > prev->second.at_ms) {
      double seconds = (now - prev->second.at_ms) / 1000.0;
      m.set_records_in_per_second((m.records_in() - prev->second.records_in) / seconds);
      m.set_records_out_per_second((m.records_out() - prev->second.records_out) / seconds);
      m.set_backpressured_ms_per_second((p.backpressured_ms - prev->second.backpressured_ms) / seconds);
    }
    current[key] = p;
    *r.mutable_metrics() = m;
    reports.push_back(std::move(r));
  }
  previous_ = std::move(current);
  ReapLocked();
  return reports;
}

int TaskExecutor::RunningTasks() {
  std::lock_guard<std::mutex> lock(mu_);
  int running = 0;
  for (const auto& t : tasks_) running += t->done() ? 0 : 1;
  return running;
}

}  // namespace sluice
