#!/usr/bin/env bash
# Issue 12 part 1: crash safety under load, judged by the audit log of a control plane of this
# test's own. 50 ImageBuilds (amd64 + arm64) are in flight on simulated nodes whose builds take a
# random 1-5 s; meanwhile the operator is SIGKILLed at 5 random moments and restarted each time
# (each run its own user agent, ibo-load-N), and kube-apiserver is restarted once, keeping etcd.
#  - every ImageBuild reaches Ready with both platform digests and its index digest;
#  - the audit log shows exactly one successful create per build pod (two per ImageBuild) and per
#    merge pod (one): an AlreadyExists is a duplicate attempt, counted and printed, not a pod.
# Random choices (build times, kill moments, when the apiserver restarts) come from the seed it
# prints; IBO_FAULTS_SEED=N replays a run.
name=load
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
seed=${IBO_FAULTS_SEED:-$(( $(date +%s%N) % 1000000 ))}
echo "seed: $seed (replay: IBO_FAULTS_SEED=$seed)"
RANDOM=$seed
builds=50

# shellcheck disable=SC2119  # no control-plane options
faults_up
start_simulator --build-seconds 1-5 --seed "$seed"
run=0
start_operator "load-$run"
names=()
for i in $(seq -w 1 $builds); do names+=("b$i"); done
for b in "${names[@]}"; do
  cat <<YAML
---
apiVersion: imagebuild.io/v1alpha1
kind: ImageBuild
metadata: {name: $b, namespace: $ns}
spec:
  image: $registry/$name/$b
  version: v1.0.0
  source: {git: {url: https://git.example/faults.git, revision: main}}
  platforms: [{platform: linux/amd64}, {platform: linux/arm64}]
YAML
done | kubectl apply -f - >/dev/null
note "$builds ImageBuilds applied"

# The builds are done within about 10 s of the apply on 2 cores: the kills come 0.3-2.3 s apart,
# and the apiserver restart (some 10 s away) after one of the first three, so that most of the
# kills land while builds, merges and status writes are in flight.
restart_apiserver_after=$(( 1 + RANDOM % 3 ))  # after which kill
in_flight=0
for kill in 1 2 3 4 5; do
  pause_ms=$(( 300 + RANDOM % 2000 ))
  sleep "$(( pause_ms / 1000 )).$(printf %03d $(( pause_ms % 1000 )))"
  ready=$(kubectl get imagebuilds -n "$ns" -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Succeeded$' || true)
  kill -9 "${op_pid[load-$run]}"
  wait "${op_pid[load-$run]}" 2>/dev/null || true
  note "kill $kill: SIGKILL load-$run after $pause_ms ms ($ready of $builds Succeeded)"
  (( ready < builds )) && in_flight=$((in_flight + 1))
  run=$((run + 1))
  start_operator "load-$run"
  if (( kill == restart_apiserver_after )); then
    "$infra/control-plane.sh" restart-apiserver "$dir/cluster" >"$dir/restart-apiserver.out" 2>&1 ||
      { cat "$dir/restart-apiserver.out" >&2; fail "kube-apiserver did not come back"; }
    note "kube-apiserver restarted (etcd kept)"
  fi
done
(( in_flight >= 3 )) || fail "only $in_flight of the 5 kills came while builds were in flight"
wait_all_ready 180 "${names[@]}"
note "all $builds Ready after $run restarts of the operator"
check_digests "${names[@]}"
dup_attempts=$(check_one_create_per_pod "ibo-load-[0-9]+" "${names[@]}")
note "audit log: exactly one successful create per build pod and merge pod; $dup_attempts duplicate attempts (AlreadyExists)"
echo "crash_load: all checks passed in $(( $(date +%s) - started )) s (seed $seed)"
