#!/usr/bin/env bash
# deploy/ against the real kube-apiserver: the Namespace first, then the whole kustomize base with
# --dry-run=server; then its CRD, ServiceAccount and RBAC for real (not the Deployment: no kubelet
# would run it), and `kubectl auth can-i` as the operator's ServiceAccount proves the RBAC grants
# exactly what issue 6 lists and refuses the rest. The examples in deploy/examples/ validate
# against the CRD (--dry-run=server).
# The objects are left installed: applying them is idempotent, and other tests may use them.
set -euo pipefail
export KUBECONFIG=${IBO_TEST_KUBECONFIG:?run through ctest}
fail() { echo "FAIL: $*" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
ns=deploy-test-$RANDOM
trap 'rm -rf "$tmp"; kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT

kubectl kustomize "$repo/deploy" > "$tmp/all.yaml" 2>"$tmp/kustomize.err" \
  || fail "kubectl kustomize deploy/: $(cat "$tmp/kustomize.err")"

# (a) The Namespace first (a namespaced object cannot be dry-run into a namespace that does not
# exist), then everything with --dry-run=server.
kubectl apply -f "$repo/deploy/namespace.yaml" >/dev/null || fail "the Namespace was refused"
kubectl apply --dry-run=server -f "$tmp/all.yaml" > "$tmp/dry-run.out" 2>&1 \
  || fail "kubectl apply --dry-run=server of deploy/ failed: $(cat "$tmp/dry-run.out")"
for object in namespace/imagebuild-system customresourcedefinition.apiextensions.k8s.io/imagebuilds.imagebuild.io \
    serviceaccount/imagebuild-operator clusterrole.rbac.authorization.k8s.io/imagebuild-operator \
    clusterrolebinding.rbac.authorization.k8s.io/imagebuild-operator \
    role.rbac.authorization.k8s.io/imagebuild-operator-leader-election \
    rolebinding.rbac.authorization.k8s.io/imagebuild-operator-leader-election \
    deployment.apps/imagebuild-operator service/imagebuild-operator-metrics; do
  grep -q "^$object " "$tmp/dry-run.out" || fail "deploy/ does not hold $object: $(cat "$tmp/dry-run.out")"
done

# (b) For real: every object but the Deployment and the Service.
awk 'function flush() { if (doc != "" && doc !~ /(^|\n)kind: (Deployment|Service)\n/) printf "---\n%s", doc; doc = "" }
     /^---$/ { flush(); next } { doc = doc $0 "\n" } END { flush() }' "$tmp/all.yaml" > "$tmp/rbac.yaml"
grep -q '^kind: Deployment$' "$tmp/rbac.yaml" && fail "the filter kept the Deployment"
grep -q '^kind: ClusterRole$' "$tmp/rbac.yaml" || fail "the filter lost the ClusterRole"
# Other tests apply the same CRD at the same time (apply.sh retries the race of first creations).
"$IBO_TEST_INFRA/apply.sh" "$tmp/rbac.yaml" || fail "applying deploy/'s CRD, ServiceAccount and RBAC failed"
kubectl wait --for=condition=Established crd/imagebuilds.imagebuild.io --timeout=30s >/dev/null \
  || fail "the CRD did not become Established"

as=system:serviceaccount:imagebuild-system:imagebuild-operator
can() {  # can NAMESPACE|- VERB RESOURCE [SUBRESOURCE]: "yes" or "no" as the operator
  local where=(--all-namespaces) sub=()
  [[ $1 != - ]] && where=(-n "$1")
  [[ -n ${4:-} ]] && sub=(--subresource="$4")
  kubectl auth can-i "$2" "$3" "${sub[@]}" "${where[@]}" --as="$as" 2>/dev/null || true
}
allowed() { [[ $(can "$@") == yes ]] || fail "the operator may not $2 $3${4:+/$4} in ${1/#-/all namespaces}"; }
refused() { [[ $(can "$@") == no ]] || fail "the operator may $2 $3${4:+/$4} in ${1/#-/all namespaces}, which it must not"; }

# The RBAC authorizer reads bindings from a cache: the first answers may predate the apply.
for _ in $(seq 1 150); do
  [[ $(can - get pods) == yes && $(can imagebuild-system get leases.coordination.k8s.io) == yes ]] && break; sleep 0.2
done
# Every verb issue 6 lists, in a build namespace and across all namespaces (ClusterRole).
for where in "$ns" -; do
  for verb in get list watch update patch; do allowed "$where" "$verb" imagebuilds.imagebuild.io; done
  for verb in update patch; do allowed "$where" "$verb" imagebuilds.imagebuild.io status; done
  allowed "$where" update imagebuilds.imagebuild.io finalizers
  for verb in get list watch create delete; do allowed "$where" "$verb" pods; done
  for verb in get list watch create update delete; do allowed "$where" "$verb" configmaps; done
  allowed "$where" get secrets
  for verb in create patch; do allowed "$where" "$verb" events; done
done
for verb in get list watch; do allowed - "$verb" nodes; done
for verb in get create update; do allowed imagebuild-system "$verb" leases.coordination.k8s.io; done

# And what it must not do.
for verb in list watch create update delete; do refused "$ns" "$verb" secrets; done
for verb in update patch; do refused "$ns" "$verb" pods; done
refused "$ns" patch configmaps
refused "$ns" deletecollection pods
refused "$ns" create pods exec
for verb in create update patch delete; do refused - "$verb" nodes; done
for verb in create delete deletecollection; do refused "$ns" "$verb" imagebuilds.imagebuild.io; done
refused "$ns" get imagebuilds.imagebuild.io finalizers
refused imagebuild-system delete leases.coordination.k8s.io
for verb in get create update; do refused "$ns" "$verb" leases.coordination.k8s.io; done
refused "$ns" create serviceaccounts
refused "$ns" create rolebindings.rbac.authorization.k8s.io
refused - list customresourcedefinitions.apiextensions.k8s.io

# (c) The examples validate against the CRD as served.
kubectl create namespace "$ns" >/dev/null
for _ in $(seq 1 50); do kubectl get imagebuilds -n "$ns" >/dev/null 2>&1 && break; sleep 0.2; done
shopt -s nullglob
examples=("$repo"/deploy/examples/*.yaml)
((${#examples[@]} >= 3)) || fail "deploy/examples/ holds ${#examples[@]} files, expected at least 3"
for f in "${examples[@]}"; do
  kubectl apply --dry-run=server -n "$ns" -f "$f" > "$tmp/example.out" 2>&1 \
    || fail "$(basename "$f") does not validate: $(cat "$tmp/example.out")"
done
# The operator's own image, for both platforms, from operator/Dockerfile.
self=$(kubectl apply --dry-run=server -n "$ns" -f "$repo/deploy/examples/imagebuild-operator.yaml" \
  -o jsonpath='{.spec.dockerfile} {.spec.source.contextDir} {.spec.version} {.spec.pushSecretRef.name} {.spec.platforms[*].platform}')
[[ $self == "operator/Dockerfile . v0.1.0 regcred linux/amd64 linux/arm64" ]] \
  || fail "the operator's own ImageBuild reads back as '$self'"
[[ -f $repo/operator/Dockerfile ]] || fail "operator/Dockerfile is missing"
echo "deploy: all checks passed"
