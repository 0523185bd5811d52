#include "coordinator/job_state.h"

#include <string>

namespace sluice {

bool IsTerminal(JobState s) {
  return s == proto::FINISHED || s == proto::CANCELED || s == proto::FAILED;
}

Status CheckTransition(JobState from, JobState to) {
  bool allowed = false;
  switch (from) {
    case proto::CREATED:
      allowed = to == proto::RUNNING || to == proto::FAILED || to == proto::CANCELED ||
                to == proto::FAILING || to == proto::CANCELLING;
      break;
    case proto::RUNNING:
      allowed = to == proto::FINISHED || to == proto::FAILING || to == proto::CANCELLING ||
                to == proto::RESTARTING;
      break;
    case proto::FAILING:
      allowed = to == proto::FAILED || to == proto::RESTARTING || to == proto::CANCELLING;
      break;
    case proto::RESTARTING:
      allowed = to == proto::CREATED || to == proto::RUNNING || to == proto::CANCELLING ||
                to == proto::FAILED || to == proto::CANCELED || to == proto::FAILING;
      break;
    case proto::CANCELLING:
      allowed = to == proto::CANCELED;
      break;
    default:
      allowed = false;  // terminal states have no way out
  }
  if (allowed) return Status::Ok();
  return Status::FailedPrecondition(std::string("job cannot go from ") + JobStateName(from) +
                                    " to " + JobStateName(to));
}

const char* JobStateName(JobState s) {
  switch (s) {
    case proto::CREATED: return "CREATED";
    case proto::RUNNING: return "RUNNING";
    case proto::FAILING: return "FAILING";
    case proto::RESTARTING: return "RESTARTING";
    case proto::CANCELLING: return "CANCELLING";
    case proto::CANCELED: return "CANCELED";
    case proto::FINISHED: return "FINISHED";
    case proto::FAILED: return "FAILED";
    default: return "UNKNOWN";
  }
}

const char* TaskStateName(proto::TaskState s) {
  switch (s) {
    case proto::SCHEDULED: return "SCHEDULED";
    case proto::DEPLOYING: return "DEPLOYING";
    case proto::TASK_RUNNING: return "RUNNING";
    case proto::TASK_FINISHED: return "FINISHED";
    case proto::TASK_CANCELED: return "CANCELED";
    case proto::TASK_FAILED: return "FAILED";
    default: return "UNKNOWN";
  }
}

bool IsTerminalTask(proto::TaskState s) {
  return s == proto::TASK_FINISHED || s == proto::TASK_CANCELED || s == proto::TASK_FAILED;
}

}  // namespace sluice
