// sluice: the command-line client. Every error is one line on stderr and a
// non-zero exit: 1 for a job that did not finish, 2 for anything else.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "client/job_client.h"
#include "client/job_file.h"
#include "client/status_format.h"
#include "common/clock.h"

namespace {

using namespace sluice;

int Error(const std::string& message) {
  std::cerr << "sluice: " << message << "\n";
  return 2;
}

int Error(const Status& status) { return Error(status.message()); }

bool IsTerminal(proto::JobState s) {
  return s == proto::FINISHED || s == proto::CANCELED || s == proto::FAILED;
}

// Follows the job until it ends; exit code 0 only for FINISHED.
int Follow(JobClient& client, const std::string& job_id) {
  SystemClock clock;
  proto::JobState last = proto::JOB_STATE_UNSPECIFIED;
  while (true) {
    auto job = client.Get(job_id);
    if (!job.ok()) return Error(job.status());
    if (job->state() != last) {
      last = job->state();
      std::cout << FormatTime(clock.NowMillis()) << "  " << JobStateString(last) << std::endl;
    }
    if (IsTerminal(job->state())) {
      std::cout << JobStatusText(*job, clock.NowMillis());
      if (job->state() == proto::FINISHED) return 0;
      std::cerr << "sluice: job " << job_id << " " << JobStateString(job->state())
                << (job->failure().empty() ? "" : ": " + job->failure()) << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sluice: submit and watch jobs on a Sluice cluster."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sluice ") + SLUICE_VERSION);
  const char* env = std::getenv("SLUICE_COORDINATOR");
  std::string coordinator = env != nullptr && *env != '\0' ? env : "127.0.0.1:6123";
  int64_t timeout_ms = 10000;
  app.add_option("--coordinator", coordinator, "host:port of the coordinator (default $SLUICE_COORDINATOR, else 127.0.0.1:6123)");
  app.add_option("--timeout-ms", timeout_ms, "Deadline of each call to the coordinator")->check(CLI::PositiveNumber);

  std::string job_file;
  int parallelism = 0;
  std::vector<std::string> defines;
  bool detached = false;
  auto* run = app.add_subcommand("run", "Submit a job file; by default follow it to its end");
  run->add_option("jobfile", job_file, "The job's YAML file")->required();
  run->add_option("-p,--parallelism", parallelism, "Default parallelism")->check(CLI::Range(1, 32768));
  run->add_option("-D", defines, "Set a job parameter: -D name=value")->allow_extra_args(false);
  run->add_flag("-d,--detached", detached, "Print the job id and return at once");
  std::string from_savepoint, from_checkpoint;
  run->add_option("-s,--from-savepoint", from_savepoint, "Start from this savepoint directory");
  run->add_option("--from-checkpoint", from_checkpoint, "Start from this retained checkpoint directory (chk-N)");

  bool json = false;
  auto* list = app.add_subcommand("list", "List jobs");
  list->add_flag("--json", json, "Print a JSON object");

  std::string job_id;
  auto* status = app.add_subcommand("status", "Show a job's state, vertices, subtasks and metrics");
  status->add_option("jobid", job_id, "Job id")->required();
  status->add_flag("--json", json, "Print a JSON object");

  auto* cancel = app.add_subcommand("cancel", "Cancel a job");
  cancel->add_option("jobid", job_id, "Job id")->required();

  std::string savepoint_dir;
  auto* savepoint = app.add_subcommand("savepoint", "Take a savepoint of a running job and print its path");
  savepoint->add_option("jobid", job_id, "Job id")->required();
  savepoint->add_option("directory", savepoint_dir,
                        "Where to write it: an absolute path every worker can reach (default: the job's savepoint.dir)");
  bool drain = false;
  auto* stop = app.add_subcommand("stop", "Take a savepoint, then cancel the job (with --drain: let it finish)");
  stop->add_option("jobid", job_id, "Job id")->required();
  stop->add_option("--savepoint", savepoint_dir, "Where to write the savepoint (default: the job's savepoint.dir)");
  stop->add_flag("--drain", drain,
                 "Emit the maximum watermark first, so every window fires and its result is in the output; "
                 "the sources then end and the job finishes");

  auto* workers = app.add_subcommand("workers", "List registered workers");
  workers->add_flag("--json", json, "Print a JSON object");

  // CLI11 would only say "a subcommand is required" for a mistyped command.
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--coordinator" || arg == "--timeout-ms") {
      ++i;
      continue;
    }
    if (arg.rfind("-", 0) == 0) continue;
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) known = known || sub->get_name() == arg;
    if (!known) return Error("unknown command '" + arg + "' (run, list, status, cancel, savepoint, stop, workers; see sluice --help)");
    break;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where = app.get_subcommands().empty() ? "" : app.get_subcommands()[0]->get_name() + ": ";
    return Error(where + e.what() + " (see sluice --help)");
  }

  JobClient client(coordinator, timeout_ms);
  SystemClock clock;

  if (*run) {
    JobFileOptions options;
    options.default_parallelism = parallelism;
    for (const auto& d : defines) {
      size_t eq = d.find('=');
      if (eq == std::string::npos || eq == 0) return Error("-D " + d + ": expected name=value");
      options.parameters[d.substr(0, eq)] = d.substr(eq + 1);
    }
    OperatorCatalog catalog = OperatorCatalog::Builtin();
    auto graph = ParseJobFile(job_file, options, catalog);
    if (!graph.ok()) return Error(graph.status());
    if (!from_savepoint.empty() && !from_checkpoint.empty()) {
      return Error("run: give --from-savepoint or --from-checkpoint, not both");
    }
    auto id = client.Submit(*graph, from_savepoint.empty() ? from_checkpoint : from_savepoint);
    if (!id.ok()) return Error(id.status());
    std::cout << "Job " << *id << " submitted" << std::endl;
    if (detached) return 0;
    return Follow(client, *id);
  }
  if (*list) {
    auto jobs = client.List();
    if (!jobs.ok()) return Error(jobs.status());
    if (json) std::cout << JobListJson(*jobs, clock.NowMillis()).dump(2) << "\n";
    else std::cout << JobListText(*jobs, clock.NowMillis());
    return 0;
  }
  if (*status) {
    auto job = client.Get(job_id);
    if (!job.ok()) return Error(job.status());
    if (json) std::cout << JobStatusJson(*job, clock.NowMillis()).dump(2) << "\n";
    else std::cout << JobStatusText(*job, clock.NowMillis());
    return 0;
  }
  if (*cancel) {
    auto r = client.Cancel(job_id);
    if (!r.ok()) return Error(r.status());
    std::cout << "Cancelling job " << job_id << " (was " << JobStateString(r->state()) << ")\n";
    return 0;
  }
  if (*savepoint || *stop) {
    // A savepoint of large state takes long: wait for it, not the call timeout.
    JobClient patient(coordinator, std::max<int64_t>(timeout_ms, 600000));
    const bool stopping = static_cast<bool>(*stop);
    auto path = patient.Savepoint(job_id, savepoint_dir, stopping, stopping && drain);
    if (!path.ok()) return Error(path.status());
    std::cout << "Savepoint " << *path
              << (stopping ? " taken; job " + job_id + (drain ? " drained and finishing" : " stopped") : "") << "\n";
    return 0;
  }
  if (*workers) {
    auto w = client.Workers();
    if (!w.ok()) return Error(w.status());
    if (json) std::cout << WorkersJson(*w, clock.NowMillis()).dump(2) << "\n";
    else std::cout << WorkersText(*w, clock.NowMillis());
    return 0;
  }
  return Error("no command given (see sluice --help)");
}
