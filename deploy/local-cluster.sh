#!/usr/bin/env bash
# A local Sluice cluster: one coordinator and N workers in the background.
#
#   deploy/local-cluster.sh start [--workers N] [--slots N] [--port P]
#   deploy/local-cluster.sh status
#   deploy/local-cluster.sh stop
#
# Pids, logs and bound addresses live in the run folder ($SLUICE_RUN_DIR,
# default ./run/local-cluster). `stop` stops exactly the processes `start`
# started, checking each pid still belongs to a Sluice daemon.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${SLUICE_BIN:-$root/build/bin}"
run="${SLUICE_RUN_DIR:-$root/run/local-cluster}"

die() { echo "local-cluster: $*" >&2; exit 1; }

is_ours() {  # pid name: the pid runs the named Sluice binary
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && grep -q "$2" "/proc/$1/cmdline" 2>/dev/null
}

wait_for_file() {  # path pid seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start() {
  local workers=2 slots=2 port=6123
  while [ $# -gt 0 ]; do
    case "$1" in
      --workers) workers="${2:?--workers needs a number}"; shift 2 ;;
      --slots) slots="${2:?--slots needs a number}"; shift 2 ;;
      --port) port="${2:?--port needs a number}"; shift 2 ;;
      *) die "unknown option '$1' (use --workers N, --slots N, --port P)" ;;
    esac
  done
  [[ "$workers" =~ ^[1-9][0-9]*$ ]] || die "--workers must be a positive number, got '$workers'"
  [[ "$slots" =~ ^[1-9][0-9]*$ ]] || die "--slots must be a positive number, got '$slots'"
  [ -x "$bin/sluice-coordinator" ] || die "no binaries in $bin: build first (deploy/build.sh)"
  if [ -f "$run/coordinator.pid" ] && is_ours "$(cat "$run/coordinator.pid")" sluice-coordinator; then
    die "already running (pid $(cat "$run/coordinator.pid")); stop it first"
  fi
  rm -rf "$run"
  mkdir -p "$run"

  "$bin/sluice-coordinator" --rpc-address "127.0.0.1:$port" --address-file "$run/coordinator.address" \
    >"$run/coordinator.log" 2>&1 &
  echo $! >"$run/coordinator.pid"
  wait_for_file "$run/coordinator.address" "$!" 15 || die "coordinator did not start; see $run/coordinator.log"
  local coordinator
  coordinator="$(cat "$run/coordinator.address")"

  local i
  for ((i = 0; i < workers; i++)); do
    # Keyed state under the run directory: a worker killed with -9 cannot
    # remove its own, and `stop` removes the run's.
    "$bin/sluice-worker" --coordinator "$coordinator" --slots "$slots" --rpc-address 127.0.0.1:0 \
      --data-address 127.0.0.1:0 --address-file "$run/worker-$i.address" -D state.dir="$run/state" \
      >"$run/worker-$i.log" 2>&1 &
    echo $! >"$run/worker-$i.pid"
    wait_for_file "$run/worker-$i.address" "$!" 15 || die "worker $i did not start; see $run/worker-$i.log"
  done

  for ((i = 0; i < 150; i++)); do
    local n
    n=$("$bin/sluice" --coordinator "$coordinator" workers --json 2>/dev/null | grep -c '"rpc_address"' || true)
    if [ "$n" -ge "$workers" ]; then
      echo "local cluster up: coordinator $coordinator, $workers workers x $slots slots (run folder $run)"
      echo "export SLUICE_COORDINATOR=$coordinator"
      return 0
    fi
    sleep 0.1
  done
  die "workers did not register within 15 s; see $run/*.log"
}

stop() {
  [ -d "$run" ] || { echo "local cluster: not running"; return 0; }
  local f pid name pids=()
  for f in "$run"/worker-*.pid "$run"/coordinator.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    case "$f" in *coordinator*) name=sluice-coordinator ;; *) name=sluice-worker ;; esac
    if is_ours "$pid" "$name"; then
      kill -TERM "$pid"
      pids+=("$pid")
    fi
    rm -f "$f"
  done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  done
  rm -rf "$run/state"
  echo "local cluster stopped (${#pids[@]} processes); logs kept in $run"
}

status() {
  [ -f "$run/coordinator.address" ] || { echo "local cluster: not running"; return 1; }
  local f pid alive=0 dead=0
  for f in "$run"/*.pid; do
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then alive=$((alive + 1)); else dead=$((dead + 1)); echo "$(basename "$f" .pid): not running"; fi
  done
  echo "coordinator $(cat "$run/coordinator.address"): $alive processes up, $dead down"
  "$bin/sluice" --coordinator "$(cat "$run/coordinator.address")" workers
}

cmd="${1:-}"
shift || true
case "$cmd" in
  start) start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: local-cluster.sh start [--workers N] [--slots N] [--port P] | stop | status" ;;
esac
