#include "client/job_client.h"

#include <grpcpp/grpcpp.h>

#include "common/rpc/grpc_status.h"

namespace sluice {

JobClient::JobClient(std::string address, int64_t timeout_ms)
    : address_(std::move(address)), timeout_ms_(timeout_ms) {
  stub_ = proto::JobService::NewStub(grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
}

template <typename Call>
Status JobClient::Invoke(Call call) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms_));
  grpc::Status s = call(&ctx);
  if (s.ok()) return Status::Ok();
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Status::Unavailable("cannot reach the coordinator at " + address_ +
                               " (is it running? see --coordinator or SLUICE_COORDINATOR)");
  }
  return FromGrpcStatus(s, "");
}

Result<std::string> JobClient::Savepoint(const std::string& job_id, const std::string& directory, bool stop,
                                         bool drain) {
  proto::TriggerSavepointRequest req;
  req.set_job_id(job_id);
  req.set_directory(directory);
  req.set_stop(stop);
  req.set_drain(drain);
  proto::TriggerSavepointResponse resp;
  SLUICE_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c) { return stub_->TriggerSavepoint(c, req, &resp); }));
  return resp.path();
}

Result<std::string> JobClient::Submit(const proto::JobGraph& graph, const std::string& restore_path) {
  proto::SubmitJobRequest req;
  *req.mutable_graph() = graph;
  req.set_restore_path(restore_path);
  proto::SubmitJobResponse resp;
  SLUICE_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c) { return stub_->SubmitJob(c, req, &resp); }));
  return resp.job_id();
}

Result<proto::ListJobsResponse> JobClient::List() {
  proto::ListJobsResponse all;
  proto::ListJobsRequest req;
  while (true) {
    proto::ListJobsResponse page;
    SLUICE_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c) { return stub_->ListJobs(c, req, &page); }));
    for (auto& job : *page.mutable_jobs()) *all.add_jobs() = std::move(job);
    if (page.next_page_token().empty()) return all;
    // Each token comes after the last: a coordinator that repeats one would
    // keep us here for ever.
    if (page.next_page_token() == req.page_token()) {
      return Status::Internal("the coordinator gave the same list page token twice ('" + req.page_token() + "')");
    }
    req.set_page_token(page.next_page_token());
  }
}

Result<proto::JobStatus> JobClient::Get(const std::string& job_id) {
  proto::GetJobRequest req;
  req.set_job_id(job_id);
  proto::JobStatus resp;
  SLUICE_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c) { return stub_->GetJob(c, req, &resp); }));
  return resp;
}

Result<proto::CancelJobResponse> JobClient::Cancel(const std::string& job_id) {
  proto::CancelJobRequest req;
  req.set_job_id(job_id);
  proto::CancelJobResponse resp;
  SLUICE_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c) { return stub_->CancelJob(c, req, &resp); }));
  return resp;
}

Result<proto::ListWorkersResponse> JobClient::Workers() {
  proto::ListWorkersRequest req;
  proto::ListWorkersResponse resp;
  SLUICE_RETURN_IF_ERROR(Invoke([&](grpc::ClientContext* c) { return stub_->ListWorkers(c, req, &resp); }));
  return resp;
}

}  // namespace sluice
