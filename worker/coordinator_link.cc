#include "worker/coordinator_link.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include "proto/cluster_service.grpc.pb.h"
#include "worker/task_executor.h"

namespace sluice {
namespace {
std::chrono::system_clock::time_point Deadline(int64_t ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
}
}  // namespace

CoordinatorLink::CoordinatorLink(std::string coordinator_address, WorkerIdentity identity,
                                 int64_t retry_interval_ms, int64_t coordinator_timeout_ms, Logger log)
    : coordinator_address_(std::move(coordinator_address)),
      identity_(std::move(identity)),
      retry_interval_ms_(retry_interval_ms),
      log_(std::move(log)) {
  // The heartbeat stream only flows towards the coordinator, and the kernel
  // of a frozen coordinator still acknowledges it: HTTP/2 pings, which its
  // gRPC must answer, tell that it is alive. A ping unanswered for the
  // timeout closes the connection, which ends the heartbeat stream. (The
  // coordinator's server allows pings this often.)
  grpc::ChannelArguments args;
  const int timeout = static_cast<int>(std::max<int64_t>(100, coordinator_timeout_ms));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, std::max(100, timeout / 5));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, timeout);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  channel_ = grpc::CreateCustomChannel(coordinator_address_, grpc::InsecureChannelCredentials(), args);
}

CoordinatorLink::~CoordinatorLink() { Stop(); }

void CoordinatorLink::Start() {
  session_thread_ = std::thread([this] {
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
      }
      RunSession();
    }
  });
  sender_thread_ = std::thread([this] { RunUpdateSender(); });
}

void CoordinatorLink::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    // A coordinator that stopped answering must not hold up our shutdown.
    if (stream_context_ != nullptr) stream_context_->TryCancel();
  }
  cv_.notify_all();
  if (session_thread_.joinable()) session_thread_.join();
  if (sender_thread_.joinable()) sender_thread_.join();
}

bool CoordinatorLink::SleepUnlessStopped(int64_t ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
  return !stopping_;
}

void CoordinatorLink::RunSession() {
  auto stub = proto::ClusterService::NewStub(channel_);
  proto::RegisterWorkerRequest request;
  request.set_slots(identity_.slots);
  request.set_rpc_address(identity_.rpc_address);
  request.set_data_address(identity_.data_address);
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  request.set_hostname(host);
  request.set_pid(getpid());

  proto::RegisterWorkerResponse registered;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(5000));
    grpc::Status s = stub->RegisterWorker(&ctx, request, &registered);
    if (!s.ok()) {
      log_->warn("cannot register with coordinator {}: {}; retrying", coordinator_address_, s.error_message());
      SleepUnlessStopped(retry_interval_ms_);
      return;
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    worker_id_ = registered.worker_id();
  }
  if (on_registered_) on_registered_(registered.worker_id());
  cv_.notify_all();
  log_->info("registered with coordinator {} as {}", coordinator_address_, registered.worker_id());

  grpc::ClientContext ctx;
  proto::HeartbeatEnd end;
  auto writer = stub->Heartbeats(&ctx, &end);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream_context_ = &ctx;
  }
  int64_t interval = std::max<int64_t>(10, registered.heartbeat_interval_ms());
  bool stream_ok = true;
  while (true) {
    proto::Heartbeat hb;
    hb.set_worker_id(registered.worker_id());
    if (executor_ != nullptr) {
      for (auto& r : executor_->Reports()) *hb.add_tasks() = std::move(r);
      hb.set_running_tasks(executor_->RunningTasks());
    }
    if (heartbeat_extras_) heartbeat_extras_(&hb);
    if (!writer->Write(hb)) {
      stream_ok = false;
      break;
    }
    if (!SleepUnlessStopped(interval)) break;
  }
  if (stream_ok) {
    writer->WritesDone();  // a clean stop: tell the coordinator we are leaving
  }
  grpc::Status status = writer->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stream_context_ = nullptr;
    worker_id_.clear();
    updates_.clear();  // updates of the old registration mean nothing now
  }
  if (!stream_ok) {
    std::string why = !end.reason().empty() ? end.reason() : status.error_message();
    log_->warn("lost the coordinator ({}); cancelling all tasks and registering again", why);
  }
  if (executor_ != nullptr) executor_->CancelAll();
}

void CoordinatorLink::ReportTaskState(const proto::TaskId& task, proto::TaskState state,
                                      const std::string& failure, const proto::TaskMetrics& metrics) {
  std::lock_guard<std::mutex> lock(mu_);
  if (worker_id_.empty()) return;
  proto::TaskStateUpdate update;
  update.set_worker_id(worker_id_);
  *update.mutable_task() = task;
  update.set_state(state);
  update.set_failure(failure);
  *update.mutable_metrics() = metrics;
  QueuedUpdate queued;
  queued.seq = next_update_seq_++;
  queued.update = std::move(update);
  updates_.push_back(std::move(queued));
  cv_.notify_all();
}

void CoordinatorLink::AcknowledgeCheckpoint(proto::CheckpointAck ack) {
  std::lock_guard<std::mutex> lock(mu_);
  if (worker_id_.empty()) return;
  ack.set_worker_id(worker_id_);
  QueuedUpdate queued;
  queued.seq = next_update_seq_++;
  queued.is_ack = true;
  queued.ack = std::move(ack);
  updates_.push_back(std::move(queued));
  cv_.notify_all();
}

void CoordinatorLink::RunUpdateSender() {
  auto stub = proto::ClusterService::NewStub(channel_);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !updates_.empty(); });
    if (updates_.empty()) return;  // stopping with nothing left to say
    const uint64_t seq = updates_.front().seq;
    const bool is_ack = updates_.front().is_ack;
    proto::TaskStateUpdate update = updates_.front().update;
    proto::CheckpointAck ack = updates_.front().ack;
    lock.unlock();
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(5000));
    grpc::Status s;
    if (is_ack) {
      proto::CheckpointAckResponse response;
      s = stub->AcknowledgeCheckpoint(&ctx, ack, &response);
    } else {
      proto::TaskStateUpdateResponse response;
      s = stub->UpdateTaskState(&ctx, update, &response);
    }
    lock.lock();
    bool still_queued = !updates_.empty() && updates_.front().seq == seq;
    bool transient = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                     s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
    if (!s.ok() && transient && !stopping_ && still_queued) {
      // Keep the order: retry the same update after a pause. A new
      // registration clears the queue, which ends the retries.
      cv_.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    if (!s.ok()) log_->warn("{} rejected: {}", is_ack ? "checkpoint acknowledgement" : "task state update", s.error_message());
    if (still_queued) updates_.pop_front();
  }
}

}  // namespace sluice
