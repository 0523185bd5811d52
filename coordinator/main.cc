// sluice-coordinator: the job manager daemon.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "common/config.h"
#include "common/daemon/daemon_support.h"
#include "common/logging.h"
#include "common/net_address.h"
#include "coordinator/coordinator.h"
#include "coordinator/grpc_task_gateway.h"
#include "coordinator/rpc_services.h"

namespace {

int Fail(const std::string& message) {
  std::cerr << "sluice-coordinator: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice;
  BlockTerminationSignals();

  CLI::App app{"Sluice coordinator: accepts jobs and schedules them onto workers."};
  std::string config_file, rpc_address, address_file;
  std::vector<std::string> overrides;
  app.add_option("--config", config_file, "YAML config file")->check(CLI::ExistingFile);
  app.add_option("--rpc-address", rpc_address, "host:port of the gRPC server (port 0 = pick a free one)");
  app.add_option("-D", overrides, "Override a config key: -D key=value")->allow_extra_args(false);
  app.add_option("--address-file", address_file,
                 "Write the address actually bound to this file once serving");
  CLI11_PARSE(app, argc, argv);

  auto config = Config::Load(config_file, overrides);
  if (!config.ok()) return Fail(config.status().message());
  if (!rpc_address.empty()) {
    Status s = config->Set("rpc.address", rpc_address);
    if (!s.ok()) return Fail(s.message());
  }
  auto level = ParseLogLevel(config->GetString("log.level"));
  if (!level.ok()) return Fail(level.status().message());
  Logger log = MakeLogger("coordinator", *level);

  CoordinatorOptions options;
  auto heartbeat_interval = config->GetDurationMs("heartbeat.interval");
  auto heartbeat_timeout = config->GetDurationMs("heartbeat.timeout");
  auto slot_timeout = config->GetDurationMs("slot.request-timeout");
  auto cancel_timeout = config->GetDurationMs("cancel.timeout");
  auto max_parallelism = config->GetInt("jobs.max-parallelism");
  auto retained = config->GetInt("jobs.retained");
  auto retained_age = config->GetDurationMs("jobs.retained-age");
  for (const Status& s : {heartbeat_interval.status(), heartbeat_timeout.status(), slot_timeout.status(),
                          cancel_timeout.status(), max_parallelism.status(), retained.status(),
                          retained_age.status()}) {
    if (!s.ok()) return Fail(s.message());
  }
  options.heartbeat_interval_ms = *heartbeat_interval;
  options.heartbeat_timeout_ms = *heartbeat_timeout;
  options.slot_request_timeout_ms = *slot_timeout;
  options.cancel_timeout_ms = *cancel_timeout;
  options.max_parallelism = static_cast<int>(*max_parallelism);
  if (*retained < 0) return Fail("jobs.retained must not be negative");
  if (*retained_age < 0) return Fail("jobs.retained-age must not be negative");
  options.jobs_retained = static_cast<size_t>(*retained);
  options.jobs_retained_age_ms = *retained_age;
  if (options.heartbeat_interval_ms <= 0 || options.heartbeat_timeout_ms <= options.heartbeat_interval_ms) {
    return Fail("heartbeat.timeout must be longer than heartbeat.interval, and both positive");
  }

  auto address = ParseHostPort(config->GetString("rpc.address"));
  if (!address.ok()) return Fail(address.status().message());

  SystemClock clock;
  Coordinator coordinator(options, std::make_unique<GrpcTaskGateway>(5000), &clock, log);
  JobServiceImpl job_service(&coordinator);
  ClusterServiceImpl cluster_service(&coordinator);

  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(address->ToString(), grpc::InsecureServerCredentials(), &bound_port);
  // Workers ping to tell a frozen coordinator from a quiet one
  // (CoordinatorLink): those pings are welcome however often they come.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 50);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.RegisterService(&job_service);
  builder.RegisterService(&cluster_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    return Fail("cannot listen on " + address->ToString() + " (in use, or not a local address?)");
  }
  std::string bound = address->host + ":" + std::to_string(bound_port);
  coordinator.Start();
  log->info("coordinator serving on {}", bound);
  if (!address_file.empty()) {
    Status s = WriteFileAtomically(address_file, bound + "\n");
    if (!s.ok()) return Fail(s.message());
  }

  int sig = WaitForTerminationSignal();
  log->info("signal {}: shutting down", sig);
  coordinator.Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
