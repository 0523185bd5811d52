#!/usr/bin/env bash
# Recovery time: a stateful Nexmark query (q19, top 10 bids per auction in
# RocksDB) runs paced on three workers with a checkpoint every second; a
# worker under it is killed with SIGKILL; measured are the times from the
# kill to the job RUNNING again and to its first new output row. Defaults
# everywhere else (heartbeat.timeout, the exponential-delay restart strategy
# with its 1 s first pause).
#
#   bench/recovery.sh [--runs N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?}"; shift 2 ;;
    *) echo "recovery.sh: unknown option '$1' (--runs N)" >&2; exit 2 ;;
  esac
done
bin="$root/build/bin"
[ -x "$bin/sluice" ] || { echo "recovery.sh: build first (deploy/build.sh)" >&2; exit 2; }
export SLUICE_RUN_DIR="$root/run/bench-recovery"
trap '"$root/deploy/local-cluster.sh" stop >/dev/null' EXIT

now_ms() { date +%s%3N; }
field() {  # job python-expression over the status object s
  "$bin/sluice" status "$1" --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)"
}

for run in $(seq "$runs"); do
  "$root/deploy/local-cluster.sh" stop >/dev/null 2>&1 || true
  eval "$("$root/deploy/local-cluster.sh" start --workers 3 --slots 2 --port 0 | grep '^export')"
  job=$("$bin/sluice" run "$root/examples/jobs/nexmark/q19.yaml" -p 2 --detached \
        -D events=1000000000 -D rate=200000 -D event-rate=200000 \
        -D checkpoint.interval=1s -D checkpoint.dir="$SLUICE_RUN_DIR/checkpoints" | sed -n 's/^Job \([0-9a-f]*\) submitted$/\1/p')
  until [ "$(field "$job" 's["checkpoints"]["completed"]')" -ge 3 ]; do sleep 0.2; done
  address=$(field "$job" '[v for v in s["vertices"] if v["id"] == "q19"][0]["subtasks"][0]["worker_address"]')
  victim=""
  for f in "$SLUICE_RUN_DIR"/worker-*.address; do
    if [ "$(cat "$f")" = "$address" ]; then victim=$(cat "${f%.address}.pid"); fi
  done
  killed=$(now_ms)
  kill -9 "$victim"
  until [ "$(field "$job" 's["restarts"] >= 1 and s["state"] == "RUNNING"')" = "True" ]; do sleep 0.02; done
  running=$(now_ms)
  until [ "$(field "$job" 'sum(t["records_out"] for t in [v for v in s["vertices"] if v["id"] == "q19"][0]["subtasks"])')" -gt 0 ]; do
    sleep 0.02
  done
  output=$(now_ms)
  echo "run $run: RUNNING again after $((running - killed)) ms, first new output after $((output - killed)) ms"
  "$bin/sluice" cancel "$job" >/dev/null
done
