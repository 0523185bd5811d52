#include "worker/task_executor.h"

#include <algorithm>

namespace sluice {

TaskExecutor::TaskExecutor(int slots, OperatorRegistry registry, Task::StateListener listener, Logger log)
    : slots_(slots), registry_(std::move(registry)), listener_(std::move(listener)), log_(std::move(log)) {}

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
    ReapLocked();
    int same_vertex = 0;
    for (const auto& t : tasks_) {
      const auto& other = t->id();
      if (other.job_id() == id.job_id() && other.vertex_id() == id.vertex_id()) {
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
  auto task = Task::Create(id, request.vertex(), registry_, listener_, log_);
  if (!task.ok()) return task.status();
  log_->info("deploying job {} vertex '{}' subtask {}/{} (attempt {})", id.job_id(), id.vertex_id(),
             id.subtask(), request.vertex().parallelism(), id.attempt());
  std::lock_guard<std::mutex> lock(mu_);
  (*task)->Start();
  tasks_.push_back(std::move(*task));
  return Status::Ok();
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
  return n;
}

void TaskExecutor::CancelAll() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& t : tasks_) t->Cancel();
}

void TaskExecutor::ReapLocked() {
  auto ended = std::stable_partition(tasks_.begin(), tasks_.end(), [](const auto& t) { return !t->done(); });
  tasks_.erase(ended, tasks_.end());  // ~Task joins an ended thread at once
}

std::vector<proto::TaskReport> TaskExecutor::Reports() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<proto::TaskReport> reports;
  for (const auto& t : tasks_) {
    proto::TaskReport r;
    *r.mutable_task() = t->id();
    r.set_state(t->state());
    *r.mutable_metrics() = t->Metrics();
    reports.push_back(std::move(r));
  }
  ReapLocked();
  return reports;
}

int TaskExecutor::RunningTasks() {
  std::lock_guard<std::mutex> lock(mu_);
  ReapLocked();
  return static_cast<int>(tasks_.size());
}

}  // namespace sluice
