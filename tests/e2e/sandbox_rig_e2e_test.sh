#!/usr/bin/env bash
# The sandbox for real (issue 11, part 6): scripts/sandbox.sh in its default mode, as the README's
# first command runs it, on the real-node rig. Its output must show both examples (api, worker)
# built by buildah on ibo-amd64 and ibo-arm64, each platform's image config saying its
# architecture, and the RUN step's `uname -m` (x86_64, aarch64) read from the image's layer, plus
# the index and its tags. Then, from a shell of its own, the kubectl command the sandbox printed
# reaches the sandbox; and scripts/sandbox.sh --down leaves no rig behind.
# Bounded: the sandbox 10 min at most, the rig's TTL 15 min; the sandbox is stopped on any exit.
# Network: loopback and the rig's namespace only. It never skips: whatever is missing fails it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
t0=$(date +%s)
say() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
# Short (the rig's socket paths) and unique (other rigs run on this machine).
state=$(mktemp -d /tmp/ibo-sbx.XXXXXX)
out=$state.out
export IBO_SANDBOX_DIR=$state IBO_SANDBOX_SETUP=0 IBO_RIG_TTL=900

fail() { echo "FAIL: $*" >&2; echo "--- sandbox output" >&2; cat "$out" >&2 || true; exit 1; }
finish() {
  local rc=$?
  trap - EXIT
  timeout 120 "$repo/scripts/sandbox.sh" --down >/dev/null 2>&1 || { echo "FAIL: sandbox.sh --down failed" >&2; rc=1; }
  if ((rc == 0)); then rm -rf "$state" "$out"; else echo "state and the rig's logs kept in $state" >&2; fi
  say "took $(( $(date +%s) - t0 )) s (rc $rc)"
  exit "$rc"
}
trap finish EXIT

timeout 600 "$repo/scripts/sandbox.sh" >"$out" 2>&1 || fail "scripts/sandbox.sh failed or took over 10 minutes"
say "scripts/sandbox.sh: $(grep -m1 '^sandbox: up' "$out")"
grep -E '^    up in ' "$out" | head -1 | sed 's/^ */rig: /'

# section NAME: the lines the sandbox printed for one example, up to the next example
section() { awk -v n="$1:" '$1 == n { on = 1; print; next } /^[a-z]+: / { on = 0 } on' "$out"; }
for f in api worker; do
  s=$(section "$f")
  [[ -n $s ]] || fail "the output has no section for $f"
  want_tags="v1.4.2 v1.4 latest"; [[ $f == api ]] && want_tags+=" main"
  tags=" $(sed -n 's/^  tags: //p' <<<"$s") "
  for t in $want_tags; do [[ $tags == *" $t "* ]] || fail "$f: tag $t is not shown: $s"; done
  grep -Eq "^$f: .*/sandbox/$f@sha256:[0-9a-f]{64}$" <<<"$s" || fail "$f: no index digest shown: $s"
  grep -Eq '^  linux/amd64 +node ibo-amd64 +image config linux/amd64 +RUN wrote x86_64 +sha256:[0-9a-f]{64} ' <<<"$s" ||
    fail "$f: amd64 is not shown built on ibo-amd64 with x86_64 written by RUN: $s"
  grep -Eq '^  linux/arm64 +node ibo-arm64 +image config linux/arm64(/v8)? +RUN wrote aarch64 +sha256:[0-9a-f]{64} ' <<<"$s" ||
    fail "$f: arm64 is not shown built on ibo-arm64 with aarch64 written by RUN: $s"
  say "ok: $f: $(tr '\n' ' ' <<<"$s" | tr -s ' ' | cut -c1-400)"
done

# The command the sandbox printed, in a shell of its own.
# shellcheck disable=SC2016  # a literal $PATH
path_line=$(grep -m1 -E '^  export PATH=[^ ]+/rig/bin:\$PATH' "$out") || fail "the output prints no export PATH=... for kubectl"
got=$(env -i HOME="$HOME" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c \
  "${path_line%%#*}; kubectl get imagebuilds -n sandbox -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase} {end}'" 2>&1) ||
  fail "kubectl through the printed command failed: $got"
[[ $got == "api=Succeeded worker=Succeeded " ]] || fail "kubectl through the printed command: $got"
say "ok: the printed command reaches the sandbox: ${path_line%%#*} -> $got"
grep -q 'kubectl from your shell: .*(checked: ibo-amd64 Ready,ibo-arm64 Ready)' "$out" || fail "the sandbox did not check its kubectl wrapper"

# --down stops the real mode: no rig is left.
# shellcheck disable=SC1091
source "$state/rig/rig.env"
timeout 120 "$repo/scripts/sandbox.sh" --down >/dev/null || fail "scripts/sandbox.sh --down failed"
[[ ! -e /run/netns/$RIG_NETNS ]] || fail "--down left the network namespace $RIG_NETNS"
[[ ! -f $state/rig/id ]] || fail "--down left the rig up"
left=$(for p in /proc/[0-9]*; do tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -F -- "$state/" || true; done)
[[ -z $left ]] || fail "--down left processes: $left"
[[ -z $(ls -d /sys/fs/cgroup/*/"${RIG_CGROUP#/}" 2>/dev/null) ]] || fail "--down left the cgroup $RIG_CGROUP"
say "ok: scripts/sandbox.sh --down stopped the rig and left nothing"
