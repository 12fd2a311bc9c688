#!/usr/bin/env bash
# The command line as a person meets it: version, --help for each command, and one clear line
# with exit 2 for an unknown command, an unknown flag or a bad value.
set -uo pipefail
bin=${IBO_OPERATOR_BINARY:?run through ctest}
fail() { echo "FAIL: $*" >&2; exit 1; }

expect() {  # expect CODE "pattern" args...: exit code and the one stderr line
  local code=$1 pattern=$2; shift 2
  local err rc
  err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
  [[ $rc == "$code" ]] || fail "'$*' exited $rc, not $code ($err)"
  [[ $(grep -c . <<<"$err") -le 1 ]] || fail "'$*' printed more than one line: $err"
  [[ $err == *$pattern* ]] || fail "'$*' said '$err', expected '$pattern'"
}

[[ $("$bin" version) == "imagebuild-operator "* ]] || fail "version"
grep -q "run" <<<"$("$bin" --help)" || fail "--help does not list run"
grep -q -- "--leader-elect" <<<"$("$bin" run --help)" || fail "run --help"
grep -q -- "--platform-digest" <<<"$("$bin" merge --help)" || fail "merge --help"
grep -q "Usage: imagebuild-operator version" <<<"$("$bin" version --help)" || fail "version --help"
expect 2 'unexpected argument "--bogus"' version --bogus
expect 2 'unknown command "frobnicate"' frobnicate
expect 2 "unknown flag --no-such-flag" run --no-such-flag
expect 2 "--max-concurrent-reconciles" run --max-concurrent-reconciles many
expect 2 "--log-format: must be json or text" run --log-format yaml
expect 2 "--kube-api-qps" run --kube-api-qps=-3
expect 2 "needs a value" run --namespace
# A kubeconfig that cannot be read is one clear line naming the file, with exit 1.
expect 1 "/nonexistent/kubeconfig" run --kubeconfig /nonexistent/kubeconfig
echo "cli: all checks passed"
