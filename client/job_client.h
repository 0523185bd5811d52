// The CLI's connection to the coordinator's JobService. Turns gRPC failures
// into one clear sentence ("cannot reach the coordinator at ...").
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "proto/job_service.grpc.pb.h"

namespace sluice {

class JobClient {
 public:
  JobClient(std::string address, int64_t timeout_ms);

  Result<std::string> Submit(const proto::JobGraph& graph, const std::string& restore_path = "");
  // Waits for the savepoint (up to the call timeout); returns its path.
  Result<std::string> Savepoint(const std::string& job_id, const std::string& directory, bool stop,
                                bool drain = false);
  // Every job: follows the coordinator's pages to the last.
  Result<proto::ListJobsResponse> List();
  Result<proto::JobStatus> Get(const std::string& job_id);
  Result<proto::CancelJobResponse> Cancel(const std::string& job_id);
  Result<proto::ListWorkersResponse> Workers();

 private:
  template <typename Call>
  Status Invoke(Call call);

  std::string address_;
  int64_t timeout_ms_;
  std::unique_ptr<proto::JobService::Stub> stub_;
};

}  // namespace sluice
