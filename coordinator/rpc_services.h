// gRPC adapters: JobService and ClusterService over a Coordinator.
#pragma once

#include <memory>

#include "coordinator/coordinator.h"
#include "proto/cluster_service.grpc.pb.h"
#include "proto/job_service.grpc.pb.h"

namespace sluice {

class JobServiceImpl final : public proto::JobService::Service {
 public:
  explicit JobServiceImpl(Coordinator* coordinator) : coordinator_(coordinator) {}
  grpc::Status SubmitJob(grpc::ServerContext*, const proto::SubmitJobRequest*, proto::SubmitJobResponse*) override;
  grpc::Status ListJobs(grpc::ServerContext*, const proto::ListJobsRequest*, proto::ListJobsResponse*) override;
  grpc::Status GetJob(grpc::ServerContext*, const proto::GetJobRequest*, proto::JobStatus*) override;
  grpc::Status CancelJob(grpc::ServerContext*, const proto::CancelJobRequest*, proto::CancelJobResponse*) override;
  grpc::Status TriggerSavepoint(grpc::ServerContext*, const proto::TriggerSavepointRequest*,
                                proto::TriggerSavepointResponse*) override;
  grpc::Status ListWorkers(grpc::ServerContext*, const proto::ListWorkersRequest*, proto::ListWorkersResponse*) override;

 private:
  Coordinator* coordinator_;
};

class ClusterServiceImpl final : public proto::ClusterService::Service {
 public:
  explicit ClusterServiceImpl(Coordinator* coordinator) : coordinator_(coordinator) {}
  grpc::Status RegisterWorker(grpc::ServerContext*, const proto::RegisterWorkerRequest*,
                              proto::RegisterWorkerResponse*) override;
  grpc::Status Heartbeats(grpc::ServerContext*, grpc::ServerReader<proto::Heartbeat>*, proto::HeartbeatEnd*) override;
  grpc::Status UpdateTaskState(grpc::ServerContext*, const proto::TaskStateUpdate*,
                               proto::TaskStateUpdateResponse*) override;
  grpc::Status AcknowledgeCheckpoint(grpc::ServerContext*, const proto::CheckpointAck*,
                                     proto::CheckpointAckResponse*) override;

 private:
  Coordinator* coordinator_;
};

}  // namespace sluice
