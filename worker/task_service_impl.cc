#include "worker/task_service_impl.h"

namespace sluice {
namespace {
grpc::Status ToGrpc(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return grpc::Status::OK;
    case StatusCode::kInvalidArgument: return {grpc::StatusCode::INVALID_ARGUMENT, s.message()};
    case StatusCode::kAlreadyExists: return {grpc::StatusCode::ALREADY_EXISTS, s.message()};
    case StatusCode::kResourceExhausted: return {grpc::StatusCode::RESOURCE_EXHAUSTED, s.message()};
    default: return {grpc::StatusCode::INTERNAL, s.message()};
  }
}
}  // namespace

grpc::Status TaskServiceImpl::DeployTask(grpc::ServerContext*, const proto::DeployTaskRequest* request,
                                         proto::DeployTaskResponse*) {
  return ToGrpc(executor_->Deploy(*request));
}

grpc::Status TaskServiceImpl::CancelTask(grpc::ServerContext*, const proto::CancelTaskRequest* request,
                                         proto::CancelTaskResponse* response) {
  response->set_cancelled(executor_->CancelJob(request->job_id()));
  return grpc::Status::OK;
}

}  // namespace sluice
