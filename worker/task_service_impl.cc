#include "worker/task_service_impl.h"

#include "common/rpc/grpc_status.h"

namespace sluice {

grpc::Status TaskServiceImpl::DeployTask(grpc::ServerContext*, const proto::DeployTaskRequest* request,
                                         proto::DeployTaskResponse*) {
  return ToGrpcStatus(executor_->Deploy(*request));
}

grpc::Status TaskServiceImpl::CancelTask(grpc::ServerContext*, const proto::CancelTaskRequest* request,
                                         proto::CancelTaskResponse* response) {
  if (request->tasks().empty()) {
    response->set_cancelled(executor_->CancelJob(request->job_id()));
  } else {
    response->set_cancelled(executor_->CancelTasks({request->tasks().begin(), request->tasks().end()}));
  }
  return grpc::Status::OK;
}

grpc::Status TaskServiceImpl::TriggerCheckpoint(grpc::ServerContext*, const proto::TriggerCheckpointRequest* request,
                                                proto::TriggerCheckpointResponse* response) {
  response->set_sources(executor_->TriggerCheckpoint(request->job_id(), request->attempt(), request->checkpoint_id(),
                                                     request->timestamp_ms(), request->directory(),
                                                     request->start_sources(),
                                                     {request->also_start().begin(), request->also_start().end()},
                                                     request->drain()));
  return grpc::Status::OK;
}

grpc::Status TaskServiceImpl::NotifyCheckpointComplete(grpc::ServerContext*,
                                                       const proto::NotifyCheckpointCompleteRequest* request,
                                                       proto::NotifyCheckpointCompleteResponse*) {
  executor_->NotifyCheckpointComplete(request->job_id(), request->attempt(), request->checkpoint_id());
  return grpc::Status::OK;
}

}  // namespace sluice
