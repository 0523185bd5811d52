// The coordinator's core: worker registry, job state machines, scheduling.
// Each job's checkpoints are its CheckpointCoordinator's
// (checkpoint_coordinator.h), called under this class's mu_.
// gRPC services (rpc_services.cc) are thin adapters over this class; tests
// drive it directly with a fake TaskGateway and a controllable clock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/catalog/operator_catalog.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/logging.h"
#include "coordinator/checkpoint_coordinator.h"
#include "coordinator/checkpoint_policy.h"
#include "coordinator/job_graph_validator.h"
#include "coordinator/task_gateway.h"
#include "proto/cluster_service.pb.h"
#include "proto/job_service.pb.h"

namespace sluice {

struct CoordinatorOptions {
  int64_t heartbeat_interval_ms = 1000;
  int64_t heartbeat_timeout_ms = 5000;
  int64_t slot_request_timeout_ms = 30000;
  int64_t cancel_timeout_ms = 10000;
  int max_parallelism = 128;
  // Finished jobs remembered for list and status (jobs.retained,
  // jobs.retained-age): enough for a day of short jobs, and a bound on what
  // a flood of them can cost. 1 h is Flink's jobstore.expiration-time.
  // Running jobs are never forgotten.
  size_t jobs_retained = 1000;
  int64_t jobs_retained_age_ms = 3600000;  // 0 = no age limit
  // What a submitted graph may contain (names, ids, options, config, size).
  JobLimits limits;
  // A page of ListJobs: a page_size of 0 means the default; larger ones are
  // cut to the maximum, and a page stops early at max_bytes, so a reply
  // always stays far below gRPC's 4 MiB message limit.
  int list_page_default = 100;
  int list_page_max = 1000;
  size_t list_page_max_bytes = 1 << 20;
};

class Coordinator {
 public:
  Coordinator(CoordinatorOptions options, std::unique_ptr<TaskGateway> gateway,
              const Clock* clock, Logger logger);
  ~Coordinator();  // stops every job driver and the heartbeat monitor

  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Starts the heartbeat monitor.
  void Start();
  void Stop();

  // --- JobService ---
  // With `restore_path`, the job starts from that savepoint or checkpoint.
  Result<std::string> SubmitJob(proto::JobGraph graph, const std::string& restore_path = "");
  // Takes a savepoint under `directory` and waits for it; returns its path.
  // With `drain` (stop only) the sources emit the maximum watermark first
  // and end after the savepoint's barrier: the job finishes on its own.
  Result<std::string> TriggerSavepoint(const std::string& job_id, const std::string& directory, bool stop,
                                       bool drain = false);
  // Every job remembered, in submission order (tests; the service pages).
  std::vector<proto::JobStatus> ListJobs() const;
  // One page, in submission order, after `page_token` (empty: from the
  // start). next_page_token is empty on the last page.
  Result<proto::ListJobsResponse> ListJobs(int page_size, const std::string& page_token) const;
  Result<proto::JobStatus> GetJob(const std::string& job_id) const;
  Result<proto::JobState> CancelJob(const std::string& job_id);
  std::vector<proto::WorkerInfo> ListWorkers() const;

  // --- ClusterService ---
  Result<proto::RegisterWorkerResponse> RegisterWorker(const proto::RegisterWorkerRequest& request);
  // False if the worker is not (or no longer) registered: it must register again.
  bool OnHeartbeat(const proto::Heartbeat& heartbeat);
  // The worker's heartbeat stream broke.
  void OnHeartbeatStreamClosed(const std::string& worker_id);
  Status UpdateTaskState(const proto::TaskStateUpdate& update);
  // A subtask stored (or declined) its part of a checkpoint; its job's
  // CheckpointCoordinator takes it from here.
  void AcknowledgeCheckpoint(const proto::CheckpointAck& ack);

  // Checks heartbeat deadlines once (the monitor thread calls it periodically;
  // tests call it after moving the clock).
  void CheckHeartbeats();
  // Forgets finished jobs beyond jobs.retained or older than
  // jobs.retained-age (the monitor thread calls it; tests too).
  void ForgetOldJobs();

 private:
  struct Worker {
    proto::WorkerInfo info;
    int64_t last_heartbeat_mono = 0;
    std::map<std::string, int> slots_by_job;  // job id -> slots held
  };
  struct Subtask {
    std::string worker_id;
    proto::TaskState state = proto::SCHEDULED;
    proto::TaskMetrics metrics;
    std::string failure;
    // When its deploy call returned (0 before): from then on the worker's
    // heartbeats must list it, once heartbeat.timeout has let any heartbeat
    // taken before the deploy arrive.
    int64_t deployed_mono = 0;
  };
  class JobTasks;  // what a job's CheckpointCoordinator asks of its tasks
  struct Job {
    std::string id;
    proto::JobGraph graph;
    proto::JobState state = proto::CREATED;
    uint64_t seq = 0;  // submission number: list order and page tokens
    int64_t submit_time_ms = 0, start_time_ms = 0, end_time_ms = 0;
    int64_t end_mono = 0;  // when it became terminal, for jobs.retained-age
    std::string failure;           // the reason of FAILED, or the cause while FAILING
    bool cancel_requested = false;
    bool cancelling_tasks = false;  // the coordinator is cancelling them: a CANCELED task is no failure
    int64_t attempt = 0;
    int slots_needed = 0;
    proto::SlotWait slot_wait;  // slots_needed > 0 while waiting for slots
    std::vector<std::string> slot_workers;  // slot i -> worker id
    std::vector<std::vector<Subtask>> subtasks;  // [vertex][subtask]
    std::thread driver;

    RestartStrategy restart;
    int restarts = 0;
    int backoff_restarts = 0;         // restarts since the exponential backoff last reset
    int64_t last_restart_mono = 0;
    // Declared before `checkpoints`, which holds on to it.
    std::unique_ptr<JobTasks> tasks;
    std::unique_ptr<CheckpointCoordinator> checkpoints;

    Job();
    ~Job();  // JobTasks is complete only in coordinator.cc
  };

  void DriveJob(Job* job);
  // After a failure: restart under the job's strategy, or false to fail it.
  bool Restart(Job* job, std::unique_lock<std::mutex>& lock);
  // Each step runs with mu_ held (unique_lock passed in) and may release it
  // around RPCs.
  bool AcquireSlots(Job* job, std::unique_lock<std::mutex>& lock);
  Status DeployAll(Job* job, std::unique_lock<std::mutex>& lock);
  void CancelTasksAndWait(Job* job, std::unique_lock<std::mutex>& lock);
  void ReleaseSlots(Job* job);
  void Transition(Job* job, proto::JobState to);
  void FailJob(Job* job, const std::string& reason);  // records the first cause only
  void MarkWorkerLost(const std::string& worker_id, const std::string& reason);
  // A subtask's task ended (update or heartbeat): a finished one may complete
  // a checkpoint; a failed one, or one cancelled by anyone but the
  // coordinator, fails the job so that its restart strategy acts.
  void OnSubtaskEnded(Job* job, int vertex, int subtask, const std::string& worker_id);
  // Reconciles the tasks a heartbeat lists with what the coordinator
  // believes runs on that worker (mu_ held).
  void ReconcileTasks(const proto::Heartbeat& heartbeat);
  // Sends the queued cancellations of orphaned tasks (its own thread: RPCs
  // must not hold up heartbeats).
  void RunOrphanCanceller();
  proto::JobStatus StatusOf(const Job& job, bool with_vertices) const;
  void PruneFinishedJobs();
  Result<std::string> Submit(proto::JobGraph graph, const std::string& restore_path);
  // Gives memory freed after refused submissions back to the system (the
  // monitor thread calls it).
  void ReturnFreedMemory();
  bool AllSubtasks(const Job& job, bool (*pred)(proto::TaskState)) const;

  const CoordinatorOptions options_;
  std::unique_ptr<TaskGateway> gateway_;
  const Clock* clock_;
  Logger log_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool stopping_ = false;
  IdGenerator ids_;
  int next_worker_number_ = 1;
  std::map<std::string, Worker> workers_;
  std::map<std::string, std::unique_ptr<Job>> jobs_;
  std::map<uint64_t, std::string> job_order_;  // seq -> id: submission order, for list pages
  uint64_t next_job_seq_ = 1;
  std::atomic<int64_t> last_refusal_mono_{-1000000};  // when a submission was last refused
  int64_t last_trim_mono_ = 0;                         // monitor thread only
  std::vector<std::thread> finished_drivers_;
  std::thread monitor_;
  // Tasks running on a worker that the coordinator does not know of, to be
  // cancelled there; and when each was last sent, so that one is cancelled
  // again only after heartbeat.timeout.
  struct Orphan {
    std::string address;
    proto::TaskId task;
  };
  std::deque<Orphan> orphans_;
  std::map<std::string, int64_t> orphans_sent_;  // worker id + task -> mono time
  std::thread orphan_canceller_;
};

}  // namespace sluice
