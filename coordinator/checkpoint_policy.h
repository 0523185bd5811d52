// A job's checkpointing and restart settings, read from its job keys
// (docs/configuration.md) when it is submitted, so a bad value is an error
// then rather than a surprise at the first failure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "common/status.h"

namespace sluice {

struct CheckpointConfig {
  int64_t interval_ms = 0;  // 0: no checkpoints
  std::string dir;          // checkpoint.dir, shared by all workers
  int64_t timeout_ms = 60000;
  int64_t min_pause_ms = 0;     // between the end of one checkpoint and the next trigger
  // Checkpoints in flight at once. As in Flink, a min-pause makes it one:
  // the pause runs from a completion, so nothing starts while one is in flight.
  int max_concurrent = 1;
  int retained = 1;             // completed checkpoints kept; restores fall back through them
  int tolerable_failures = 0;   // consecutive failed checkpoints before the job fails, as Flink
  bool exactly_once = true;     // checkpoint.mode; at-least-once does not align barriers
  bool unaligned = false;       // checkpoint.unaligned: barriers overtake queued buffers
  int64_t aligned_timeout_ms = 0;  // checkpoint.aligned-timeout: aligned first, unaligned after this
  bool enabled() const { return interval_ms > 0; }
};

// As Flink's restart strategies: none, fixed-delay (attempts, delay) and
// exponential-delay (initial, max, multiplier, reset threshold, attempts).
// With checkpoints and no strategy set, a job restarts with
// exponential-delay.
struct RestartStrategy {
  enum class Kind { kNone, kFixedDelay, kExponentialDelay };
  Kind kind = Kind::kNone;
  int attempts = 0;
  int64_t delay_ms = 1000;      // fixed delay, or the first exponential one
  int64_t max_delay_ms = 60000;
  double multiplier = 2.0;
  int64_t reset_ms = 3600000;   // exponential: a run this long starts the backoff over

  // The wait before restart number `restart` (1, 2, ...); none when the
  // strategy allows no more.
  std::optional<int64_t> DelayBefore(int restart) const;
  std::string ToString() const;
};

Result<CheckpointConfig> ParseCheckpointConfig(const std::map<std::string, std::string>& job_config);
Result<RestartStrategy> ParseRestartStrategy(const std::map<std::string, std::string>& job_config,
                                             bool checkpointing);

}  // namespace sluice
