#!/usr/bin/env bash
# The local sandbox: a real control plane and registry on this machine, two simulated nodes
# (amd64, arm64), and the operator building the example images end to end.
#   scripts/sandbox.sh            start (or restart) the sandbox and leave it running
#   scripts/sandbox.sh --down     stop everything it started
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${IBO_SANDBOX_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imagebuild-operator/sandbox}
infra=$repo/tests/infra

if [[ ${1:-} == --down ]]; then
  "$infra/registry.sh" stop "$state/registry"
  "$infra/control-plane.sh" stop "$state/cluster"
  echo "sandbox stopped"
  exit 0
fi

"$repo/scripts/setup.sh"
cmake -S "$repo" -B "$repo/build" -G Ninja >/dev/null
cmake --build "$repo/build"
"$infra/control-plane.sh" start "$state/cluster"
registry=$("$infra/registry.sh" start "$state/registry")
export KUBECONFIG=$state/cluster/kubeconfig
"$infra/node.sh" add sandbox-amd64 amd64
"$infra/node.sh" add sandbox-arm64 arm64

cat <<MSG

The sandbox is up:
  export KUBECONFIG=$KUBECONFIG
  kubectl get nodes
  registry: http://$registry (plain HTTP)
Stop it with: scripts/sandbox.sh --down

Not there yet: the ImageBuild controller, the merge command and the node simulator are still
being built (see the open issues); the sandbox starts the platform they will run on.
MSG
