#include "tests/support/local_cluster.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>

namespace sluice::testing {

LocalCluster::LocalCluster(std::vector<std::string> coordinator_flags)
    : coordinator_flags_(std::move(coordinator_flags)), dir_(MakeTempDir("sluice-cluster")) {}

LocalCluster::~LocalCluster() {
  // Workers first, so the coordinator does not log them as lost for nothing.
  for (auto& w : workers_) {
    w.process->Signal(SIGTERM);
    if (w.process->Wait(10000) < 0) w.process->Signal(SIGKILL);
  }
  workers_.clear();
  if (coordinator_) {
    coordinator_->Signal(SIGTERM);
    if (coordinator_->Wait(15000) < 0) coordinator_->Signal(SIGKILL);
    coordinator_.reset();
  }
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
  else std::fprintf(stderr, "cluster files kept in %s\n", dir_.c_str());
}

Result<std::string> LocalCluster::WaitForAddressFile(const std::string& path, ChildProcess& process) {
  std::string address;
  bool ok = WaitUntil(
      [&] {
        address = ReadFile(path);
        return !address.empty() || !process.Running();
      },
      15000);
  if (!ok || address.empty()) return Status::Unavailable("daemon did not start; logs:\n" + Logs());
  while (!address.empty() && address.back() == '\n') address.pop_back();
  return address;
}

Status LocalCluster::StartCoordinator() {
  std::string file = dir_ + "/coordinator.address";
  std::vector<std::string> argv = {SLUICE_BIN_DIR "/sluice-coordinator", "--rpc-address", "127.0.0.1:0",
                                   "--address-file", file};
  argv.insert(argv.end(), coordinator_flags_.begin(), coordinator_flags_.end());
  auto process = ChildProcess::Spawn(argv, dir_ + "/coordinator.log");
  if (!process.ok()) return process.status();
  coordinator_ = std::move(*process);
  auto address = WaitForAddressFile(file, *coordinator_);
  if (!address.ok()) return address.status();
  coordinator_address_ = *address;
  return Status::Ok();
}

Status LocalCluster::RestartCoordinator() {
  coordinator_->Signal(SIGKILL);
  coordinator_->Wait(10000);
  std::string file = dir_ + "/coordinator-restarted.address";
  std::vector<std::string> argv = {SLUICE_BIN_DIR "/sluice-coordinator", "--rpc-address", coordinator_address_,
                                   "--address-file", file};
  argv.insert(argv.end(), coordinator_flags_.begin(), coordinator_flags_.end());
  auto process = ChildProcess::Spawn(argv, dir_ + "/coordinator.log");
  if (!process.ok()) return process.status();
  coordinator_ = std::move(*process);
  auto address = WaitForAddressFile(file, *coordinator_);
  return address.ok() ? Status::Ok() : address.status();
}

Status LocalCluster::StartWorker(int slots, std::vector<std::string> flags, std::vector<std::string> launcher) {
  size_t n = workers_.size();
  std::string file = dir_ + "/worker-" + std::to_string(n) + ".address";
  std::vector<std::string> argv = {SLUICE_BIN_DIR "/sluice-worker", "--coordinator", coordinator_address_,
                                   "--slots", std::to_string(slots), "--rpc-address", "127.0.0.1:0",
                                   "--data-address", "127.0.0.1:0", "--address-file", file,
                                   // State under the cluster's directory, so a worker killed with
                                   // -9 leaves nothing behind once the test cleans up.
                                   "-D", "state.dir=" + dir_ + "/state"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.begin(), launcher.begin(), launcher.end());
  auto process = ChildProcess::Spawn(argv, dir_ + "/worker-" + std::to_string(n) + ".log");
  if (!process.ok()) return process.status();
  workers_.push_back({std::move(*process), ""});
  auto address = WaitForAddressFile(file, *workers_.back().process);
  if (!address.ok()) return address.status();
  workers_.back().address = *address;
  return Status::Ok();
}

Status LocalCluster::Start(size_t workers, int slots) {
  SLUICE_RETURN_IF_ERROR(StartCoordinator());
  for (size_t i = 0; i < workers; ++i) SLUICE_RETURN_IF_ERROR(StartWorker(slots));
  if (!WaitForWorkers(workers)) return Status::DeadlineExceeded("the workers did not register");
  return Status::Ok();
}

bool LocalCluster::WaitForWorkers(size_t n, int64_t timeout_ms) {
  return WaitUntil(
      [&] {
        auto j = CliJson({"workers"});
        return j.is_object() && j["workers"].size() == n;
      },
      timeout_ms);
}

CommandResult LocalCluster::Cli(std::vector<std::string> args, int64_t timeout_ms) const {
  std::vector<std::string> argv = {SLUICE_BIN_DIR "/sluice", "--coordinator", coordinator_address_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout_ms);
}

nlohmann::json LocalCluster::CliJson(std::vector<std::string> args) const {
  args.push_back("--json");
  CommandResult r = Cli(args);
  if (r.exit_code != 0) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, false);
}

std::string LocalCluster::JobState(const std::string& job_id) const {
  auto j = CliJson({"status", job_id});
  if (!j.is_object() || !j.contains("state")) return "";
  return j["state"].get<std::string>();
}

std::string LocalCluster::Logs() const {
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().extension() == ".log") {
      all += "==== " + entry.path().filename().string() + "\n" + ReadFile(entry.path().string());
    }
  }
  return all;
}

std::string JobIdFromRunOutput(const std::string& out) {
  std::smatch m;
  static const std::regex kPattern("Job ([0-9a-f]+) submitted");
  return std::regex_search(out, m, kPattern) ? m[1].str() : "";
}

}  // namespace sluice::testing
