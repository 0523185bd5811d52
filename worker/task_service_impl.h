// gRPC TaskService over a TaskExecutor.
#pragma once

#include "proto/task_service.grpc.pb.h"
#include "worker/task_executor.h"

namespace sluice {

class TaskServiceImpl final : public proto::TaskService::Service {
 public:
  explicit TaskServiceImpl(TaskExecutor* executor) : executor_(executor) {}
  grpc::Status DeployTask(grpc::ServerContext*, const proto::DeployTaskRequest*, proto::DeployTaskResponse*) override;
  grpc::Status CancelTask(grpc::ServerContext*, const proto::CancelTaskRequest*, proto::CancelTaskResponse*) override;
  grpc::Status TriggerCheckpoint(grpc::ServerContext*, const proto::TriggerCheckpointRequest*,
                                 proto::TriggerCheckpointResponse*) override;
  grpc::Status NotifyCheckpointComplete(grpc::ServerContext*, const proto::NotifyCheckpointCompleteRequest*,
                                        proto::NotifyCheckpointCompleteResponse*) override;

 private:
  TaskExecutor* executor_;
};

}  // namespace sluice
