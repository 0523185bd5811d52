// How the CLI prints jobs and workers: text for people, JSON for programs.
// The JSON objects are documented in docs/cli.md and kept stable.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "proto/job_service.pb.h"

namespace sluice {

nlohmann::json JobStatusJson(const proto::JobStatus& job, int64_t now_ms);
nlohmann::json JobListJson(const proto::ListJobsResponse& jobs, int64_t now_ms);
nlohmann::json WorkersJson(const proto::ListWorkersResponse& workers, int64_t now_ms);

std::string JobStatusText(const proto::JobStatus& job, int64_t now_ms);
std::string JobListText(const proto::ListJobsResponse& jobs, int64_t now_ms);
std::string WorkersText(const proto::ListWorkersResponse& workers, int64_t now_ms);

// "2026-11-22 01:40:00" (UTC) or "-" for 0.
std::string FormatTime(int64_t epoch_ms);
std::string JobStateString(proto::JobState state);
std::string TaskStateString(proto::TaskState state);

}  // namespace sluice
