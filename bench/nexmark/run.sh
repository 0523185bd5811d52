#!/usr/bin/env bash
# Nexmark throughput per core, measured as Flink's nexmark harness does:
# each query runs a fixed number of events at full speed into the blackhole
# sink on a local cluster (one coordinator, two workers); time runs from the
# job's start to its end; cores = CPU seconds of every cluster process (from
# /proc) / wall seconds; throughput per core = events / CPU seconds. A
# "generator only" row (source into blackhole) is measured first, as the
# ceiling.
#
#   bench/nexmark/run.sh [--events N] [--queries q0,q1,...] [--parallelism P]
#                        [--state rocksdb|memory] [--checkpoint-interval D]
#
# --state picks the keyed state backend (state.backend; RocksDB by default,
# as in Flink's Nexmark setup). --checkpoint-interval runs each query twice,
# without and with checkpoints every D (to a directory under run/), and
# reports both, so their cost is measured in one run.
# Prints a table and writes bench/results/nexmark-<time>.json.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
events=20000000
queries=""
parallelism=2
state=rocksdb
checkpoint=""
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events="${2:?}"; shift 2 ;;
    --queries) queries="${2:?}"; shift 2 ;;
    --parallelism) parallelism="${2:?}"; shift 2 ;;
    --state) state="${2:?}"; shift 2 ;;
    --checkpoint-interval) checkpoint="${2:?}"; shift 2 ;;
    *) echo "run.sh: unknown option '$1' (--events N, --queries q0,q1,..., --parallelism P, --state rocksdb|memory)" >&2; exit 2 ;;
  esac
done
case "$state" in
  rocksdb|memory) ;;
  *) echo "run.sh: --state must be rocksdb or memory, not '$state'" >&2; exit 2 ;;
esac
if [ -z "$queries" ]; then
  queries=$(ls "$root/examples/jobs/nexmark/" | sed -n 's/^\(q[0-9]*\)\.yaml$/\1/p' | sort -V | paste -sd,)
fi
bin="$root/build/bin"
[ -x "$bin/sluice" ] || { echo "run.sh: build first (deploy/build.sh)" >&2; exit 2; }
export SLUICE_RUN_DIR="$root/run/bench-nexmark"
trap '"$root/deploy/local-cluster.sh" stop >/dev/null' EXIT
eval "$("$root/deploy/local-cluster.sh" start --workers 2 --slots "$parallelism" --port 0 | grep '^export')"

cpu_ticks() {
  local total=0 f
  for f in "$SLUICE_RUN_DIR"/*.pid; do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$(cat "$f")/stat")))
  done
  echo "$total"
}

results="$SLUICE_RUN_DIR/results.jsonl"
: >"$results"
measure() {  # name jobfile [extra -D arguments...]
  local before after job name="$1" file="$2"
  shift 2
  before=$(cpu_ticks)
  job=$("$bin/sluice" run "$file" -p "$parallelism" -D events="$events" -D state.backend="$state" "$@" | sed -n 's/^Job \([0-9a-f]*\) submitted$/\1/p')
  after=$(cpu_ticks)
  "$bin/sluice" status "$job" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
name, events, before, after, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if s["state"] != "FINISHED":
    sys.exit(name + ": job " + s["state"] + ": " + s["failure"])
seconds = (s["end_time_ms"] - s["start_time_ms"]) / 1000.0
cpu = (after - before) / hz
c = s.get("checkpoints", {})
print(json.dumps({"query": name, "events": events, "seconds": seconds, "cpu_seconds": cpu, "state": sys.argv[6],
                  "checkpoints": c.get("completed", 0), "checkpoint_ms": c.get("last_duration_ms", 0),
                  "checkpoint_bytes": c.get("last_bytes", 0)}))
' "$name" "$events" "$before" "$after" "$(getconf CLK_TCK)" "$state" >>"$results"
}

"$bin/sluice" run "$root/bench/nexmark/generator.yaml" -D events=1000000 >/dev/null  # warm-up
measure "generator only" "$root/bench/nexmark/generator.yaml"
IFS=, read -ra list <<<"$queries"
for q in "${list[@]}"; do
  measure "$q" "$root/examples/jobs/nexmark/$q.yaml"
  if [ -n "$checkpoint" ]; then
    measure "$q checkpoints $checkpoint" "$root/examples/jobs/nexmark/$q.yaml" \
      -D checkpoint.interval="$checkpoint" -D checkpoint.dir="$SLUICE_RUN_DIR/checkpoints"
  fi
done

mkdir -p "$root/bench/results"
out="$root/bench/results/nexmark-$(date -u +%Y%m%dT%H%M%SZ).json"
python3 - "$results" "$out" <<'PY'
import json, sys
# Flink nexmark suite, guide V1, K events/s/core (shared/NEXMARK.md).
flink = {"q0": 155.0, "q1": 157.9, "q2": 175.2, "q3": 152.1, "q4": 34.3, "q5": 22.1, "q7": 12.3,
         "q8": 146.1, "q9": 14.2, "q10": 57.8, "q11": 39.7, "q12": 75.7, "q13": 130.7, "q14": 161.2,
         "q15": 72.4, "q16": 18.7, "q17": 116.8, "q18": 53.7, "q19": 44.0, "q20": 19.0, "q21": 98.5,
         "q22": 130.0}
rows = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    per_core = r["events"] / r["cpu_seconds"] if r["cpu_seconds"] > 0 else 0.0
    f = flink.get(r["query"].split(" ")[0])
    rows.append({"query": r["query"], "state": r["state"], "events": r["events"],
                 "checkpoints": r.get("checkpoints", 0), "last_checkpoint_ms": r.get("checkpoint_ms", 0),
                 "last_checkpoint_bytes": r.get("checkpoint_bytes", 0), "seconds": round(r["seconds"], 3),
                 "cores": round(r["cpu_seconds"] / r["seconds"], 2) if r["seconds"] > 0 else 0.0,
                 "events_per_second_per_core": round(per_core),
                 "flink_events_per_second_per_core": f * 1000 if f else None,
                 "ratio": round(per_core / (f * 1000), 1) if f else None})
json.dump(rows, open(sys.argv[2], "w"), indent=1)
print("| query | state | events | seconds | cores | events/s/core | Flink events/s/core | ratio |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    flink_text = "%.0f" % r["flink_events_per_second_per_core"] if r["flink_events_per_second_per_core"] else "-"
    ratio = "%.1fx" % r["ratio"] if r["ratio"] else "-"
    print("| %s | %s | %d | %.2f | %.2f | %d | %s | %s |" % (r["query"], r["state"], r["events"], r["seconds"], r["cores"],
          r["events_per_second_per_core"], flink_text, ratio))
for r in rows:
    if r["checkpoints"]:
        print("%s: %d checkpoints, the last took %d ms and holds %d bytes" % (r["query"], r["checkpoints"],
              r["last_checkpoint_ms"], r["last_checkpoint_bytes"]))
print("\nwritten to " + sys.argv[2])
PY
