#!/usr/bin/env bash
# The ImageBuild CRD (crds/) against the real kube-apiserver: it is accepted and Established, the
# issue's example is valid and reads back with its defaults, `kubectl get ib` prints the columns,
# what the schema can catch is refused by the server, and status is a subresource (status writes
# do not bump metadata.generation, spec writes do, and the main resource ignores status).
set -euo pipefail
export KUBECONFIG=${IBO_TEST_KUBECONFIG:?run through ctest}
fail() { echo "FAIL: $*" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/../.." && pwd)
crd=$repo/crds/imagebuild.io_imagebuilds.yaml
ns=crd-test-$RANDOM

# The CRD is left installed: it is idempotent and other tests on the same control plane use it.
# Other tests apply the same CRD at the same time (apply.sh retries the race of first creations).
"$IBO_TEST_INFRA/apply.sh" "$crd" || fail "kube-apiserver refused the CRD"
kubectl wait --for=condition=Established crd/imagebuilds.imagebuild.io --timeout=30s >/dev/null \
  || fail "the CRD did not become Established"
[[ $(kubectl get crd imagebuilds.imagebuild.io \
      -o jsonpath='{.status.conditions[?(@.type=="NonStructuralSchema")].status}') != True ]] \
  || fail "the CRD's schema is not structural"
for _ in $(seq 1 50); do kubectl get ib -n default >/dev/null 2>&1 && break; sleep 0.2; done
kubectl get ib -n default >/dev/null 2>&1 || fail "the short name ib is not served"

kubectl create namespace "$ns" >/dev/null
trap 'kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true' EXIT

get() { kubectl get ib "$1" -n "$ns" -o jsonpath="$2"; }

# (a) The issue's example, as written, is accepted and reads back. Its empty strings (target,
# builder.image) also prove that scripts/build-control-plane.sh patched kube-openapi: built with
# Go >= 1.16 and unpatched, kube-apiserver refuses every empty string in a custom resource
# (kubernetes#99804), which 1.20.2 as released accepts.
example=$(cat <<'YAML'
apiVersion: imagebuild.io/v1alpha1
kind: ImageBuild
metadata: {name: worker}
spec:
  image: registry.example.com/org/worker
  version: v1.4.2
  tags: [main]
  source:
    git: {url: https://github.com/org/repo.git, revision: v1.4.2, secretRef: {name: git-cred}}
    contextDir: .
  dockerfile: Dockerfile
  buildArgs: {GIT_SHA: abc123}
  target: ""
  platforms:
    - platform: linux/amd64
      dockerfile: Dockerfile.worker
    - platform: linux/arm64
      dockerfile: Dockerfile.worker.arm64
      nodeSelector: {pool: arm}
      tolerations: [{key: arch, value: arm64, effect: NoSchedule}]
      resources: {requests: {cpu: "2", memory: 4Gi}}
  builder: {strategy: buildkit, image: ""}
  emulation: Never
  cache: {repository: registry.example.com/org/worker-cache, disabled: false}
  pushSecretRef: {name: regcred}
  buildSecrets: [{id: npmrc, secretRef: {name: npm, key: .npmrc}}]
  serviceAccountName: builder
  timeout: 1h
  schedulingTimeout: 10m
  retries: 1
  failurePolicy: AllPlatforms
  ttlSecondsAfterFinished: 3600
YAML
)
out=$(kubectl apply --dry-run=server -n "$ns" -f - 2>&1 <<<"$example") ||
  fail "the issue's example was refused (is the kube-openapi patch of build-control-plane.sh in?): $out"
kubectl apply -n "$ns" -f - >/dev/null <<<"$example" || fail "the issue's example was refused"
got=$(get worker '{.spec.platforms[1].platform}|{.spec.platforms[1].nodeSelector.pool}|{.spec.platforms[1].resources.requests.memory}|{.spec.platforms[1].tolerations[0].effect}|{.spec.buildSecrets[0].secretRef.key}|{.spec.buildArgs.GIT_SHA}|{.spec.ttlSecondsAfterFinished}')
[[ $got == 'linux/arm64|arm|4Gi|NoSchedule|.npmrc|abc123|3600' ]] || fail "the example read back as $got"

# A minimal ImageBuild gets every default.
kubectl apply -n "$ns" -f - >/dev/null <<'YAML' || fail "a minimal ImageBuild was refused"
apiVersion: imagebuild.io/v1alpha1
kind: ImageBuild
metadata: {name: minimal}
spec:
  image: localhost:5000/minimal
  source: {git: {url: https://github.com/org/repo.git}}
  platforms: [{platform: linux/arm/v7}]
  cache: {repository: localhost:5000/minimal-cache}
YAML
got=$(get minimal '{.spec.builder.strategy}|{.spec.emulation}|{.spec.retries}|{.spec.timeout}|{.spec.schedulingTimeout}|{.spec.failurePolicy}|{.spec.dockerfile}|{.spec.source.contextDir}|{.spec.cache.disabled}')
[[ $got == 'buildkit|Never|1|1h|10m|AllPlatforms|Dockerfile|.|false' ]] || fail "defaults read back as $got"

# Printer columns, through the short name.
header=$(kubectl get ib -n "$ns"); header=${header%%$'\n'*}
[[ $header =~ ^NAME\ +PHASE\ +IMAGE\ +VERSION\ +DIGEST\ +READY\ +AGE$ ]] || fail "kubectl get ib prints the header '$header'"
grep -Eq '^worker +registry\.example\.com/org/worker +v1\.4\.2 ' <<<"$(kubectl get ib worker -n "$ns" --no-headers)" \
  || fail "kubectl get ib worker prints '$(kubectl get ib worker -n "$ns" --no-headers)'"

# The README's upgrade step, as written there, applies the CRD from a checkout's root.
upgrade=$(grep -o 'on upgrade, `[^`]*`' "$repo/README.md" | sed 's/^on upgrade, `//; s/`$//')
[[ $upgrade == "kubectl apply -k crds/" ]] || fail "the README's upgrade step changed: '$upgrade' (test it here)"
upgrade_out=""
for _ in 1 2 3 4 5; do  # other tests apply the same CRD at the same time: a conflict is retried
  if upgrade_out=$(cd "$repo" && $upgrade 2>&1); then upgrade_out=ok; break; fi
  sleep 1
done
[[ $upgrade_out == ok ]] || fail "the README's upgrade step failed: $upgrade_out"

# (b) What the schema can catch is refused by the server, with the field named (1.20 drops list
# indices from the paths of value errors, but not from Duplicate value errors).
refused() {  # refused DESCRIPTION FIELD-IN-THE-ERROR SPEC-YAML  (SPEC-YAML is the whole spec)
  # --validate=false: kubectl would otherwise refuse some of these itself from the published schema.
  local out
  if out=$(kubectl apply --validate=false -n "$ns" -f - 2>&1 <<YAML
apiVersion: imagebuild.io/v1alpha1
kind: ImageBuild
metadata: {name: refused}
spec:
$3
YAML
  ); then
    kubectl delete ib refused -n "$ns" >/dev/null 2>&1 || true
    fail "$1 was accepted"
  fi
  [[ $out == *"is invalid"* && $out == *"$2"* ]] || fail "$1: expected a validation error naming $2, got: $out"
}
base='  image: registry.example.com/org/worker
  source: {git: {url: https://github.com/org/repo.git}}'
two='  platforms: [{platform: linux/amd64}]'
refused "a platform listed twice" 'spec.platforms[2]' "$base
  platforms: [{platform: linux/arm64}, {platform: linux/amd64}, {platform: linux/arm64}]"
refused "platform linux/x86" 'spec.platforms.platform' "$base
  platforms: [{platform: linux/x86}]"
refused "platform arm64 (no os)" 'spec.platforms.platform' "$base
  platforms: [{platform: arm64}]"
refused "an empty platforms list" 'spec.platforms' "$base
  platforms: []"
refused "version v1.4" 'spec.version' "$base
$two
  version: v1.4"
refused "a tag with a '+'" 'spec.tags' "$base
$two
  tags: [v1.4.2+build.7]"
refused "a tag listed twice" 'spec.tags[1]' "$base
$two
  tags: [main, main]"
refused "an image with a tag" 'spec.image' "  image: registry.example.com/org/worker:v1
  source: {git: {url: https://github.com/org/repo.git}}
$two"
refused "an image with a digest" 'spec.image' "  image: registry.example.com/org/worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  source: {git: {url: https://github.com/org/repo.git}}
$two"
refused "an image without a registry" 'spec.image' "  image: org/worker
  source: {git: {url: https://github.com/org/repo.git}}
$two"
refused "an image with upper case in its path" 'spec.image' "  image: registry.example.com/Org/worker
  source: {git: {url: https://github.com/org/repo.git}}
$two"
refused "emulation Sometimes" 'spec.emulation' "$base
$two
  emulation: Sometimes"
refused "builder strategy kaniko" 'spec.builder.strategy' "$base
$two
  builder: {strategy: kaniko}"
refused "retries 11" 'spec.retries' "$base
$two
  retries: 11"
refused "timeout '1 hour'" 'spec.timeout' "$base
$two
  timeout: 1 hour"
refused "a missing spec.platforms" 'spec.platforms' "$base"
refused "a missing git url" 'spec.source.git.url' "  image: registry.example.com/org/worker
  source: {git: {revision: main}}
$two"
refused "a build secret without secretRef" 'spec.buildSecrets.secretRef' "$base
$two
  buildSecrets: [{id: npmrc}]"
refused "a quantity 'lots'" 'spec.platforms.resources.requests.cpu' "$base
  platforms: [{platform: linux/amd64, resources: {requests: {cpu: lots}}}]"

# (c) status is a subresource: status writes leave metadata.generation alone, spec writes bump it.
gen0=$(get worker '{.metadata.generation}')
kubectl patch ib worker -n "$ns" --subresource=status --type=merge \
  -p '{"status":{"phase":"Succeeded","manifest":{"shortDigest":"sha256:0123456789ab"}}}' >/dev/null \
  || fail "patching status through the status subresource failed"
[[ $(get worker '{.status.phase}|{.status.manifest.shortDigest}') == 'Succeeded|sha256:0123456789ab' ]] \
  || fail "status read back as $(get worker '{.status}')"
[[ $(get worker '{.metadata.generation}') == "$gen0" ]] || fail "a status patch bumped metadata.generation"
grep -Eq '^worker +Succeeded +registry\.example\.com/org/worker +v1\.4\.2 +sha256:0123456789ab ' \
  <<<"$(kubectl get ib worker -n "$ns" --no-headers)" \
  || fail "after the status patch kubectl get ib prints '$(kubectl get ib worker -n "$ns" --no-headers)'"
kubectl patch ib worker -n "$ns" --subresource=status --type=merge -p '{"status":{"conditions":[
  {"type":"Ready","status":"True","reason":"Succeeded","message":"index pushed","lastTransitionTime":"2021-01-01T00:00:00Z","observedGeneration":1}]}}' \
  >/dev/null || fail "patching a Ready condition failed"
grep -Eq ' sha256:0123456789ab +True +[0-9]' <<<"$(kubectl get ib worker -n "$ns" --no-headers)" \
  || fail "the READY column shows '$(kubectl get ib worker -n "$ns" --no-headers)'"
if kubectl patch ib worker -n "$ns" --subresource=status --type=merge -p '{"status":{"phase":"Done"}}' >/dev/null 2>&1; then
  fail "status phase Done was accepted"
fi
# The main resource ignores status.
kubectl patch ib worker -n "$ns" --type=merge -p '{"status":{"phase":"Failed"}}' >/dev/null
[[ $(get worker '{.status.phase}') == Succeeded ]] || fail "status changed through the main resource"
[[ $(get worker '{.metadata.generation}') == "$gen0" ]] || fail "a no-op write bumped metadata.generation"
kubectl patch ib worker -n "$ns" --type=merge -p '{"spec":{"tags":["main","edge"]}}' >/dev/null \
  || fail "a spec patch was refused"
[[ $(get worker '{.metadata.generation}') == $((gen0 + 1)) ]] \
  || fail "a spec patch left metadata.generation at $(get worker '{.metadata.generation}') (was $gen0)"
[[ $(get worker '{.status.phase}') == Succeeded ]] || fail "a spec patch dropped the status"

echo "crd: all checks passed"
