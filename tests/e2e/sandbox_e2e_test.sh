#!/usr/bin/env bash
# The sandbox flow end to end in its simulated mode (scripts/sandbox.sh --simulated), then what a
# platform team lives through:
# an arm64 build that fails once and succeeds on retry, a version bump that supersedes a running
# build, an operator killed with SIGKILL mid-build and restarted (no duplicate pods, the build
# completes), the probes and /metrics, a deletion whose pods are garbage-collected, and a SIGTERM
# that exits 0 and releases the lease.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
state=${IBO_E2E_DIR:?run through ctest}
export IBO_SANDBOX_DIR=$state
export IBO_OPERATOR_BINARY=${IBO_OPERATOR_BINARY:?run through ctest}
export IBO_SIMULATOR_BINARY=${IBO_SIMULATOR_BINARY:?run through ctest}
export IBO_SANDBOX_SIMULATOR_ARGS="--fail-attempts linux/arm64=1 --build-seconds 2"
fail() { echo "FAIL: $*" >&2; echo "--- operator log (tail)" >&2; tail -n 30 "$state/operator.log" >&2 || true; exit 1; }
ns=sandbox
operator_pid=""
teardown() {
  [[ -n $operator_pid ]] && kill -9 "$operator_pid" 2>/dev/null || true
  "$repo/scripts/sandbox.sh" --down >/dev/null 2>&1 || true
}
trap teardown EXIT

mkdir -p "$(dirname "$state")"
start=$(date +%s)
"$repo/scripts/sandbox.sh" --simulated >"$state.sandbox.out" 2>&1 || { cat "$state.sandbox.out" >&2; fail "the sandbox did not come up"; }
elapsed=$(( $(date +%s) - start ))
echo "sandbox up and both examples Ready in $elapsed s"
# Issue 7's promise for a warm machine (binaries built, control plane cached).
(( elapsed < 120 )) || fail "the sandbox took $elapsed s to be up with both examples Ready (over 2 minutes)"
export KUBECONFIG=$state/cluster/kubeconfig
registry=$(cat "$state/registry/address")
get() { kubectl get imagebuild "$1" -n "$ns" -o jsonpath="$2"; }
wait_ready() { kubectl wait --for=condition=Ready "imagebuild/$1" -n "$ns" --timeout="${2:-120s}" >/dev/null || fail "$1 did not become Ready"; }
events() { kubectl get events -n "$ns" --field-selector "involvedObject.name=$1" -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}'; }

# 1. The index is in the registry under every tag, each platform's manifest from its own node.
for tag in v1.4.2 v1.4 latest main; do
  grep -q '"architecture":"arm64"' <<<"$(skopeo inspect --raw --tls-verify=false "docker://$registry/sandbox/api:$tag")" ||
    fail "api:$tag is not the index with arm64"
done
[[ $(get api '{.status.platforms[?(@.platform=="linux/arm64")].nodeName}') == sandbox-arm64 ]] || fail "arm64 was not built on the arm64 node"
[[ $(get api '{.status.platforms[?(@.platform=="linux/amd64")].nodeName}') == sandbox-amd64 ]] || fail "amd64 was not built on the amd64 node"

# 2. arm64 failed once (the simulator fails every first arm64 attempt) and succeeded on retry;
#    amd64 built once and kept its digest.
[[ $(get api '{.status.platforms[?(@.platform=="linux/arm64")].attempt}') == 2 ]] || fail "arm64 was not retried"
[[ $(get api '{.status.platforms[?(@.platform=="linux/amd64")].attempt}') == 1 ]] || fail "amd64 was rebuilt"
grep -qx BuildFailed <<<"$(events api)" || fail "no BuildFailed event for the failed attempt"

# 3. A version bump supersedes the running build; tags never move backwards.
kubectl patch imagebuild worker -n "$ns" --type=merge -p '{"spec":{"version":"v1.4.3"}}' >/dev/null
for _ in $(seq 1 150); do
  [[ $(get worker '{.status.phase}/{.status.observedGeneration}') == Building/2 ]] && break; sleep 0.1
done
[[ $(get worker '{.status.phase}/{.status.observedGeneration}') == Building/2 ]] || fail "the v1.4.3 build never started"
kubectl patch imagebuild worker -n "$ns" --type=merge -p '{"spec":{"version":"v1.5.0"}}' >/dev/null
for _ in $(seq 1 100); do [[ $(get worker '{.status.observedGeneration}') == 3 ]] && break; sleep 0.1; done
wait_ready worker
[[ $(get worker '{.status.manifest.tags[0]}') == v1.5.0 ]] || fail "worker's tags are $(get worker '{.status.manifest.tags}')"
grep -qx Superseded <<<"$(events worker)" || fail "no Superseded event"
if skopeo inspect --raw --tls-verify=false "docker://$registry/sandbox/worker:v1.4.3" >/dev/null 2>&1; then
  fail "the superseded build's merge ran: v1.4.3 was pushed"
fi
[[ $(skopeo inspect --raw --tls-verify=false "docker://$registry/sandbox/worker:latest" | sha256sum | cut -d' ' -f1) == \
   $(skopeo inspect --raw --tls-verify=false "docker://$registry/sandbox/worker:v1.5.0" | sha256sum | cut -d' ' -f1) ]] ||
  fail "latest does not point at v1.5.0"

# 4. The operator is killed with SIGKILL mid-build and restarted: it adopts its pods.
# The new build counts as running once its ID is in the status (written after its pods are
# created) and one of its pods runs.
previous_build=$(get api '{.status.buildID}')
kubectl annotate imagebuild api -n "$ns" imagebuild.io/rebuild=e2e-restart --overwrite >/dev/null
running_build() {
  local id; id=$(get api '{.status.buildID}')
  [[ -n $id && $id != "$previous_build" ]] || return 1
  [[ -n $(kubectl get pods -n "$ns" -l "imagebuild.io/build-id=$id,imagebuild.io/role=build" \
    --field-selector=status.phase=Running --no-headers 2>/dev/null) ]] && echo "$id"
}
build_id=""
for _ in $(seq 1 150); do build_id=$(running_build) && break; sleep 0.1; done
[[ -n $build_id ]] || fail "no api build was running to kill the operator in the middle of"
kill -9 "$(cat "$state/operator.pid")"
# shellcheck disable=SC2046
$(cat "$state/operator.cmd") >>"$state/operator.log" 2>&1 &
operator_pid=$!
wait_ready api 120s
[[ $(get api '{.status.buildID}') == "$build_id" ]] || fail "the restarted operator started another build"
pods=$(kubectl get pods -n "$ns" -l "imagebuild.io/build-id=$build_id,imagebuild.io/role=build" \
  -o jsonpath='{range .items[*]}{.metadata.labels.imagebuild\.io/platform}/{.metadata.labels.imagebuild\.io/attempt}{"\n"}{end}' | sort)
[[ -z $(uniq -d <<<"$pods") ]] || fail "duplicate build pods after the restart: $(uniq -d <<<"$pods")"
[[ $(grep -c . <<<"$pods") -ge 2 ]] || fail "the build pods are gone: $pods"

# 5. Probes and metrics (controller-runtime's names) answer.
addresses=$(cat "$state/operator.addresses")
probes=${addresses#*probes=}; metrics=${addresses%% *}; metrics=${metrics#metrics=}
[[ $(curl -s "http://$probes/healthz") == ok ]] || fail "/healthz"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://$probes/readyz") == 200 ]] || fail "/readyz"
body=$(curl -s "http://$metrics/metrics")
for m in controller_runtime_reconcile_total controller_runtime_reconcile_time_seconds_bucket workqueue_depth \
         workqueue_adds_total leader_election_master_status imagebuild_builds_total imagebuild_build_duration_seconds_count \
         imagebuild_merge_duration_seconds_count; do
  grep -q "^$m" <<<"$body" || fail "/metrics has no $m"
done
grep -q '^leader_election_master_status{name="imagebuild-operator"} 1' <<<"$body" || fail "the operator is not the leader"

# 6. Deleting an ImageBuild lets the garbage collector remove its pods (ownerReferences).
kubectl delete imagebuild worker -n "$ns" >/dev/null
for _ in $(seq 1 120); do
  [[ $(kubectl get pods -n "$ns" -l imagebuild.io/name=worker --no-headers 2>/dev/null | wc -l) -eq 0 ]] && break
  sleep 1
done
[[ $(kubectl get pods -n "$ns" -l imagebuild.io/name=worker --no-headers 2>/dev/null | wc -l) -eq 0 ]] || fail "worker's pods were not garbage-collected"

# 7. SIGTERM: the operator exits 0 within seconds and releases the lease.
kill -TERM "$operator_pid"
deadline=$(( $(date +%s) + 15 ))
while kill -0 "$operator_pid" 2>/dev/null; do (( $(date +%s) < deadline )) || fail "the operator did not exit after SIGTERM"; sleep 0.1; done
wait "$operator_pid" && code=0 || code=$?
operator_pid=""
[[ $code == 0 ]] || fail "the operator exited $code after SIGTERM"
[[ -z $(kubectl get lease imagebuild-operator -n imagebuild-system -o jsonpath='{.spec.holderIdentity}') ]] || fail "the lease was not released"
echo "e2e: all checks passed"
