#include "coordinator/checkpoint_policy.h"

#include <algorithm>
#include <cmath>

#include "common/config.h"

namespace sluice {
namespace {

using JobKeys = std::map<std::string, std::string>;

Result<int64_t> Duration(const JobKeys& c, const std::string& key, int64_t fallback, bool allow_zero) {
  auto it = c.find(key);
  if (it == c.end()) return fallback;
  auto ms = ParseDurationMs(it->second);
  if (!ms.ok() || *ms < 0 || (!allow_zero && *ms == 0)) {
    return Status::InvalidArgument(key + ": '" + it->second + "' is not a " + (allow_zero ? "" : "positive ") +
                                   "duration");
  }
  return *ms;
}

Result<int> Count(const JobKeys& c, const std::string& key, int fallback) {
  auto it = c.find(key);
  if (it == c.end()) return fallback;
  auto v = ParseInt(it->second);
  if (!v.ok() || *v < 0 || *v > 1000000000) {
    return Status::InvalidArgument(key + ": '" + it->second + "' is not a count");
  }
  return static_cast<int>(*v);
}

}  // namespace

std::optional<int64_t> RestartStrategy::DelayBefore(int restart) const {
  if (kind == Kind::kNone || restart > attempts) return std::nullopt;
  if (kind == Kind::kFixedDelay) return delay_ms;
  double delay = static_cast<double>(delay_ms) * std::pow(multiplier, restart - 1);
  return static_cast<int64_t>(std::min(delay, static_cast<double>(max_delay_ms)));
}

std::string RestartStrategy::ToString() const {
  switch (kind) {
    case Kind::kNone: return "none";
    case Kind::kFixedDelay:
      return "fixed-delay (" + std::to_string(attempts) + " attempts, " + std::to_string(delay_ms) + " ms)";
    case Kind::kExponentialDelay:
      return "exponential-delay (" + std::to_string(attempts) + " attempts, " + std::to_string(delay_ms) + " to " +
             std::to_string(max_delay_ms) + " ms)";
  }
  return "?";
}

Result<CheckpointConfig> ParseCheckpointConfig(const JobKeys& c) {
  CheckpointConfig config;
  SLUICE_ASSIGN_OR_RETURN(config.interval_ms, Duration(c, "checkpoint.interval", 0, true));
  SLUICE_ASSIGN_OR_RETURN(config.timeout_ms, Duration(c, "checkpoint.timeout", 60000, false));
  SLUICE_ASSIGN_OR_RETURN(config.min_pause_ms, Duration(c, "checkpoint.min-pause", 0, true));
  SLUICE_ASSIGN_OR_RETURN(config.retained, Count(c, "checkpoint.retained", 1));
  SLUICE_ASSIGN_OR_RETURN(config.tolerable_failures, Count(c, "checkpoint.tolerable-failures", 0));
  SLUICE_ASSIGN_OR_RETURN(config.max_concurrent, Count(c, "checkpoint.max-concurrent", 1));
  if (config.max_concurrent < 1) return Status::InvalidArgument("checkpoint.max-concurrent must be at least 1");
  if (config.retained < 1) return Status::InvalidArgument("checkpoint.retained must be at least 1");
  auto mode = c.find("checkpoint.mode");
  if (mode != c.end()) {
    if (mode->second != "exactly-once" && mode->second != "at-least-once") {
      return Status::InvalidArgument("checkpoint.mode: '" + mode->second + "' is not exactly-once or at-least-once");
    }
    config.exactly_once = mode->second == "exactly-once";
  }
  auto unaligned = c.find("checkpoint.unaligned");
  if (unaligned != c.end()) {
    if (unaligned->second != "true" && unaligned->second != "false") {
      return Status::InvalidArgument("checkpoint.unaligned: '" + unaligned->second + "' is not true or false");
    }
    config.unaligned = unaligned->second == "true";
  }
  SLUICE_ASSIGN_OR_RETURN(config.aligned_timeout_ms, Duration(c, "checkpoint.aligned-timeout", 0, true));
  if (config.unaligned && !config.exactly_once) {
    return Status::InvalidArgument("checkpoint.unaligned needs checkpoint.mode exactly-once: at-least-once "
                                   "barriers are never aligned");
  }
  // As in Flink: an unaligned checkpoint's in-flight data is collected per
  // checkpoint, and a second one would overtake it.
  if (config.max_concurrent > 1 && (config.unaligned || config.aligned_timeout_ms > 0)) {
    return Status::InvalidArgument("checkpoint.max-concurrent " + std::to_string(config.max_concurrent) +
                                   " cannot be combined with checkpoint.unaligned: unaligned checkpoints run "
                                   "one at a time");
  }
  // At-least-once barriers do not hold their channels: a fast input's next
  // barrier would overtake a slow input's current one, and a task counts
  // the barriers of one checkpoint at a time.
  if (config.max_concurrent > 1 && !config.exactly_once) {
    return Status::InvalidArgument("checkpoint.max-concurrent " + std::to_string(config.max_concurrent) +
                                   " needs checkpoint.mode exactly-once: at-least-once checkpoints run one at a time");
  }
  auto dir = c.find("checkpoint.dir");
  if (dir != c.end()) config.dir = dir->second;
  if (config.enabled() && config.dir.empty()) {
    return Status::InvalidArgument("checkpoint.interval is set but checkpoint.dir is not: checkpoints need a "
                                   "directory every worker can reach");
  }
  if (!config.dir.empty() && config.dir[0] != '/') {
    return Status::InvalidArgument("checkpoint.dir: '" + config.dir + "' must be an absolute path");
  }
  return config;
}

Result<RestartStrategy> ParseRestartStrategy(const JobKeys& c, bool checkpointing) {
  RestartStrategy s;
  auto kind = c.find("restart-strategy");
  std::string name = kind != c.end() ? kind->second : (checkpointing ? "exponential-delay" : "none");
  if (name == "none") return s;
  if (name == "fixed-delay") {
    s.kind = RestartStrategy::Kind::kFixedDelay;
    SLUICE_ASSIGN_OR_RETURN(s.attempts, Count(c, "restart-strategy.fixed-delay.attempts", 10));
    SLUICE_ASSIGN_OR_RETURN(s.delay_ms, Duration(c, "restart-strategy.fixed-delay.delay", 1000, true));
    return s;
  }
  if (name == "exponential-delay") {
    s.kind = RestartStrategy::Kind::kExponentialDelay;
    SLUICE_ASSIGN_OR_RETURN(s.attempts, Count(c, "restart-strategy.exponential-delay.attempts", 10));
    SLUICE_ASSIGN_OR_RETURN(s.delay_ms, Duration(c, "restart-strategy.exponential-delay.initial-backoff", 1000, false));
    SLUICE_ASSIGN_OR_RETURN(s.max_delay_ms, Duration(c, "restart-strategy.exponential-delay.max-backoff", 60000, false));
    SLUICE_ASSIGN_OR_RETURN(s.reset_ms,
                            Duration(c, "restart-strategy.exponential-delay.reset-backoff-threshold", 3600000, false));
    auto m = c.find("restart-strategy.exponential-delay.backoff-multiplier");
    if (m != c.end()) {
      char* end = nullptr;
      s.multiplier = std::strtod(m->second.c_str(), &end);
      if (end == m->second.c_str() || *end != '\0' || !(s.multiplier >= 1.0)) {
        return Status::InvalidArgument("restart-strategy.exponential-delay.backoff-multiplier: '" + m->second +
                                       "' is not a number >= 1");
      }
    }
    return s;
  }
  return Status::InvalidArgument("restart-strategy: '" + name + "' is not one of none, fixed-delay, exponential-delay");
}

}  // namespace sluice
