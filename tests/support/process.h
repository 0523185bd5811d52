// Child processes for tests: daemons in the background, commands to
// completion. Every process a test starts, the test stops (destructors kill).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::testing {

class ChildProcess {
 public:
  // Starts argv[0] with stdout and stderr appended to `log_path`.
  static Result<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                     const std::string& log_path);
  ~ChildProcess();  // SIGKILL if still running, then reap

  pid_t pid() const { return pid_; }
  bool Running();
  void Signal(int sig);
  // Waits up to timeout_ms for the exit; returns the exit code, 128+signal,
  // or -1 on timeout.
  int Wait(int64_t timeout_ms);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command to completion (killed after timeout_ms).
CommandResult RunCommand(const std::vector<std::string>& argv, int64_t timeout_ms = 60000);

// Polls `condition` every 20 ms until true or the timeout passes.
bool WaitUntil(const std::function<bool()>& condition, int64_t timeout_ms);

std::string ReadFile(const std::string& path);
// A fresh directory under $TMPDIR, removed by the caller.
std::string MakeTempDir(const std::string& prefix);

}  // namespace sluice::testing
