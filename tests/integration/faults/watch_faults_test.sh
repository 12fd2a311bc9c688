#!/usr/bin/env bash
# Issue 12 part 3: watch faults between the operator and kube-apiserver, made by
# tests/support/fault_proxy.py (tcp mode) on a control plane of this test's own whose apiserver
# has no watch cache (so that a compaction reaches watchers as 410 Gone). The operator runs with
# --watch-timeout 5 --kube-api-request-timeout 5: a stalled watch is given up within
# 2*5 + 5 = 15 s (checked, with 1 s of slack for the log line), and a change made during a stall
# is acted on within 25 s (the informer's reconnect backoff and the reconcile on top).
#  1. every connection cut mid-stream, then a spec change;
#  2. every connection stalled (open, nothing forwarded), then a spec change;
#  3. the API refused while a spec changes and etcd is compacted: the watch resumes from a
#     compacted resourceVersion, gets 410 and lists afresh, and the change is acted on;
#  4. kube-apiserver restarted (etcd kept), then a spec change.
# Then, by the audit log: every change acted on once (per build, two build pods and one merge
# pod, none created twice), and no event counted twice (each build's events summed over their
# counts: one Building, two Built, one Merging, one Succeeded). No random choices.
name=watch
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

faults_up --no-watch-cache
# shellcheck disable=SC1091
source "$dir/cluster/env"
start_proxy api tcp "127.0.0.1:$APISERVER_PORT"
# shellcheck disable=SC2154  # api_port: set by start_proxy
sed "s|https://127.0.0.1:$APISERVER_PORT|https://127.0.0.1:$api_port|" "$KUBECONFIG" >"$dir/operator.kubeconfig"
start_simulator --build-seconds 1
op_kubeconfig=$dir/operator.kubeconfig
start_operator w --watch-timeout 5 --kube-api-request-timeout 5
names=(w1 w2 w3 w4 w5)
for b in "${names[@]}"; do imagebuild "$b" v1.0.0; done
wait_all_ready 90 "${names[@]}"
note "${#names[@]} ImageBuilds Ready through the proxy"

# bump NAME VERSION: a spec change; wait_acted NAME VERSION SECONDS: until Ready at VERSION.
bump() { kubectl patch imagebuild "$1" -n "$ns" --type=merge -p "{\"spec\":{\"version\":\"$2\"}}" >/dev/null; }
wait_acted() {
  local deadline=$(( $(date +%s%3N) + $3 * 1000 )) t0; t0=$(date +%s%3N)
  until [[ $(kubectl get imagebuild "$1" -n "$ns" -o jsonpath='{.status.observedGeneration} {.status.manifest.tags[0]} {.status.phase}') == "2 $2 Succeeded" ]]; do
    (( $(date +%s%3N) < deadline )) || fail "$1's change to $2 was not acted on within $3 s: $(kubectl get imagebuild "$1" -n "$ns" -o jsonpath='{.status.observedGeneration} {.status.phase}')"
    sleep 0.2
  done
  echo $(( $(date +%s%3N) - t0 ))
}

# 1. cut mid-stream
note "cut: $(proxy api cut)"
bump w1 v1.1.0
note "w1's change acted on $(wait_acted w1 v1.1.0 30) ms after the cut"

# 2. stall
sleep 1
stall_ms=$(date +%s%3N); stall_at=$(date '+%F %T.%3N')
note "stall: $(proxy api stall)"
bump w2 v1.1.0
took=$(wait_acted w2 v1.1.0 40)
note "w2's change made during a stall was acted on after $took ms (bound 25000)"
(( took <= 25000 )) || fail "a stall was not overcome within 25 s (took $took ms)"
given_up=$(awk -v t="$stall_at" '($1 " " $2) > "[" t && /informer imagebuilds: watch failed: Timeout/ {print substr($1 " " $2, 2, 23); exit}' "$dir/op-w.log")
[[ -n $given_up ]] || fail "the stalled imagebuilds watch never timed out"
detected=$(( $(date -d "$given_up" +%s%3N) - stall_ms ))
note "the stalled imagebuilds watch was given up after $detected ms (bound 2*5 + 5 = 15 s)"
(( detected <= 16000 )) || fail "the stall was detected after $detected ms, over the 15 s bound"
proxy api pass >/dev/null

# 3. refused while the spec changes and etcd is compacted: 410, then a fresh list
relists_before=$(grep -c 'is gone; listing again' "$dir/op-w.log" || true)
note "refuse: $(proxy api refuse)"
bump w3 v1.1.0
kubectl annotate imagebuild w5 -n "$ns" faults/touch=1 >/dev/null  # more revisions past the watch's
rev=$("$infra/control-plane.sh" compact-etcd "$dir/cluster")
note "etcd compacted to revision $rev while the operator could not connect"
sleep 2
proxy api pass >/dev/null
note "w3's change acted on $(wait_acted w3 v1.1.0 40) ms after the connections came back"
relists=$(( $(grep -c 'is gone; listing again' "$dir/op-w.log" || true) - relists_before ))
(( relists >= 1 )) || fail "no watch got 410 Gone and listed again after the compaction"
note "$relists watches got 410 Gone and listed again"

# 4. apiserver restart
"$infra/control-plane.sh" restart-apiserver "$dir/cluster" >"$dir/restart-apiserver.out" 2>&1 ||
  { cat "$dir/restart-apiserver.out" >&2; fail "kube-apiserver did not come back"; }
bump w4 v1.1.0
note "w4's change after an apiserver restart acted on in $(wait_acted w4 v1.1.0 60) ms"

# By the audit log: per build (build-id label), two build pods and one merge pod, none twice.
creates=$(audit 'select(.userAgent == "ibo-w" and .verb == "create" and .objectRef.resource == "pods"
                  and .responseStatus.code == 201)
  | "\(.objectRef.name) \(.requestObject.metadata.labels["imagebuild.io/name"]) \(.requestObject.metadata.labels["imagebuild.io/build-id"]) \(.requestObject.metadata.labels["imagebuild.io/role"])"')
dups=$(awk '{print $1}' <<<"$creates" | sort | uniq -d)
[[ -z $dups ]] || fail "pods created twice: $dups"
for b in "${names[@]}"; do
  want=2; [[ $b == w5 ]] && want=1
  builds=$(awk -v b="$b" '$2 == b {print $3}' <<<"$creates" | sort -u)
  [[ $(wc -l <<<"$builds") == "$want" ]] || fail "$b: $(wc -l <<<"$builds") builds, want $want: $builds"
  for id in $builds; do
    [[ $(awk -v b="$b" -v id="$id" '$2 == b && $3 == id && $4 == "build"' <<<"$creates" | wc -l) == 2 &&
       $(awk -v b="$b" -v id="$id" '$2 == b && $3 == id && $4 == "merge"' <<<"$creates" | wc -l) == 1 ]] ||
      fail "$b build $id: pods $(awk -v b="$b" -v id="$id" '$2 == b && $3 == id' <<<"$creates")"
  done
done
# Events: per build one Building, two Built, one Merging and one Succeeded, summed over the
# events' counts (the recorder adds a repeat of the same message to the count: a second build's
# Merging is that).
counts=$(kubectl get events -n "$ns" -o json | jq -r '[.items[] | select(.source.component == "imagebuild-operator")]
  | group_by(.involvedObject.name + " " + .reason)[] | "\(.[0].involvedObject.name) \(.[0].reason) \(map(.count) | add)"')
for b in "${names[@]}"; do
  n=2; [[ $b == w5 ]] && n=1
  for want in "Building $n" "Built $((2 * n))" "Merging $n" "Succeeded $n"; do
    got=$(awk -v b="$b" -v r="${want% *}" '$1 == b && $2 == r {print $3}' <<<"$counts")
    [[ $got == "${want#* }" ]] || fail "$b: ${want% *} counted ${got:-0} times, want ${want#* }"
  done
done
check_digests "${names[@]}"
note "audit log: each change acted on once; no pod created twice; no event counted twice"
echo "watch_faults: all checks passed in $(( $(date +%s) - started )) s"
