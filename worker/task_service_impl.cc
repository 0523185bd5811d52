#include "worker/task_service_impl.h"

#include "common/rpc/grpc_status.h"

namespace sluice {

grpc::Status TaskServiceImpl::DeployTask(grpc::ServerContext*, const proto::DeployTaskRequest* request,
                                         proto::DeployTaskResponse*) {
  return ToGrpcStatus(executor_->Deploy(*request));
}

grpc::Status TaskServiceImpl::CancelTask(grpc::ServerContext*, const proto::CancelTaskRequest* request,
                                         proto::CancelTaskResponse* response) {
  response->set_cancelled(executor_->CancelJob(request->job_id()));
  return grpc::Status::OK;
}

}  // namespace sluice
