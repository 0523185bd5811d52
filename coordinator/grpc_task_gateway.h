#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "coordinator/task_gateway.h"

namespace grpc {
class Channel;
}

namespace sluice {

// TaskGateway over gRPC, one cached channel per worker address.
class GrpcTaskGateway final : public TaskGateway {
 public:
  explicit GrpcTaskGateway(int64_t call_timeout_ms) : call_timeout_ms_(call_timeout_ms) {}
  Status DeployTask(const std::string& address, const proto::DeployTaskRequest& request) override;
  Status CancelJobTasks(const std::string& address, const std::string& job_id) override;
  Status CancelTasks(const std::string& address, const std::string& job_id,
                     const std::vector<proto::TaskId>& tasks) override;
  Status TriggerCheckpoint(const std::string& address, const proto::TriggerCheckpointRequest& request) override;
  Status NotifyCheckpointComplete(const std::string& address,
                                  const proto::NotifyCheckpointCompleteRequest& request) override;

 private:
  std::shared_ptr<grpc::Channel> ChannelFor(const std::string& address);

  int64_t call_timeout_ms_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
};

}  // namespace sluice
