#include "client/status_format.h"

#include <ctime>
#include <iomanip>
#include <sstream>

namespace sluice {
namespace {

int64_t DurationMs(const proto::JobStatus& job, int64_t now_ms) {
  if (job.start_time_ms() == 0) return 0;
  int64_t end = job.end_time_ms() != 0 ? job.end_time_ms() : now_ms;
  return end - job.start_time_ms();
}

std::string FormatDuration(int64_t ms) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << ms / 1000.0 << " s";
  return out.str();
}

nlohmann::json JobSummaryJson(const proto::JobStatus& job, int64_t now_ms) {
  return {{"id", job.job_id()},
          {"name", job.name()},
          {"state", JobStateString(job.state())},
          {"submit_time_ms", job.submit_time_ms()},
          {"start_time_ms", job.start_time_ms()},
          {"end_time_ms", job.end_time_ms()},
          {"duration_ms", DurationMs(job, now_ms)},
          {"failure", job.failure()}};
}

}  // namespace

std::string JobStateString(proto::JobState state) {
  std::string name = proto::JobState_Name(state);
  return name;
}

std::string TaskStateString(proto::TaskState state) {
  std::string name = proto::TaskState_Name(state);
  if (name.rfind("TASK_", 0) == 0) name = name.substr(5);
  return name;
}

std::string FormatTime(int64_t epoch_ms) {
  if (epoch_ms == 0) return "-";
  std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

nlohmann::json JobStatusJson(const proto::JobStatus& job, int64_t now_ms) {
  nlohmann::json out = JobSummaryJson(job, now_ms);
  const auto& c = job.checkpoints();
  out["restarts"] = job.restarts();
  out["waiting_for_slots"] = nullptr;
  if (job.has_waiting_for_slots()) {
    const auto& w = job.waiting_for_slots();
    out["waiting_for_slots"] = {{"slots_needed", w.slots_needed()}, {"slots_free", w.slots_free()},
                                {"slots_total", w.slots_total()},   {"workers", w.workers()},
                                {"since_ms", w.since_ms()},         {"timeout_ms", w.timeout_ms()},
                                {"waited_ms", now_ms - w.since_ms()}};
  }
  out["checkpoints"] = {{"completed", c.completed()},
                        {"failed", c.failed()},
                        {"last_completed_id", c.last_completed_id()},
                        {"last_duration_ms", c.last_duration_ms()},
                        {"last_bytes", c.last_bytes()},
                        {"last_completed_ms", c.last_completed_ms()},
                        {"last_path", c.last_path()},
                        {"restored_id", c.restored_id()},
                        {"in_progress_id", c.in_progress_id()},
                        {"in_progress", c.in_progress()}};
  out["vertices"] = nlohmann::json::array();
  for (const auto& v : job.vertices()) {
    nlohmann::json vertex = {{"id", v.id()},
                             {"operators", v.operators()},
                             {"parallelism", v.parallelism()},
                             {"subtasks", nlohmann::json::array()}};
    for (const auto& s : v.subtasks()) {
      vertex["subtasks"].push_back({{"index", s.index()},
                                    {"worker", s.worker_id()},
                                    {"worker_address", s.worker_address()},
                                    {"state", TaskStateString(s.state())},
                                    {"records_in", s.metrics().records_in()},
                                    {"records_out", s.metrics().records_out()},
                                    {"bytes_in", s.metrics().bytes_in()},
                                    {"bytes_out", s.metrics().bytes_out()},
                                    {"records_in_per_second", s.metrics().records_in_per_second()},
                                    {"records_out_per_second", s.metrics().records_out_per_second()},
                                    {"backpressured_ms_per_second", s.metrics().backpressured_ms_per_second()},
                                    {"buffers_queued_in", s.metrics().buffers_queued_in()},
                                    {"buffers_queued_out", s.metrics().buffers_queued_out()},
                                    {"state_entries", s.metrics().state_entries()},
                                    {"failure", s.failure()}});
    }
    out["vertices"].push_back(std::move(vertex));
  }
  return out;
}

nlohmann::json JobListJson(const proto::ListJobsResponse& jobs, int64_t now_ms) {
  nlohmann::json out = {{"jobs", nlohmann::json::array()}};
  for (const auto& job : jobs.jobs()) out["jobs"].push_back(JobSummaryJson(job, now_ms));
  return out;
}

nlohmann::json WorkersJson(const proto::ListWorkersResponse& workers, int64_t now_ms) {
  nlohmann::json out = {{"workers", nlohmann::json::array()}};
  for (const auto& w : workers.workers()) {
    out["workers"].push_back({{"id", w.worker_id()},
                              {"rpc_address", w.rpc_address()},
                              {"data_address", w.data_address()},
                              {"slots_total", w.slots_total()},
                              {"slots_free", w.slots_free()},
                              {"running_tasks", w.running_tasks()},
                              {"network_buffers_total", w.network_buffers_total()},
                              {"network_buffers_free", w.network_buffers_free()},
                              {"registered_ms", w.registered_ms()},
                              {"last_heartbeat_ms", w.last_heartbeat_ms()},
                              {"last_heartbeat_age_ms", now_ms - w.last_heartbeat_ms()}});
  }
  return out;
}

std::string JobStatusText(const proto::JobStatus& job, int64_t now_ms) {
  std::ostringstream out;
  out << "Job " << job.job_id() << " (" << job.name() << "): " << JobStateString(job.state()) << "\n";
  out << "  submitted " << FormatTime(job.submit_time_ms()) << "  started " << FormatTime(job.start_time_ms())
      << "  duration " << FormatDuration(DurationMs(job, now_ms)) << "\n";
  if (!job.failure().empty()) out << "  failure: " << job.failure() << "\n";
  if (job.has_waiting_for_slots()) {
    const auto& w = job.waiting_for_slots();
    out << "  waiting for slots: needs " << w.slots_needed() << ", " << w.slots_free() << " free of "
        << w.slots_total() << " on " << w.workers() << " worker" << (w.workers() == 1 ? "" : "s") << "; waited "
        << FormatDuration(now_ms - w.since_ms()) << ", fails after slot.request-timeout ("
        << FormatDuration(w.timeout_ms()) << ")\n";
  }
  const auto& c = job.checkpoints();
  if (c.completed() > 0 || c.failed() > 0 || c.in_progress() > 0 || job.restarts() > 0) {
    out << "  checkpoints: " << c.completed() << " completed, " << c.failed() << " failed, " << c.in_progress()
        << " in progress";
    if (c.in_progress() > 0) out << " (newest " << c.in_progress_id() << ")";
    if (c.last_completed_id() > 0) {
      out << "; latest " << c.last_completed_id() << " at " << FormatTime(c.last_completed_ms()) << " took "
          << c.last_duration_ms() << " ms, " << c.last_bytes() << " bytes (" << c.last_path() << ")";
    }
    out << "\n";
  }
  if (job.restarts() > 0) {
    out << "  restarts: " << job.restarts();
    if (c.restored_id() > 0) out << " (the current attempt restored checkpoint " << c.restored_id() << ")";
    out << "\n";
  }
  for (const auto& v : job.vertices()) {
    out << "  vertex " << v.id() << " [" << v.operators() << "] parallelism " << v.parallelism() << "\n";
    for (const auto& s : v.subtasks()) {
      out << "    #" << s.index() << "  " << std::left << std::setw(9) << TaskStateString(s.state()) << " "
          << (s.worker_id().empty() ? "-" : s.worker_id()) << " " << s.worker_address()
          << "  in " << s.metrics().records_in() << "  out " << s.metrics().records_out();
      const auto& m = s.metrics();
      if (s.state() == proto::TASK_RUNNING) {
        out << std::fixed << std::setprecision(0) << "  (" << m.records_in_per_second() << "/s in, "
            << m.records_out_per_second() << "/s out, backpressured " << m.backpressured_ms_per_second()
            << " ms/s, queued " << m.buffers_queued_in() << " in / " << m.buffers_queued_out() << " out";
        if (m.state_entries() > 0) out << ", state " << m.state_entries() << " entries";
        out << ")";
      }
      if (!s.failure().empty()) out << "  (" << s.failure() << ")";
      out << "\n";
    }
  }
  return out.str();
}

std::string JobListText(const proto::ListJobsResponse& jobs, int64_t now_ms) {
  std::ostringstream out;
  if (jobs.jobs().empty()) return "No jobs.\n";
  out << std::left << std::setw(18) << "ID" << std::setw(12) << "STATE" << std::setw(21) << "SUBMITTED"
      << std::setw(12) << "DURATION" << "NAME\n";
  for (const auto& job : jobs.jobs()) {
    out << std::setw(18) << job.job_id() << std::setw(12) << JobStateString(job.state()) << std::setw(21)
        << FormatTime(job.submit_time_ms()) << std::setw(12) << FormatDuration(DurationMs(job, now_ms))
        << job.name() << "\n";
  }
  return out.str();
}

std::string WorkersText(const proto::ListWorkersResponse& workers, int64_t now_ms) {
  std::ostringstream out;
  if (workers.workers().empty()) return "No workers registered.\n";
  out << std::left << std::setw(20) << "ID" << std::setw(22) << "RPC" << std::setw(22) << "DATA"
      << std::setw(12) << "SLOTS" << std::setw(7) << "TASKS" << "LAST HEARTBEAT\n";
  for (const auto& w : workers.workers()) {
    std::string slots = std::to_string(w.slots_free()) + "/" + std::to_string(w.slots_total()) + " free";
    out << std::setw(20) << w.worker_id() << std::setw(22) << w.rpc_address() << std::setw(22)
        << w.data_address() << std::setw(12) << slots << std::setw(7) << w.running_tasks()
        << (now_ms - w.last_heartbeat_ms()) << " ms ago\n";
  }
  return out.str();
}

}  // namespace sluice
