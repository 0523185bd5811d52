#!/usr/bin/env bash
# Two builds of Sluice side by side on the Nexmark queries, in one run:
# bench/nexmark/run.sh of tree A, then of tree B, repeated N times
# interleaved (A B A B ...), so that a noisy machine weighs on both alike.
# Prints, per query, each tree's median events/s/core over the N runs with
# its range, and B's median over A's.
#
#   bench/nexmark/compare.sh TREE_A TREE_B [--repeat N] [run.sh options...]
#
# Each tree must be built (deploy/build.sh); each runs its own run.sh and
# job files, so a tree before a change is measured as it was.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: compare.sh TREE_A TREE_B [--repeat N] [run.sh options...]" >&2; exit 2; }
a="$(cd "$1" && pwd)"
b="$(cd "$2" && pwd)"
shift 2
repeat=3
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --repeat) repeat="${2:?--repeat needs a number}"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
[ "$repeat" -ge 1 ] || { echo "compare.sh: --repeat must be at least 1" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for ((i = 1; i <= repeat; i++)); do
  for tree in "$a" "$b"; do
    tag=$([ "$tree" = "$a" ] && echo A || echo B)
    echo "compare.sh: round $i of $repeat, tree $tag ($tree)" >&2
    "$tree/bench/nexmark/run.sh" "${args[@]}" >"$out/$tag-$i.txt"
    # run.sh names the JSON it wrote on its last line.
    cp "$(sed -n 's/^written to //p' "$out/$tag-$i.txt")" "$out/$tag-$i.json"
  done
done
python3 - "$out" "$repeat" "$a" "$b" <<'PY'
import json, statistics, sys
out, repeat, tree_a, tree_b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
runs = {tag: [json.load(open("%s/%s-%d.json" % (out, tag, i))) for i in range(1, repeat + 1)] for tag in "AB"}
queries = [r["query"] for r in runs["A"][0]]
print("A = %s\nB = %s\n%d interleaved runs each; events/s/core, median (min-max)\n" % (tree_a, tree_b, repeat))
print("| query | A | B | B / A |")
print("| --- | --- | --- | --- |")
for q in queries:
    cells = []
    medians = []
    for tag in "AB":
        values = [r["events_per_second_per_core"] for run in runs[tag] for r in run if r["query"] == q]
        if not values:
            cells.append("-")
            medians.append(None)
            continue
        m = statistics.median(values)
        medians.append(m)
        cells.append("%.2f M (%.2f-%.2f)" % (m / 1e6, min(values) / 1e6, max(values) / 1e6))
    ratio = "%.2f" % (medians[1] / medians[0]) if all(medians) else "-"
    print("| %s | %s | %s | %s |" % (q, cells[0], cells[1], ratio))
PY
