// A coordinator and N workers as real processes on 127.0.0.1, every port
// picked free by the daemons themselves (port 0) and read back from their
// address files. Everything it starts, it stops.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace sluice::testing {

class LocalCluster {
 public:
  explicit LocalCluster(std::vector<std::string> coordinator_flags = {});
  ~LocalCluster();

  // Starts the coordinator; OK once it serves.
  Status StartCoordinator();
  // Kills the coordinator (SIGKILL) and starts a new one on the same address.
  Status RestartCoordinator();
  // Starts a worker; OK once it serves (not yet necessarily registered).
  // `launcher` goes before the binary (e.g. {"prlimit", "--nofile=128", "--"}).
  Status StartWorker(int slots = 2, std::vector<std::string> flags = {}, std::vector<std::string> launcher = {});
  // Waits until `n` workers are registered.
  bool WaitForWorkers(size_t n, int64_t timeout_ms = 15000);
  // The usual start: the coordinator and `workers` workers, all registered.
  Status Start(size_t workers, int slots = 2);

  const std::string& coordinator_address() const { return coordinator_address_; }
  const std::string& worker_address(size_t i) const { return workers_[i].address; }
  ChildProcess& worker(size_t i) { return *workers_[i].process; }
  ChildProcess& coordinator() { return *coordinator_; }
  const std::string& dir() const { return dir_; }

  // Runs the CLI against this cluster.
  CommandResult Cli(std::vector<std::string> args, int64_t timeout_ms = 60000) const;
  // `sluice <args> --json`, parsed; null on failure.
  nlohmann::json CliJson(std::vector<std::string> args) const;
  // The job's state from `sluice status --json`, "" on error.
  std::string JobState(const std::string& job_id) const;
  // All daemon logs, for failure messages.
  std::string Logs() const;

 private:
  struct Worker {
    std::unique_ptr<ChildProcess> process;
    std::string address;
  };
  Result<std::string> WaitForAddressFile(const std::string& path, ChildProcess& process);

  std::vector<std::string> coordinator_flags_;
  std::string dir_;
  std::unique_ptr<ChildProcess> coordinator_;
  std::string coordinator_address_;
  std::vector<Worker> workers_;
};

// "Job <id> submitted" -> id, or "".
std::string JobIdFromRunOutput(const std::string& out);

}  // namespace sluice::testing
