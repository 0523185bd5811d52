#!/usr/bin/env bash
# The README's first command: install, build, start a local cluster (one
# coordinator, two workers), run the quickstart job and Nexmark q5 across both
# workers, show their status and first result rows, and stop the cluster.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

deploy/install-deps.sh
deploy/build.sh

export SLUICE_RUN_DIR="$root/run/quickstart"
output="$root/run/quickstart-output"
trap 'deploy/local-cluster.sh stop' EXIT
# Port 0: the coordinator picks a free port, so a busy 6123 does not matter.
eval "$(deploy/local-cluster.sh start --workers 2 --slots 2 --port 0 | tee /dev/stderr | grep '^export')"

rm -rf "$output"
build/bin/sluice run examples/jobs/quickstart.yaml -D output="$output" | tee "$SLUICE_RUN_DIR/run.txt"
job_id="$(sed -n 's/^Job \([0-9a-f]*\) submitted$/\1/p' "$SLUICE_RUN_DIR/run.txt")"
echo
echo "== sluice status $job_id"
build/bin/sluice status "$job_id"
echo
echo "== output: $(cat "$output"/part-*.jsonl | wc -l) rows in $output; the first five:"
head -n 5 "$output"/part-0.jsonl

q5_output="$root/run/nexmark-q5-output"
rm -rf "$q5_output"
echo
echo "== Nexmark q5 (hot items: the most-bid auctions per 10 s sliding window), 10 M events over 20 s of event time"
build/bin/sluice run examples/jobs/nexmark/q5.yaml -D events=10000000 -D event-rate=500000 -D output="$q5_output" |
  tee "$SLUICE_RUN_DIR/q5.txt"
echo
echo "== q5 output: $(cat "$q5_output"/part-*.jsonl | wc -l) rows in $q5_output; the first five:"
cat "$q5_output"/part-*.jsonl | head -n 5
echo "(each row: an auction with the most bids in one window; sluice status shows every vertex)"
