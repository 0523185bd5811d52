#include "coordinator/rpc_services.h"

#include "common/rpc/grpc_status.h"

namespace sluice {

grpc::Status JobServiceImpl::SubmitJob(grpc::ServerContext*, const proto::SubmitJobRequest* request,
                                       proto::SubmitJobResponse* response) {
  auto id = coordinator_->SubmitJob(request->graph(), request->restore_path());
  if (!id.ok()) return ToGrpcStatus(id.status());
  response->set_job_id(*id);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext*, const proto::ListJobsRequest* request,
                                      proto::ListJobsResponse* response) {
  auto page = coordinator_->ListJobs(request->page_size(), request->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  *response = std::move(*page);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetJob(grpc::ServerContext*, const proto::GetJobRequest* request,
                                    proto::JobStatus* response) {
  auto job = coordinator_->GetJob(request->job_id());
  if (!job.ok()) return ToGrpcStatus(job.status());
  *response = std::move(*job);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::TriggerSavepoint(grpc::ServerContext*, const proto::TriggerSavepointRequest* request,
                                              proto::TriggerSavepointResponse* response) {
  auto path = coordinator_->TriggerSavepoint(request->job_id(), request->directory(), request->stop(),
                                             request->stop() && request->drain());
  if (!path.ok()) return ToGrpcStatus(path.status());
  response->set_path(*path);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::CancelJob(grpc::ServerContext*, const proto::CancelJobRequest* request,
                                       proto::CancelJobResponse* response) {
  auto state = coordinator_->CancelJob(request->job_id());
  if (!state.ok()) return ToGrpcStatus(state.status());
  response->set_state(*state);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListWorkers(grpc::ServerContext*, const proto::ListWorkersRequest*,
                                         proto::ListWorkersResponse* response) {
  for (auto& w : coordinator_->ListWorkers()) *response->add_workers() = std::move(w);
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::RegisterWorker(grpc::ServerContext*, const proto::RegisterWorkerRequest* request,
                                                proto::RegisterWorkerResponse* response) {
  auto r = coordinator_->RegisterWorker(*request);
  if (!r.ok()) return ToGrpcStatus(r.status());
  *response = std::move(*r);
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::Heartbeats(grpc::ServerContext*,
                                            grpc::ServerReader<proto::Heartbeat>* reader,
                                            proto::HeartbeatEnd* response) {
  proto::Heartbeat heartbeat;
  std::string worker_id;
  while (reader->Read(&heartbeat)) {
    worker_id = heartbeat.worker_id();
    if (!coordinator_->OnHeartbeat(heartbeat)) {
      response->set_reason("worker " + worker_id + " is not registered; register again");
      return grpc::Status::OK;
    }
  }
  // The stream ended without our say: the worker died or its connection
  // broke, which loses the worker at once rather than at heartbeat.timeout.
  if (!worker_id.empty()) coordinator_->OnHeartbeatStreamClosed(worker_id);
  return grpc::Status::OK;
}

grpc::Status ClusterServiceImpl::UpdateTaskState(grpc::ServerContext*, const proto::TaskStateUpdate* request,
                                                 proto::TaskStateUpdateResponse*) {
  return ToGrpcStatus(coordinator_->UpdateTaskState(*request));
}

grpc::Status ClusterServiceImpl::AcknowledgeCheckpoint(grpc::ServerContext*, const proto::CheckpointAck* request,
                                                       proto::CheckpointAckResponse*) {
  coordinator_->AcknowledgeCheckpoint(*request);
  return grpc::Status::OK;
}

}  // namespace sluice
