# Shared by the bench scripts (sourced): builds the binaries a bench runs.
# bench_build TARGET...: builds those targets in $IBO_BUILD_DIR (default build/), configuring it
# first if it has never been; prints that build directory.
bench_build() {
  local build=${IBO_BUILD_DIR:-$repo/build}
  [[ -f $build/build.ninja ]] || cmake -S "$repo" -B "$build" -G Ninja >/dev/null
  cmake --build "$build" --target "$@" >/dev/null
  echo "$build"
}

# bench_binaries TARGET ENV WHAT: sets $operator (from $IBO_OPERATOR_BINARY) and $companion (from
# $ENV), building whichever is unset (the operator and TARGET, bench/'s own program); fails
# naming WHAT when a binary is missing. The caller defines fail().
bench_binaries() {
  local target=$1 env=$2 what=$3 build
  operator=${IBO_OPERATOR_BINARY:-}; companion=${!env:-}
  if [[ -z $operator || -z $companion ]]; then
    build=$(bench_build imagebuild-operator "$target")
    operator=${operator:-$build/operator/imagebuild-operator}; companion=${companion:-$build/bench/$target}
  fi
  [[ -x $operator ]] || fail "no operator binary at $operator"
  [[ -x $companion ]] || fail "no $what binary at $companion"
}

# bench_report REPORT OUT: prints the report and, when OUT is set, appends it to OUT (a blank line
# between invocations).
bench_report() {
  local report=$1 out=$2
  cat "$report"
  [[ -n $out ]] || return 0
  mkdir -p "$(dirname "$out")"
  { [[ -s $out ]] && echo; cat "$report"; } >>"$out"
  echo "figures appended to $out" >&2
}
