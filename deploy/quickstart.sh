#!/usr/bin/env bash
# The README's first command: install, build, start a local cluster (one
# coordinator, two workers), run the quickstart job across both workers, show
# its status and output, and stop the cluster.
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
