// The job state machine (docs/architecture.md, "Scheduling").
#pragma once

#include "common/status.h"
#include "proto/job.pb.h"

namespace sluice {

using JobState = proto::JobState;

bool IsTerminal(JobState state);
// OK if a job may move from `from` to `to`; FAILED_PRECONDITION otherwise.
Status CheckTransition(JobState from, JobState to);
const char* JobStateName(JobState state);
const char* TaskStateName(proto::TaskState state);
bool IsTerminalTask(proto::TaskState state);

}  // namespace sluice
