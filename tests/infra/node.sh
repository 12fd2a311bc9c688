#!/usr/bin/env bash
# Registers a Node through the API as a kubelet would (labels, Ready, allocatable) and removes the
# not-ready taint, so that the real kube-scheduler binds pods to it. No kubelet runs behind it.
#   node.sh add NAME ARCH [CPU] [MEMORY] [PODS]     (uses $KUBECONFIG)
#   NODE_TAINT=KEY=VALUE:EFFECT registers the node with that taint from its first moment.
set -euo pipefail
cmd=${1:?usage: node.sh add NAME ARCH [CPU] [MEMORY] [PODS]}
[[ $cmd == add ]] || { echo "node.sh: unknown command $cmd" >&2; exit 1; }
name=${2:?node name}; arch=${3:?architecture}
cpu=${4:-16}; memory=${5:-64Gi}; pods=${6:-110}
taints=""
if [[ -n ${NODE_TAINT:-} ]]; then
  [[ $NODE_TAINT =~ ^([^=]+)=([^:]*):(NoSchedule|PreferNoSchedule|NoExecute)$ ]] ||
    { echo "node.sh: NODE_TAINT must be KEY=VALUE:EFFECT, not $NODE_TAINT" >&2; exit 1; }
  taints="spec: {taints: [{key: \"${BASH_REMATCH[1]}\", value: \"${BASH_REMATCH[2]}\", effect: ${BASH_REMATCH[3]}}]}"
fi

kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: $name
  labels: {kubernetes.io/os: linux, kubernetes.io/arch: $arch, kubernetes.io/hostname: $name}
$taints
YAML
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
status=$(cat <<JSON
{"status":{"capacity":{"cpu":"$cpu","memory":"$memory","pods":"$pods"},
 "allocatable":{"cpu":"$cpu","memory":"$memory","pods":"$pods"},
 "conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"simulated node",
   "lastHeartbeatTime":"$now","lastTransitionTime":"$now"}],
 "nodeInfo":{"architecture":"$arch","operatingSystem":"linux","kubeletVersion":"v1.20.2",
   "machineID":"","systemUUID":"","bootID":"","kernelVersion":"","osImage":"simulated",
   "containerRuntimeVersion":"simulated://0","kubeProxyVersion":"v1.20.2"}}}
JSON
)
patch_status_via_proxy() {
  # kubectl clients before 1.24 (a kubectl built from the 1.20 tree) have no --subresource.
  local tmp port proxy
  tmp=$(mktemp); echo "$status" >"$tmp"
  kubectl proxy --port=0 >"$tmp.proxy" 2>&1 & proxy=$!
  for _ in $(seq 1 50); do grep -q 'Starting to serve' "$tmp.proxy" && break; sleep 0.1; done
  [[ $(<"$tmp.proxy") =~ 127\.0\.0\.1:([0-9]+) ]] || { cat "$tmp.proxy" >&2; kill "$proxy"; return 1; }
  port=${BASH_REMATCH[1]}
  curl -sf -X PATCH -H 'Content-Type: application/merge-patch+json' --data-binary "@$tmp" \
    "http://127.0.0.1:$port/api/v1/nodes/$name/status" >/dev/null
  kill "$proxy"; rm -f "$tmp" "$tmp.proxy"
}
kubectl patch node "$name" --subresource=status --type=merge -p "$status" >/dev/null 2>&1 || patch_status_via_proxy
kubectl taint nodes "$name" node.kubernetes.io/not-ready- >/dev/null 2>&1 || true
echo "node $name ($arch) ready"
