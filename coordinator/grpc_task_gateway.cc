#include "coordinator/grpc_task_gateway.h"

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "common/rpc/grpc_status.h"
#include "proto/task_service.grpc.pb.h"

namespace sluice {
std::shared_ptr<grpc::Channel> GrpcTaskGateway::ChannelFor(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& channel = channels_[address];
  if (!channel) channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  return channel;
}

Status GrpcTaskGateway::DeployTask(const std::string& address, const proto::DeployTaskRequest& request) {
  auto stub = proto::TaskService::NewStub(ChannelFor(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(call_timeout_ms_));
  proto::DeployTaskResponse response;
  return FromGrpcStatus(stub->DeployTask(&ctx, request, &response), "deploy to worker at " + address);
}

Status GrpcTaskGateway::CancelJobTasks(const std::string& address, const std::string& job_id) {
  auto stub = proto::TaskService::NewStub(ChannelFor(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(call_timeout_ms_));
  proto::CancelTaskRequest request;
  request.set_job_id(job_id);
  proto::CancelTaskResponse response;
  return FromGrpcStatus(stub->CancelTask(&ctx, request, &response), "cancel on worker at " + address);
}

Status GrpcTaskGateway::CancelTasks(const std::string& address, const std::string& job_id,
                                    const std::vector<proto::TaskId>& tasks) {
  auto stub = proto::TaskService::NewStub(ChannelFor(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(call_timeout_ms_));
  proto::CancelTaskRequest request;
  request.set_job_id(job_id);
  for (const auto& t : tasks) *request.add_tasks() = t;
  proto::CancelTaskResponse response;
  return FromGrpcStatus(stub->CancelTask(&ctx, request, &response), "cancel on worker at " + address);
}

Status GrpcTaskGateway::TriggerCheckpoint(const std::string& address, const proto::TriggerCheckpointRequest& request) {
  auto stub = proto::TaskService::NewStub(ChannelFor(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(call_timeout_ms_));
  proto::TriggerCheckpointResponse response;
  return FromGrpcStatus(stub->TriggerCheckpoint(&ctx, request, &response),
                        "triggering a checkpoint on worker at " + address);
}

Status GrpcTaskGateway::NotifyCheckpointComplete(const std::string& address,
                                                 const proto::NotifyCheckpointCompleteRequest& request) {
  auto stub = proto::TaskService::NewStub(ChannelFor(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(call_timeout_ms_));
  proto::NotifyCheckpointCompleteResponse response;
  return FromGrpcStatus(stub->NotifyCheckpointComplete(&ctx, request, &response),
                        "notifying a checkpoint on worker at " + address);
}

}  // namespace sluice
