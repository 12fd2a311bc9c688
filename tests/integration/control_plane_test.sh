#!/usr/bin/env bash
# Proves the test control plane is real: readyz, a namespace, a kubelet-like Node that the real
# scheduler binds a pod to, service-account tokens, and a custom resource written and read back
# (which crashes a kube-apiserver built with the unpatched reflect2).
set -euo pipefail
export KUBECONFIG=${IBO_TEST_KUBECONFIG:?run through ctest}
fail() { echo "FAIL: $*" >&2; exit 1; }
ns=cp-test-$RANDOM

[[ $(kubectl get --raw /readyz) == ok ]] || fail "/readyz is not ok"

kubectl create namespace "$ns" >/dev/null
trap 'kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT
[[ $(kubectl get namespace "$ns" -o jsonpath='{.status.phase}') == Active ]] || fail "namespace not Active"

# The serviceaccount and serviceaccount-token controllers run: the namespace gets a token.
for _ in $(seq 1 150); do
  secret=$(kubectl get serviceaccount default -n "$ns" -o jsonpath='{.secrets[0].name}' 2>/dev/null || true)
  [[ -n $secret ]] && break; sleep 0.2
done
[[ -n $secret ]] || fail "no token Secret for the default ServiceAccount"

node=cp-test-arm64-$RANDOM
# Tainted, so that other tests' pods (the controller's arm64 builds) never land on this short-lived node.
NODE_TAINT=imagebuild.io/test=control-plane:NoSchedule "$IBO_TEST_INFRA/node.sh" add "$node" arm64 >/dev/null
[[ $(kubectl get node "$node" -o jsonpath='{.spec.taints[*].key}') == imagebuild.io/test ]] || fail "node $node is not tainted"
trap 'kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; kubectl delete node "$node" >/dev/null 2>&1 || true' EXIT
labels=$(kubectl get node "$node" -o jsonpath='{.metadata.labels.kubernetes\.io/arch}/{.metadata.labels.kubernetes\.io/os}/{.metadata.labels.kubernetes\.io/hostname}')
[[ $labels == "arm64/linux/$node" ]] || fail "node labels read back as $labels"

kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec:
  nodeSelector: {kubernetes.io/arch: arm64, kubernetes.io/hostname: $node}
  tolerations: [{key: imagebuild.io/test, operator: Equal, value: control-plane, effect: NoSchedule}]
  containers: [{name: c, image: example.invalid/none}]
YAML
for _ in $(seq 1 100); do
  bound=$(kubectl get pod pinned -n "$ns" -o jsonpath='{.spec.nodeName}')
  [[ -n $bound ]] && break; sleep 0.2
done
[[ $bound == "$node" ]] || fail "the scheduler did not bind the pod to $node (got '$bound')"

kubectl apply -f - >/dev/null <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.fixture.imagebuild.io}
spec:
  group: fixture.imagebuild.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
              labels: {type: object, additionalProperties: {type: string}}
YAML
kubectl wait --for=condition=Established crd/widgets.fixture.imagebuild.io --timeout=30s >/dev/null
for _ in $(seq 1 50); do kubectl get widgets -n "$ns" >/dev/null 2>&1 && break; sleep 0.2; done
kubectl apply -n "$ns" -f - >/dev/null <<'YAML'
apiVersion: fixture.imagebuild.io/v1
kind: Widget
metadata: {name: first}
spec: {size: 3, labels: {a: b}}
YAML
[[ $(kubectl get widget first -n "$ns" -o jsonpath='{.spec.size}/{.spec.labels.a}') == 3/b ]] || fail "custom resource read back wrong"
# The schema is enforced.
if kubectl apply -n "$ns" -f - >/dev/null 2>&1 <<'YAML'
apiVersion: fixture.imagebuild.io/v1
kind: Widget
metadata: {name: second}
spec: {size: 0}
YAML
then fail "a custom resource violating the schema was accepted"; fi
# The apiserver survived the custom resources.
[[ $(kubectl get --raw /readyz) == ok ]] || fail "kube-apiserver is not ready after custom resources"
echo "control plane: all checks passed"
