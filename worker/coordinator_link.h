// The worker's side of the control plane: registers with the coordinator,
// keeps a heartbeat stream open, and reports task state changes in order.
// When the coordinator is lost, every task is cancelled and the worker keeps
// trying to register again.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/logging.h"
#include "proto/cluster_service.pb.h"

namespace grpc {
class Channel;
class ClientContext;
}

namespace sluice {

class TaskExecutor;

struct WorkerIdentity {
  int slots = 1;
  std::string rpc_address;
  std::string data_address;
};

class CoordinatorLink {
 public:
  // `coordinator_timeout_ms` (heartbeat.timeout): a coordinator that stops
  // answering for this long (its process frozen, its host gone while the
  // connection looks open) is lost, as one whose connection broke.
  CoordinatorLink(std::string coordinator_address, WorkerIdentity identity, int64_t retry_interval_ms,
                  int64_t coordinator_timeout_ms, Logger log);
  ~CoordinatorLink();

  // The executor whose tasks are reported and cancelled; set before Start().
  void set_executor(TaskExecutor* executor) { executor_ = executor; }
  // Called with the worker id each time the worker registers.
  void set_on_registered(std::function<void(const std::string&)> f) { on_registered_ = std::move(f); }
  // Fills worker-wide figures into each heartbeat (network buffers).
  void set_heartbeat_extras(std::function<void(proto::Heartbeat*)> f) { heartbeat_extras_ = std::move(f); }
  void Start();
  void Stop();

  // Queues a task state change for the coordinator (called from task threads).
  void ReportTaskState(const proto::TaskId& task, proto::TaskState state, const std::string& failure,
                       const proto::TaskMetrics& metrics);
  // Queues a checkpoint acknowledgement, sent in order with the updates.
  void AcknowledgeCheckpoint(proto::CheckpointAck ack);

 private:
  void RunSession();          // register, then heartbeat until the stream ends
  void RunUpdateSender();     // sends queued task updates in order
  bool SleepUnlessStopped(int64_t ms);

  const std::string coordinator_address_;
  const WorkerIdentity identity_;
  const int64_t retry_interval_ms_;
  Logger log_;
  TaskExecutor* executor_ = nullptr;
  std::function<void(const std::string&)> on_registered_;
  std::function<void(proto::Heartbeat*)> heartbeat_extras_;
  std::shared_ptr<grpc::Channel> channel_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string worker_id_;  // empty while not registered
  grpc::ClientContext* stream_context_ = nullptr;  // of the open heartbeat stream
  struct QueuedUpdate {
    uint64_t seq;
    proto::TaskStateUpdate update;
    bool is_ack = false;
    proto::CheckpointAck ack;
  };
  std::deque<QueuedUpdate> updates_;
  uint64_t next_update_seq_ = 0;
  std::thread session_thread_;
  std::thread sender_thread_;
};

}  // namespace sluice
