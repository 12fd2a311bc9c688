#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The local sandbox, the README's first command: the operator builds two example images (api and
# worker, v1.4.2) for linux/amd64 and linux/arm64, then shows what was pushed. It stays up.
#   scripts/sandbox.sh               for real, on the real-node rig (tests/infra/rig.sh): deploy/'s
#                                    Deployment from the operator's image, buildah build pods on
#                                    kubelet + containerd nodes ibo-amd64 and ibo-arm64 (arm64 code
#                                    under QEMU), from a git repository the sandbox pushes to the
#                                    rig's git server (scripts/sandbox/src)
#   scripts/sandbox.sh --simulated   a quick look: a control plane and registry on loopback, the
#                                    operator as a process, imagebuild-node-simulator standing in
#                                    for the nodes (no build runs)
#   --once                           (with either) start, build, show, then tear down
#   scripts/sandbox.sh --down        stop whichever mode is up
# Environment: IBO_SANDBOX_DIR (state; default ~/.cache/imagebuild-operator/sandbox; at most 56
# characters: the rig's socket paths), IBO_SANDBOX_SETUP=0 (do not run scripts/setup.sh),
# IBO_RIG_TTL (the rig stops by itself after that many seconds). Simulated only:
# IBO_SANDBOX_SIMULATOR_ARGS (extra node-simulator flags, e.g. --build-seconds 3),
# IBO_OPERATOR_BINARY and IBO_SIMULATOR_BINARY (use these binaries; no setup, no build).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${IBO_SANDBOX_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imagebuild-operator/sandbox}
[[ $state == /* ]] || state=$PWD/$state
state=${state%/}
infra=$repo/tests/infra
build=${IBO_BUILD_DIR:-$repo/build}
rig=$state/rig
ns=sandbox
version=v1.4.2
examples=(api worker)
stop_command="$repo/scripts/sandbox.sh --down"
[[ -z ${IBO_SANDBOX_DIR:-} ]] || stop_command="IBO_SANDBOX_DIR=$state $stop_command"

usage() { sed -n '/^# The local sandbox/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
mode=real once=0 down_only=0
for a in "$@"; do
  case $a in
    --simulated) mode=simulated ;;
    --once) once=1 ;;
    --down) down_only=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "sandbox: unknown option $a" >&2; usage >&2; exit 2 ;;
  esac
done

step() { echo "==> $*"; }
fail() { echo "sandbox: $*" >&2; exit 1; }
t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - t0 )) s"; }

# --- stopping: both modes, whichever is up (each part is a no-op when it is not running)

stop_pid() {
  local f=$state/$1.pid
  [[ -f $f ]] || return 0
  local pid; pid=$(cat "$f")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$f"
}

down() {
  if [[ -f $rig/id ]]; then
    "$infra/rig.sh" stop "$rig" >"$state/rig-stop.log" 2>&1 || { cat "$state/rig-stop.log" >&2; fail "the rig did not stop"; }
  fi
  stop_pid operator
  stop_pid node-simulator
  "$infra/registry.sh" stop "$state/registry"
  "$infra/control-plane.sh" stop "$state/cluster"
  rm -f "$state/mode"
}

if ((down_only)); then
  [[ -d $state ]] && down
  echo "sandbox stopped"; exit 0
fi

# --- the examples, in both modes

# apply_examples KUBECTL STRATEGY REGISTRY GIT_URL BASE_IMAGE GIT_USER GIT_PASSWORD AUTH_FILE: the
# Secrets and both ImageBuilds in namespace sandbox.
apply_examples() {
  local kc=$1 strategy=$2 registry=$3 git_url=$4 base=$5 user=$6 pass=$7 auth_file=$8 f
  "$kc" create namespace "$ns" >/dev/null
  "$kc" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Secret
metadata: {name: git-cred, namespace: $ns}
type: kubernetes.io/basic-auth
stringData: {username: "$user", password: "$pass"}
YAML
  "$kc" -n "$ns" create secret generic regcred --type=kubernetes.io/dockerconfigjson \
    --from-file=.dockerconfigjson="$auth_file" >/dev/null
  for f in "${examples[@]}"; do
    sed -e "s|STRATEGY|$strategy|g" -e "s|BASE_IMAGE|$base|g" -e "s|GIT_URL|$git_url|g" -e "s|REGISTRY|$registry|g" "$repo/scripts/sandbox/$f.yaml" |
      "$kc" apply -n "$ns" -f - >/dev/null
  done
}

# wait_examples KUBECTL SECONDS: both Ready, or their status and events, and a failure
wait_examples() {
  local kc=$1 secs=$2
  "$kc" wait --for=condition=Ready imagebuild/api imagebuild/worker -n "$ns" --timeout="${secs}s" >/dev/null && return 0
  "$kc" get imagebuilds -n "$ns" -o wide >&2 || true
  "$kc" get imagebuilds -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}:{"\n"}{range .status.platforms[*]}  {.platform} {.phase} attempt {.attempt} on {.nodeName}: {.message}{"\n"}{end}{end}' >&2 || true
  "$kc" get events -n "$ns" --sort-by=.lastTimestamp 2>&1 | tail -n 20 >&2 || true
  fail "the examples were not both Ready within $secs s"
}

# shellcheck source=sandbox/real.sh
source "$repo/scripts/sandbox/real.sh"
# shellcheck source=sandbox/simulated.sh
source "$repo/scripts/sandbox/simulated.sh"

[[ -d $state ]] && { down >/dev/null 2>&1 || true; }
mkdir -p "$state"
if ((once)); then trap 'down >/dev/null 2>&1 || true; echo "sandbox torn down"' EXIT; fi
echo "$mode" >"$state/mode"
if [[ $mode == real ]]; then real_sandbox; else simulated_sandbox; fi
