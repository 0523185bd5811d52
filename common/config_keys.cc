// The one table of configuration keys. docs/configuration.md mirrors it; a
// test checks that every key here is documented there.
#include "common/config.h"

#include <algorithm>

namespace sluice {

const std::vector<ConfigKey>& AllConfigKeys() {
  static const std::vector<ConfigKey> kKeys = {
      // Coordinator
      {"rpc.address", "127.0.0.1:6123",
       "Coordinator: address of the gRPC server (JobService, ClusterService). Port 0 picks a free port."},
      {"heartbeat.interval", "1s", "How often a worker sends a heartbeat."},
      {"heartbeat.timeout", "5s",
       "A worker silent for this long is declared lost and the jobs using it fail; a worker whose coordinator "
       "answers no ping for this long cancels its tasks and registers again."},
      {"slot.request-timeout", "30s",
       "How long a submitted job waits for enough free slots before it fails."},
      {"jobs.max-parallelism", "128",
       "Default number of key groups of a job, and the upper bound of any vertex's parallelism."},
      {"jobs.retained", "1000",
       "How many finished jobs the coordinator remembers for list and status; the oldest are forgotten first."},
      {"jobs.retained-age", "1h",
       "How long the coordinator remembers a finished job for list and status; 0 = until jobs.retained pushes it out."},
      {"cancel.timeout", "10s",
       "How long a cancelling or failing job waits for its tasks to confirm before it gives up on them."},
      // Worker
      {"coordinator.address", "127.0.0.1:6123", "Worker: the coordinator to register with."},
      {"worker.slots", "2", "Worker: number of task slots offered."},
      {"worker.rpc-address", "127.0.0.1:6124",
       "Worker: address of its TaskService gRPC server. Port 0 picks a free port."},
      {"worker.data-address", "127.0.0.1:6125",
       "Worker: address of its data-plane listener. Port 0 picks a free port."},
      {"registration.retry-interval", "500ms",
       "Worker: pause between attempts to register with an unreachable coordinator."},
      {"network.memory", "64mb",
       "Worker: memory for network buffers (all outputs and input channels of all tasks)."},
      {"network.buffer-size", "32kb", "Worker: size of one network buffer."},
      {"network.exclusive-buffers", "2", "Worker: buffers owned by each remote input channel (its base credit)."},
      {"network.floating-buffers", "24", "Worker: buffers per input gate lent to channels with a backlog."},
      {"network.max-connections", "1024",
       "Worker: data-port connections open at once; past it new ones are closed at once (a peer flood)."},
      {"network.handshake-timeout", "10s",
       "Worker: a data-port connection must send its first whole frame within this, or it is closed."},
      {"network.idle-timeout", "5min",
       "Worker: a data-port connection that reads no partition for this long is closed."},
      {"network.partition-request-timeout", "120s",
       "Worker: how long a partition request waits for its producer to be deployed here before it is answered "
       "'not found' (the consumer fails). Generous, for producers that restore large state first."},
      {"state.dir", "/tmp/sluice-state",
       "Worker: local directory for RocksDB working state; each worker process uses a subdirectory of its own."},
      // Jobs (job file 'config:' or sluice run -D)
      {"pipeline.flush-timeout", "10ms",
       "Job: longest time a partly filled output buffer waits before it is sent; 0 sends every record at once.", true},
      {"pipeline.auto-watermark-interval", "200ms",
       "Job: how often sources emit their watermark.", true},
      {"task.stall-timeout", "60s",
       "Job: a subtask output whose reader could take its queued data but has taken nothing for this long is a "
       "stall (a data-plane fault): the job fails with the channel's state, so its restart strategy acts, rather "
       "than hang. 0 turns the watchdog off.", true},
      {"pipeline.idle-timeout", "0",
       "Job: a source subtask without rows for this long is idle and stops holding back watermarks; 0 = never.", true},
      {"state.backend", "rocksdb", "Job: where keyed state lives: rocksdb (local disk, the default) or memory.", true},
      {"state.backend.incremental", "true",
       "Job: RocksDB checkpoints upload only the SST files that are new since the last completed checkpoint.", true},
      {"checkpoint.interval", "0", "Job: how often a checkpoint is taken; 0 = never.", true},
      {"checkpoint.dir", "", "Job: absolute directory on storage every worker shares, for checkpoints.", true},
      {"checkpoint.timeout", "60s", "Job: a checkpoint not complete after this long is abandoned.", true},
      {"checkpoint.min-pause", "0", "Job: least time between the end of a checkpoint and the next trigger.", true},
      {"checkpoint.max-concurrent", "1", "Job: checkpoints in flight at once (aligned only; a min-pause makes it 1).", true},
      {"checkpoint.retained", "1", "Job: completed checkpoints kept; a damaged one falls back to the one before.", true},
      {"checkpoint.tolerable-failures", "0", "Job: consecutive failed checkpoints tolerated before the job fails.", true},
      {"checkpoint.mode", "exactly-once", "Job: exactly-once (aligned barriers) or at-least-once.", true},
      {"checkpoint.unaligned", "false",
       "Job: barriers overtake queued buffers, which are stored with the checkpoint (fast checkpoints under "
       "backpressure). Savepoints are always aligned.", true},
      {"checkpoint.aligned-timeout", "0ms",
       "Job: with checkpoint.unaligned, start aligned and switch to unaligned when alignment takes longer; "
       "0 = unaligned at once.", true},
      {"savepoint.dir", "", "Job: default directory of sluice savepoint and stop.", true},
      {"restart-strategy", "", "Job: none, fixed-delay or exponential-delay; unset = exponential-delay with checkpoints, else none.", true},
      {"restart-strategy.fixed-delay.attempts", "10", "Job: restarts before the job fails.", true},
      {"restart-strategy.fixed-delay.delay", "1s", "Job: pause before each restart.", true},
      {"restart-strategy.exponential-delay.attempts", "10", "Job: restarts before the job fails.", true},
      {"restart-strategy.exponential-delay.initial-backoff", "1s", "Job: pause before the first restart.", true},
      {"restart-strategy.exponential-delay.max-backoff", "60s", "Job: the longest pause.", true},
      {"restart-strategy.exponential-delay.backoff-multiplier", "2.0", "Job: each pause is the last one times this.", true},
      {"restart-strategy.exponential-delay.reset-backoff-threshold", "1h", "Job: after running this long the pauses start over.", true},
      // Both daemons
      {"log.level", "info", "trace, debug, info, warn, error or off."},
  };
  return kKeys;
}

const ConfigKey* FindConfigKey(std::string_view name) {
  for (const auto& key : AllConfigKeys()) {
    if (name == key.name) return &key;
  }
  return nullptr;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const ConfigKey* NearestConfigKey(std::string_view name, bool per_job_only) {
  // Keys are short; a longer name is cut so that a hostile one costs no
  // more than a misspelt one.
  name = name.substr(0, 128);
  const ConfigKey* best = nullptr;
  size_t best_distance = 0;
  for (const auto& key : AllConfigKeys()) {
    if (per_job_only && !key.per_job) continue;
    size_t d = EditDistance(name, key.name);
    if (best == nullptr || d < best_distance) {
      best = &key;
      best_distance = d;
    }
  }
  return best;
}

}  // namespace sluice
