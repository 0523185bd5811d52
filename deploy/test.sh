#!/usr/bin/env bash
# The README's second command: install, build, and run every test but the
# long soak runs (ctest label 'soak').
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
deploy/install-deps.sh
deploy/build.sh
cd build
ctest --output-on-failure --timeout 300 -j2 -LE soak "$@"
