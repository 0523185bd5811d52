// Owns the tasks running on this worker.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/logging.h"
#include "proto/cluster_service.pb.h"
#include "proto/task_service.pb.h"
#include "worker/operators/operator_registry.h"
#include "worker/task.h"

namespace sluice {

class DataPlane;

class TaskExecutor {
 public:
  // `data_plane` may be null only where no task has inputs or outputs.
  TaskExecutor(int slots, OperatorRegistry registry, DataPlane* data_plane, Task::StateListener listener, Logger log);
  ~TaskExecutor();  // cancels and joins every task

  // Builds and starts the task. INVALID_ARGUMENT if its chain cannot be
  // built; RESOURCE_EXHAUSTED if this job already runs more subtasks of the
  // vertex than the worker has slots.
  Status Deploy(const proto::DeployTaskRequest& request);
  // Cancels every task of the job; returns how many were running.
  int CancelJob(const std::string& job_id);
  // Cancels the tasks named (job, vertex, subtask and attempt); returns how
  // many were running. The job's other tasks here go on.
  int CancelTasks(const std::vector<proto::TaskId>& tasks);
  void CancelAll();
  // Where tasks keep their RocksDB working state (state.dir); before any Deploy.
  void set_state_dir(std::string dir) { state_dir_ = std::move(dir); }
  // Where tasks send checkpoint acknowledgements; before any Deploy.
  void set_checkpoint_listener(Task::CheckpointListener listener) { checkpoint_listener_ = std::move(listener); }
  // Starts checkpoint `checkpoint_id` at the job's source tasks here (of
  // that attempt); returns how many took it.
  // A savepoint's `directory` is first given to every task of the job
  // (start_sources false), then the sources start it.
  // Tasks named in `also_start` ("<vertex>#<subtask>") start it as the
  // sources do: their producers have all ended.
  int TriggerCheckpoint(const std::string& job_id, int64_t attempt, int64_t checkpoint_id, int64_t timestamp_ms,
                        const std::string& directory, bool start_sources,
                        const std::vector<std::string>& also_start = {}, bool drain = false);
  void NotifyCheckpointComplete(const std::string& job_id, int64_t attempt, int64_t checkpoint_id);

  // A report of every live task, and joins tasks that have ended.
  std::vector<proto::TaskReport> Reports();
  int RunningTasks();

 private:
  void ReapLocked();

  struct Previous {  // last report's counters, for rates
    int64_t at_ms = 0;
    int64_t records_in = 0, records_out = 0;
    double backpressured_ms = 0;
  };

  const int slots_;
  const OperatorRegistry registry_;
  DataPlane* data_plane_;
  std::map<std::string, Previous> previous_;
  Task::StateListener listener_;
  Logger log_;
  std::string state_dir_;
  Task::CheckpointListener checkpoint_listener_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Task>> tasks_;
};

}  // namespace sluice
