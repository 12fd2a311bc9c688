#!/usr/bin/env bash
# The whole test suite from a fresh clone: set up the machine (idempotent), build with warnings as
# errors, then run unit and integration tests (real control plane, real registry) through CTest.
# A second build directory ($IBO_BUILD_DIR-asan, clang with ccache) then runs the unit tests
# under AddressSanitizer + UndefinedBehaviorSanitizer (label asan) and each fuzz target for a few
# seconds on its seed corpus (label fuzz, seed printed; IBO_FUZZ_SEED replays one).
#   scripts/test.sh [ctest arguments...]     e.g. scripts/test.sh -L unit, scripts/test.sh -L 'asan|fuzz'
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${IBO_BUILD_DIR:-$repo/build}
sanitized=$build-asan

# Whether the ctest arguments select any asan or fuzz test: not when every -L names other labels.
selects_sanitized() {
  local labels=() re
  while (($#)); do
    case $1 in
      -L | --label-regex) labels+=("${2-}"); shift ;;
      --label-regex=*) labels+=("${1#*=}") ;;
    esac
    shift
  done
  ((${#labels[@]})) || return 0
  for re in "${labels[@]}"; do
    [[ asan =~ $re || fuzz =~ $re ]] && return 0
  done
  return 1
}

"$repo/scripts/setup.sh"
cmake -S "$repo" -B "$build" -G Ninja -DIBO_WERROR=ON >/dev/null
cmake --build "$build"
sanitizers=0
if selects_sanitized "$@"; then
  sanitizers=1
  # A tree configured with another compiler would be reconfigured from scratch by CMake, which then
  # drops the -D options given here: start it afresh instead.
  if [[ -f $sanitized/CMakeCache.txt ]] && ! grep -q '^CMAKE_CXX_COMPILER:.*=.*clang++-14$' "$sanitized/CMakeCache.txt"; then
    rm -rf "$sanitized"
  fi
  cmake -S "$repo" -B "$sanitized" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DIBO_FUZZ=ON -DIBO_WERROR=ON >/dev/null
  cmake --build "$sanitized" --target unit-tests fuzz-targets
fi

failed=()
ctest --test-dir "$build" --output-on-failure --parallel 2 "$@" || failed+=("$build")
if ((sanitizers)); then
  echo "test.sh: unit tests under ASan+UBSan (label asan) and fuzz smoke runs (label fuzz), in $sanitized"
  ctest --test-dir "$sanitized" --output-on-failure --parallel 2 "$@" || failed+=("$sanitized")
fi
if ((${#failed[@]})); then
  echo "test.sh: FAILED: tests failed in ${failed[*]} (see the summaries above)" >&2
  exit 1
fi
