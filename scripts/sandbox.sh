#!/usr/bin/env bash
# The local sandbox: the real multi-arch build flow end to end on one machine. A real control
# plane and registry, two simulated nodes (amd64, arm64) run by imagebuild-node-simulator (no
# container runtime runs here), and the operator with deploy/'s ServiceAccount building the
# examples. It stays up for exploration.
#   scripts/sandbox.sh              start (or restart) and build the examples
#   scripts/sandbox.sh --down       stop everything it started
#   scripts/sandbox.sh --once       start, build, show, then tear down
# Environment: IBO_SANDBOX_DIR (state; default ~/.cache/imagebuild-operator/sandbox),
# IBO_SANDBOX_SIMULATOR_ARGS (extra node-simulator flags, e.g. --build-seconds 3),
# IBO_OPERATOR_BINARY and IBO_SIMULATOR_BINARY (use these binaries; no setup, no build).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${IBO_SANDBOX_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imagebuild-operator/sandbox}
infra=$repo/tests/infra
build=${IBO_BUILD_DIR:-$repo/build}
ns=sandbox

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
  stop_pid operator
  stop_pid node-simulator
  "$infra/registry.sh" stop "$state/registry"
  "$infra/control-plane.sh" stop "$state/cluster"
}

if [[ ${1:-} == --down ]]; then down; echo "sandbox stopped"; exit 0; fi
once=0; [[ ${1:-} == --once ]] && once=1

step() { echo "==> $*"; }

operator=${IBO_OPERATOR_BINARY:-$build/operator/imagebuild-operator}
simulator=${IBO_SIMULATOR_BINARY:-$build/tests/sim/imagebuild-node-simulator}
if [[ -z ${IBO_OPERATOR_BINARY:-} ]]; then  # the test suite passes the binaries it built
  step "setup and build"
  "$repo/scripts/setup.sh" >/dev/null
  cmake -S "$repo" -B "$build" -G Ninja >/dev/null
  cmake --build "$build" --target imagebuild-operator imagebuild-node-simulator >/dev/null
fi

down >/dev/null 2>&1 || true
mkdir -p "$state"
step "control plane and registry"
"$infra/control-plane.sh" start "$state/cluster" >/dev/null
registry=$("$infra/registry.sh" start "$state/registry")
export KUBECONFIG=$state/cluster/kubeconfig

step "CRD and deploy/'s RBAC"
# Everything deploy/ holds except the Deployment and its Service: the operator runs here, as a
# process, with the same ServiceAccount and rights.
without_workloads() {  # drops the Deployment and Service documents of a YAML stream
  local doc="" line
  flush() { [[ -n $doc ]] && ! grep -Eq '^kind: (Deployment|Service)$' <<<"$doc" && printf '%s---\n' "$doc"; doc=""; }
  while IFS= read -r line; do
    if [[ $line == --- ]]; then flush || true; else doc+="$line"$'\n'; fi
  done
  flush || true
}
kubectl kustomize "$repo/deploy" | without_workloads | kubectl apply -f - >/dev/null
kubectl wait --for=condition=Established crd/imagebuilds.imagebuild.io --timeout=30s >/dev/null
operator_ns=imagebuild-system
for _ in $(seq 1 100); do
  secret=$(kubectl get serviceaccount imagebuild-operator -n "$operator_ns" -o jsonpath='{.secrets[0].name}' 2>/dev/null || true)
  [[ -n $secret ]] && break; sleep 0.1
done
[[ -n $secret ]] || { echo "sandbox: no token for the operator's ServiceAccount" >&2; exit 1; }
token=$(kubectl get secret "$secret" -n "$operator_ns" -o jsonpath='{.data.token}' | base64 -d)
server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
cat >"$state/operator.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: sandbox, cluster: {server: "$server", certificate-authority: "$state/cluster/pki/ca.crt"}}]
users: [{name: imagebuild-operator, user: {token: "$token"}}]
contexts: [{name: sandbox, context: {cluster: sandbox, user: imagebuild-operator, namespace: $operator_ns}}]
current-context: sandbox
KC
chmod 600 "$state/operator.kubeconfig"

step "simulated nodes (imagebuild-node-simulator stands in for their kubelets)"
# shellcheck disable=SC2086
"$simulator" --kubeconfig "$KUBECONFIG" --node sandbox-amd64=amd64 --node sandbox-arm64=arm64 \
  --operator-binary "$operator" --insecure-registry "$registry" --work-dir "$state/simulator" \
  ${IBO_SANDBOX_SIMULATOR_ARGS:-} >"$state/node-simulator.log" 2>&1 &
echo $! >"$state/node-simulator.pid"
for _ in $(seq 1 100); do
  [[ $(kubectl get nodes -l kubernetes.io/arch --no-headers 2>/dev/null | grep -c ' Ready') -ge 2 ]] && break; sleep 0.1
done

step "the operator, with deploy/'s ServiceAccount token"
# shellcheck source=../tests/infra/free-port.sh
source "$infra/free-port.sh"
metrics_port=$(free_port); probe_port=$(free_port)
cat >"$state/operator.cmd" <<CMD
$operator run --kubeconfig $state/operator.kubeconfig --leader-elect --leader-election-namespace $operator_ns --insecure-registry $registry --merge-image imagebuild-operator:sandbox --retry-backoff 2 --metrics-bind-address 127.0.0.1:$metrics_port --health-probe-bind-address 127.0.0.1:$probe_port
CMD
echo "metrics=127.0.0.1:$metrics_port probes=127.0.0.1:$probe_port" >"$state/operator.addresses"
# shellcheck disable=SC2046
$(cat "$state/operator.cmd") >>"$state/operator.log" 2>&1 &
echo $! >"$state/operator.pid"
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$probe_port/readyz" >/dev/null && break
  kill -0 "$(cat "$state/operator.pid")" 2>/dev/null || { tail -n 20 "$state/operator.log" >&2; echo "sandbox: the operator exited at start (log: $state/operator.log)" >&2; exit 1; }
  sleep 0.1
done

step "the examples: api and worker v1.4.2, pushed to $registry"
kubectl create namespace "$ns" >/dev/null 2>&1 || true
for f in api worker; do sed "s|REGISTRY|$registry|g" "$repo/scripts/sandbox/$f.yaml" | kubectl apply -n "$ns" -f - >/dev/null; done
kubectl wait --for=condition=Ready imagebuild/api imagebuild/worker -n "$ns" --timeout=180s

echo
kubectl get imagebuilds -n "$ns"
echo
kubectl get imagebuilds -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}:{"\n"}{range .status.platforms[*]}  {.platform}  {.digest}  on {.nodeName} (attempt {.attempt}){"\n"}{end}{end}'
echo
for f in api worker; do
  echo "skopeo inspect --raw docker://$registry/sandbox/$f:v1.4.2"
  skopeo inspect --raw --tls-verify=false "docker://$registry/sandbox/$f:v1.4.2"; echo
  echo "tags: $(skopeo list-tags --tls-verify=false "docker://$registry/sandbox/$f" | tr -d ' \n')"
done

if ((once)); then down >/dev/null 2>&1; echo "sandbox torn down"; exit 0; fi
cat <<MSG

The sandbox stays up:
  export KUBECONFIG=$KUBECONFIG
  kubectl get imagebuilds -A; kubectl describe imagebuild worker -n $ns
  registry: http://$registry   metrics: http://127.0.0.1:$metrics_port/metrics
  logs: $state/operator.log, $state/node-simulator.log
Stop it with: scripts/sandbox.sh --down
MSG
