// How the coordinator reaches workers' TaskService. An interface so the
// coordinator's tests can run without worker processes.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "proto/task_service.pb.h"

namespace sluice {

class TaskGateway {
 public:
  virtual ~TaskGateway() = default;
  virtual Status DeployTask(const std::string& worker_rpc_address,
                            const proto::DeployTaskRequest& request) = 0;
  virtual Status CancelJobTasks(const std::string& worker_rpc_address, const std::string& job_id) = 0;
  // Cancels only these tasks of the job (of any attempt): orphans the
  // coordinator does not know of, beside tasks of the job it does know.
  virtual Status CancelTasks(const std::string& worker_rpc_address, const std::string& job_id,
                             const std::vector<proto::TaskId>& tasks) = 0;
  virtual Status TriggerCheckpoint(const std::string& worker_rpc_address,
                                   const proto::TriggerCheckpointRequest& request) = 0;
  virtual Status NotifyCheckpointComplete(const std::string& worker_rpc_address,
                                          const proto::NotifyCheckpointCompleteRequest& request) = 0;
};

}  // namespace sluice
