#!/usr/bin/env bash
# The whole test suite from a fresh clone: set up the machine (idempotent), build with warnings as
# errors, then run unit and integration tests (real control plane, real registry) through CTest.
#   scripts/test.sh [ctest arguments...]     e.g. scripts/test.sh -L unit
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${IBO_BUILD_DIR:-$repo/build}

"$repo/scripts/setup.sh"
cmake -S "$repo" -B "$build" -G Ninja -DIBO_WERROR=ON >/dev/null
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure --parallel 2 "$@"
