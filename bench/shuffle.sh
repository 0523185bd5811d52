#!/usr/bin/env bash
# Records per second per core of the shuffle example (datagen -> HASH exchange
# -> keyed-count -> file sink) on a local cluster of one coordinator and two
# workers, measured as Flink's nexmark harness does: time from the job's start
# to its end, cores from the CPU time of every cluster process.
#
#   bench/shuffle.sh [--events N] [--parallelism P]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
events=20000000
parallelism=2
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --parallelism) parallelism="$2"; shift 2 ;;
    *) echo "shuffle.sh: unknown option '$1' (--events N, --parallelism P)" >&2; exit 2 ;;
  esac
done
bin="$root/build/bin"
export SLUICE_RUN_DIR="$root/run/bench-shuffle"
out="$SLUICE_RUN_DIR/out"
trap '"$root/deploy/local-cluster.sh" stop >/dev/null' EXIT
eval "$("$root/deploy/local-cluster.sh" start --workers 2 --slots "$parallelism" --port 0 | grep '^export')"

cpu_ticks() {  # utime+stime of every cluster process, in clock ticks
  local total=0 f
  for f in "$SLUICE_RUN_DIR"/*.pid; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$(cat "$f")/stat")))
  done
  echo "$total"
}

run() {  # events -> job id
  rm -rf "$out"
  "$bin/sluice" run "$root/examples/jobs/shuffle.yaml" -p "$parallelism" -D events="$1" -D output="$out" |
    sed -n 's/^Job \([0-9a-f]*\) submitted$/\1/p'
}

run 1000000 >/dev/null  # warm-up: connections, page faults, caches
before=$(cpu_ticks)
job=$(run "$events")
after=$(cpu_ticks)
"$bin/sluice" status "$job" --json >"$SLUICE_RUN_DIR/status.json"
python3 - "$SLUICE_RUN_DIR/status.json" "$events" "$before" "$after" "$(getconf CLK_TCK)" <<'PY'
import json, sys
status = json.load(open(sys.argv[1]))
events, before, after, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
assert status["state"] == "FINISHED", status["state"]
seconds = (status["end_time_ms"] - status["start_time_ms"]) / 1000.0
cpu = (after - before) / hz
print(json.dumps({"job": "shuffle", "events": events, "seconds": round(seconds, 3),
                  "cpu_seconds": round(cpu, 2), "cores": round(cpu / seconds, 2),
                  "events_per_second": round(events / seconds),
                  "events_per_second_per_core": round(events / cpu)}))
PY
