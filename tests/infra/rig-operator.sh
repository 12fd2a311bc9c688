#!/usr/bin/env bash
# The operator on the real-node rig as deploy/'s Deployment, from the rig's operator image: one
# kustomize overlay of deploy/ (the image, the rig's images and registry in its arguments, the API
# server's address in the rig's namespace), shared by the e2e test and the sandbox.
#   rig-operator.sh deploy DIR [ARG...]   apply the overlay to the rig started in DIR and wait until
#                                         the Deployment is available (its probes Ready), at most
#                                         180 s; ARGs are appended to the operator's `run` arguments
# The overlay is written to DIR/operator-overlay (kubectl kustomize DIR/operator-overlay shows it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fail() { echo "rig-operator: $*" >&2; exit 1; }

cmd=${1:?usage: rig-operator.sh deploy DIR [ARG...]}
dir=${2:?usage: rig-operator.sh deploy DIR [ARG...]}
shift 2
[[ $cmd == deploy ]] || fail "unknown command $cmd"
[[ -f $dir/rig.env ]] || fail "no $dir/rig.env: start the rig first (tests/infra/rig.sh start $dir)"
# shellcheck disable=SC1091
source "$dir/rig.env"
for v in RIG_KUBECTL RIG_REGISTRY RIG_IMAGE_OPERATOR RIG_IMAGE_GIT RIG_IMAGE_BUILDER RIG_APISERVER; do
  [[ -n ${!v:-} ]] || fail "$dir/rig.env has no $v"
done

ov=$dir/operator-overlay
rm -rf "$ov"
mkdir -p "$ov"
apiserver=${RIG_APISERVER#https://}
cat >"$ov/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $(realpath --relative-to="$ov" "$repo/deploy")
images:
- name: ghcr.io/imagebuild-operator/imagebuild-operator
  newName: ${RIG_IMAGE_OPERATOR%:*}
  newTag: ${RIG_IMAGE_OPERATOR##*:}
patchesStrategicMerge:
- operator.yaml
YAML
{
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: imagebuild-operator, namespace: imagebuild-system}
spec:
  template:
    spec:
      containers:
      - name: operator
        args:
        - run
        - --leader-elect
        - --leader-election-namespace=\$(POD_NAMESPACE)
        - --metrics-bind-address=:8080
        - --health-probe-bind-address=:8081
        - --merge-image=$RIG_IMAGE_OPERATOR
        - --git-image=$RIG_IMAGE_GIT
        - --buildah-image=$RIG_IMAGE_BUILDER
        - --insecure-registry=$RIG_REGISTRY
YAML
  for a in "$@"; do printf '        - %s\n' "$a"; done
  cat <<YAML
        env:
        # No kube-proxy in the rig: the kubernetes Service's ClusterIP leads nowhere, so the
        # in-cluster config names the API server's own address in the namespace.
        - {name: KUBERNETES_SERVICE_HOST, value: "${apiserver%:*}"}
        - {name: KUBERNETES_SERVICE_PORT, value: "${apiserver##*:}"}
YAML
} >"$ov/operator.yaml"

kc() { "$RIG_KUBECTL" --request-timeout=30s "$@"; }
kc apply -k "$ov" >"$ov/apply.log" 2>&1 || fail "kubectl apply -k $ov failed: $(cat "$ov/apply.log")"
kc -n imagebuild-system rollout status deploy/imagebuild-operator --timeout=180s >/dev/null ||
  fail "the operator's Deployment did not become available (probes) within 180 s"
