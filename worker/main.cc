// sluice-worker: the task manager daemon.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include <unistd.h>

#include "common/config.h"
#include "common/daemon/daemon_support.h"
#include "common/logging.h"
#include "common/net_address.h"
#include "worker/coordinator_link.h"
#include "worker/network/data_plane.h"
#include "worker/state_dir.h"
#include "worker/task_executor.h"
#include "worker/task_service_impl.h"

namespace {
int Fail(const std::string& message) {
  std::cerr << "sluice-worker: " << message << "\n";
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace sluice;
  BlockTerminationSignals();

  CLI::App app{"Sluice worker: registers with the coordinator, offers slots and runs tasks."};
  std::string config_file, coordinator, rpc_address, data_address, address_file;
  int slots = 0;
  std::vector<std::string> overrides;
  app.add_option("--config", config_file, "YAML config file")->check(CLI::ExistingFile);
  app.add_option("--coordinator", coordinator, "host:port of the coordinator");
  app.add_option("--slots", slots, "Number of task slots")->check(CLI::Range(1, 1024));
  app.add_option("--rpc-address", rpc_address, "host:port of the TaskService (port 0 = pick a free one)");
  app.add_option("--data-address", data_address, "host:port of the data plane (port 0 = pick a free one)");
  app.add_option("-D", overrides, "Override a config key: -D key=value")->allow_extra_args(false);
  app.add_option("--address-file", address_file, "Write the rpc address actually bound to this file");
  CLI11_PARSE(app, argc, argv);

  auto config = Config::Load(config_file, overrides);
  if (!config.ok()) return Fail(config.status().message());
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"coordinator.address", coordinator},
           {"worker.slots", slots > 0 ? std::to_string(slots) : ""},
           {"worker.rpc-address", rpc_address},
           {"worker.data-address", data_address}}) {
    if (!value.empty()) (void)config->Set(key, value);
  }
  auto level = ParseLogLevel(config->GetString("log.level"));
  if (!level.ok()) return Fail(level.status().message());
  Logger log = MakeLogger("worker", *level);

  auto slot_count = config->GetInt("worker.slots");
  if (!slot_count.ok()) return Fail(slot_count.status().message());
  if (*slot_count < 1) return Fail("worker.slots must be at least 1");
  auto retry = config->GetDurationMs("registration.retry-interval");
  if (!retry.ok()) return Fail(retry.status().message());
  auto coordinator_timeout = config->GetDurationMs("heartbeat.timeout");
  if (!coordinator_timeout.ok()) return Fail(coordinator_timeout.status().message());
  if (*coordinator_timeout <= 0) return Fail("heartbeat.timeout must be positive");
  auto coordinator_address = ParseHostPort(config->GetString("coordinator.address"));
  if (!coordinator_address.ok()) return Fail(coordinator_address.status().message());
  auto rpc = ParseHostPort(config->GetString("worker.rpc-address"));
  if (!rpc.ok()) return Fail(rpc.status().message());
  auto data = ParseHostPort(config->GetString("worker.data-address"));
  if (!data.ok()) return Fail(data.status().message());

  DataPlaneOptions network;
  auto memory = config->GetBytes("network.memory");
  auto buffer_size = config->GetBytes("network.buffer-size");
  auto exclusive = config->GetInt("network.exclusive-buffers");
  auto floating = config->GetInt("network.floating-buffers");
  for (const Status& s : {memory.status(), buffer_size.status(), exclusive.status(), floating.status()}) {
    if (!s.ok()) return Fail(s.message());
  }
  if (*exclusive < 1 || *floating < 0) return Fail("network.exclusive-buffers must be >= 1 and network.floating-buffers >= 0");
  network.memory_bytes = static_cast<uint64_t>(*memory);
  network.buffer_size = static_cast<uint32_t>(*buffer_size);
  network.exclusive_buffers = static_cast<int>(*exclusive);
  network.floating_buffers = static_cast<int>(*floating);
  auto max_connections = config->GetInt("network.max-connections");
  auto handshake = config->GetDurationMs("network.handshake-timeout");
  auto idle = config->GetDurationMs("network.idle-timeout");
  auto request_timeout = config->GetDurationMs("network.partition-request-timeout");
  for (const Status& s : {max_connections.status(), handshake.status(), idle.status(), request_timeout.status()}) {
    if (!s.ok()) return Fail(s.message());
  }
  if (*max_connections < 1) return Fail("network.max-connections must be at least 1");
  if (*handshake <= 0 || *idle <= 0 || *request_timeout <= 0) {
    return Fail("network.handshake-timeout, network.idle-timeout and network.partition-request-timeout must be positive");
  }
  network.max_connections = static_cast<int>(*max_connections);
  network.handshake_timeout_ms = *handshake;
  network.idle_timeout_ms = *idle;
  network.partition_request_timeout_ms = *request_timeout;
  auto data_plane = DataPlane::Start(*data, network, log);
  if (!data_plane.ok()) return Fail(data_plane.status().message());

  WorkerIdentity identity;
  identity.slots = static_cast<int>(*slot_count);
  identity.data_address = (*data_plane)->bound().ToString();
  // The link is created before the executor so the executor's tasks can
  // report through it; it learns the rpc address once the server is bound.
  std::unique_ptr<CoordinatorLink> link;
  TaskExecutor executor(
      identity.slots, OperatorRegistry::Builtin(), data_plane->get(),
      [&link](const proto::TaskId& id, proto::TaskState state, const std::string& failure,
              const proto::TaskMetrics& metrics) {
        if (link) link->ReportTaskState(id, state, failure, metrics);
      },
      log);
  // Each worker process works in a directory of its own, so that workers
  // sharing a machine (and state.dir) never meet; it goes when the worker
  // stops. Its lock, held for the process's life, tells other workers it
  // lives; those a killed worker left behind are removed here
  // (worker/state_dir.h).
  const std::string state_root = config->GetString("state.dir");
  const std::string state_dir = state_root + "/worker-" + std::to_string(::getpid());
  auto state_lock = LockWorkerStateDir(state_dir);
  if (!state_lock.ok()) return Fail(state_lock.status().message());
  for (const auto& stale : RemoveStaleWorkerStateDirs(state_root, state_dir)) {
    log->info("removed {}, left behind by a worker that is gone", stale);
  }
  executor.set_state_dir(state_dir);
  executor.set_checkpoint_listener([&link](const proto::CheckpointAck& ack) {
    if (link) link->AcknowledgeCheckpoint(ack);
  });
  TaskServiceImpl task_service(&executor);

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(rpc->ToString(), grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(&task_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) return Fail("cannot listen on " + rpc->ToString());
  identity.rpc_address = rpc->host + ":" + std::to_string(bound_port);

  link = std::make_unique<CoordinatorLink>(coordinator_address->ToString(), identity, *retry, *coordinator_timeout,
                                           log);
  link->set_executor(&executor);
  link->set_on_registered([plane = data_plane->get()](const std::string& id) { plane->set_worker_id(id); });
  link->set_heartbeat_extras([plane = data_plane->get()](proto::Heartbeat* hb) {
    hb->set_network_buffers_total(static_cast<int32_t>(plane->buffers().total_buffers()));
    hb->set_network_buffers_free(static_cast<int32_t>(plane->buffers().available_buffers()));
  });
  link->Start();
  log->info("worker serving on {} (data {}), {} slots, coordinator {}", identity.rpc_address,
            identity.data_address, identity.slots, coordinator_address->ToString());
  if (!address_file.empty()) {
    Status s = WriteFileAtomically(address_file, identity.rpc_address + "\n");
    if (!s.ok()) return Fail(s.message());
  }

  int sig = WaitForTerminationSignal();
  log->info("signal {}: shutting down", sig);
  executor.CancelAll();
  link->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  std::error_code ec;
  std::filesystem::remove_all(state_dir, ec);
  return 0;
}
