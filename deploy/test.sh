#!/usr/bin/env bash
# The README's second command: install, build with warnings as errors, and
# run every test but the long soak runs (ctest label 'soak'); then the unit
# tests again under AddressSanitizer and UndefinedBehaviorSanitizer, in a
# second build folder (SLUICE_SANITIZED_UNIT_TESTS=0 skips that part).
# Arguments go to the first ctest run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
deploy/install-deps.sh
deploy/build.sh -DSLUICE_WERROR=ON
(cd build && ctest --output-on-failure --timeout 300 -j2 -LE soak "$@")
if [ "${SLUICE_SANITIZED_UNIT_TESTS:-1}" != 0 ]; then
  BUILD_DIR="$root/build-asan" deploy/build.sh -DSLUICE_SANITIZER=address,undefined -DSLUICE_WERROR=ON
  (cd build-asan && ctest --output-on-failure --timeout 600 -j2 -L unit)
fi
