#!/usr/bin/env bash
# Issue 12 part 5, the credential scan: the operator runs a real build on the shared control plane
# and registry (simulated nodes, tests/sim: the merge runs `imagebuild-operator merge` for real,
# with the push Secret mounted) with a push secret, a git password and a registry token, at
# --log-level debug. Then its log, every Event, every ImageBuild (status included), every Pod
# (spec and status: the termination messages) and the ConfigMaps it wrote are searched for each
# credential, for its base64 and for the base64 of user:password. None may be found.
# The simulator's own work folder (the "node", where mounted Secrets are written) is not searched.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
infra=${IBO_TEST_INFRA:?run through ctest}
operator=${IBO_OPERATOR_BINARY:?run through ctest}
simulator=${IBO_SIMULATOR_BINARY:?run through ctest}
export KUBECONFIG=${IBO_TEST_KUBECONFIG:?run through ctest}
registry=$(cat "${IBO_TEST_REGISTRY_DIR:?run through ctest}/address")
tmp=$(mktemp -d)
ns=creds-$$
pids=()
fail() {
  echo "FAIL: $*" >&2
  echo "--- operator log (tail)" >&2; tail -n 20 "$tmp/operator.log" >&2 || true
  echo "--- node simulator log (tail)" >&2; tail -n 20 "$tmp/simulator.log" >&2 || true
  exit 1
}
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  kubectl delete node "$ns-amd64" "$ns-arm64" --wait=false >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

random() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
push_password="push-secret-$(random)"
git_password="git-password-$(random)"
registry_token="registry-token-$(random)"

"$infra/apply.sh" "$repo/crds/imagebuild.io_imagebuilds.yaml" >/dev/null
kubectl wait --for=condition=Established crd/imagebuilds.imagebuild.io --timeout=30s >/dev/null
kubectl create namespace "$ns" >/dev/null
auth=$(printf 'robot:%s' "$push_password" | base64 -w0)
printf '{"auths":{"%s":{"auth":"%s"},"other.example.com":{"identitytoken":"%s"}}}' "$registry" "$auth" "$registry_token" \
  >"$tmp/config.json"
kubectl -n "$ns" create secret generic regcred --type=kubernetes.io/dockerconfigjson \
  --from-file=.dockerconfigjson="$tmp/config.json" >/dev/null
rm "$tmp/config.json"
kubectl -n "$ns" create secret generic git-cred --from-literal=username=ci --from-literal=password="$git_password" >/dev/null
kubectl -n "$ns" create secret generic build-token --from-literal=token="$registry_token" >/dev/null

"$simulator" --kubeconfig "$KUBECONFIG" --node "$ns-amd64=amd64" --node "$ns-arm64=arm64" --operator-binary "$operator" \
  --insecure-registry "$registry" --work-dir "$tmp/simulator" >"$tmp/simulator.log" 2>&1 &
pids+=($!)
"$operator" run --kubeconfig "$KUBECONFIG" --namespace "$ns" --insecure-registry "$registry" --merge-image imagebuild-operator:test \
  --metrics-bind-address 0 --health-probe-bind-address 0 --log-level debug --retry-backoff 1 >"$tmp/operator.log" 2>&1 &
pids+=($!)

kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: imagebuild.io/v1alpha1
kind: ImageBuild
metadata: {name: secretive}
spec:
  image: $registry/creds/secretive
  version: v1.0.0
  source:
    git: {url: "https://git.example.com/org/app.git", revision: main, secretRef: {name: git-cred}}
  pushSecretRef: {name: regcred}
  buildSecrets: [{id: token, secretRef: {name: build-token, key: token}}]
  cache: {repository: $registry/creds/secretive-cache}
  platforms: [{platform: linux/amd64}, {platform: linux/arm64}]
YAML
kubectl wait --for=condition=Ready imagebuild/secretive -n "$ns" --timeout=90s >/dev/null ||
  fail "the build did not become Ready: $(kubectl get imagebuild secretive -n "$ns" -o jsonpath='{.status.conditions}')"
# A failing build too, so that error paths (their messages and events) are searched as well.
kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: imagebuild.io/v1alpha1
kind: ImageBuild
metadata: {name: no-such-secret}
spec:
  image: $registry/creds/broken
  version: v1.0.0
  source:
    git: {url: "https://git.example.com/org/app.git", secretRef: {name: git-cred-missing}}
  pushSecretRef: {name: regcred}
  platforms: [{platform: linux/amd64}]
YAML
for _ in $(seq 1 100); do
  [[ $(kubectl get imagebuild no-such-secret -n "$ns" -o jsonpath='{.status.phase}') == Failed ]] && break; sleep 0.1
done
sleep 1  # the events that follow the status

{
  cat "$tmp/operator.log"
  kubectl get events -A -o json
  kubectl get imagebuilds -A -o json
  kubectl get pods -A -o json
  kubectl get configmaps -n "$ns" -o json
} >"$tmp/scanned"
[[ $(grep -c "created build pod" "$tmp/operator.log") -ge 2 ]] || fail "the operator log shows no build"
grep -q '"kind": "Pod"' "$tmp/scanned" || fail "no pod was scanned"
[[ -n $(kubectl get configmaps -n "$ns" -o jsonpath='{.items[?(@.metadata.ownerReferences[0].name=="secretive")].metadata.name}') ]] ||
  fail "no ConfigMap of the operator's was scanned"
# The scan can see a credential where there is one: the Secrets themselves.
kubectl get secret build-token -n "$ns" -o json | grep -qF "$(printf %s "$registry_token" | base64 -w0)" ||
  fail "the scan's own check does not find the token in its Secret"
found=0
for secret in "$push_password" "$git_password" "$registry_token"; do
  for form in "$secret" "$(printf %s "$secret" | base64 -w0)" "$(printf 'robot:%s' "$secret" | base64 -w0)" \
              "$(printf 'ci:%s' "$secret" | base64 -w0)"; do
    if grep -qF -- "$form" "$tmp/scanned"; then echo "FAIL: found ${form:0:12}... (a credential)" >&2; found=1; fi
  done
done
(( found == 0 )) || fail "credentials reached the log, an event, a status, a pod or a ConfigMap"
echo "credential scan: $(wc -c <"$tmp/scanned") bytes of logs, events, statuses, pods and ConfigMaps hold none of the 3 credentials"
