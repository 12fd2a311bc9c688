# Shared by the bench scripts (sourced): builds the binaries a bench runs.
# bench_build TARGET...: builds those targets in $IBO_BUILD_DIR (default build/), configuring it
# first if it has never been; prints that build directory.
bench_build() {
  local build=${IBO_BUILD_DIR:-$repo/build}
  [[ -f $build/build.ninja ]] || cmake -S "$repo" -B "$build" -G Ninja >/dev/null
  cmake --build "$build" --target "$@" >/dev/null
  echo "$build"
}
