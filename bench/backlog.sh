#!/usr/bin/env bash
# The backlog benchmark of issue 15: N ImageBuilds x 2 platforms exist while the operator is
# stopped; time from the operator's process start to the 2N-th build pod seen by a watch, against
# the peer, kube-controller-manager --controllers=job with N Jobs x parallelism 2 at the same QPS
# and burst. One real control plane of its own (etcd, kube-apiserver, kube-scheduler) and two Ready
# Nodes (amd64, arm64) that nothing runs: pods are bound and stay Pending.
#   bench/backlog.sh [--n "100 1000"] [--runs 3] [--qps 1000] [--burst 1000] [--out FILE]
#                    [--who "peer ours-default ours-peerqps"]   (a subset; ratios need the peer)
#   who "ours-peerqps-json" is ours at the peer's QPS with pods listed and watched in JSON, not
#   protobuf (--kube-api-content-type application/json): the A/B of that choice, in one invocation
#   bench/backlog.sh --smoke        (N=20, one run, no file: proves the bench still works)
#   IBO_BENCH_PERF=FILE: also profile ours (peer's QPS) with perf record -e cpu-clock into FILE.N.RUN
#   IBO_OPERATOR_BINARY=PATH: measure that binary instead of building build/'s
#   IBO_BENCH_OPERATOR_FLAGS="--max-concurrent-reconciles 4": more flags for ours (experiments)
#   IBO_BENCH_CP_PROFILE=FILE: kube-apiserver's own CPU profile (pprof, for go tool pprof) of the
#     first IBO_BENCH_CP_PROFILE_SECONDS (10) of every run, into FILE.WHO.N.RUN
#   IBO_BENCH_LOGS=DIR: keep each process's log there as WHO.N.RUN.log (with
#     IBO_BENCH_OPERATOR_FLAGS="--log-level info", what ours did to each ImageBuild)
#   IBO_BENCH_REQUESTS=1: also print what each run asked of kube-apiserver (its request counters, by
#     verb and resource) and the CPU each control plane process used, to compare with the peer
# N=5000 at the default QPS (20) takes minutes per run: it is a benchmark, not a test. Run it under
# the machine's CPU lock when the machine is shared (flock -o /tmp/ibo-cpu.lock bench/backlog.sh).
# Every ImageBuild names a full 40-hex commit as source.git.revision, so no resolve pod is needed
# and the first pods each ImageBuild gets are its two build pods.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
infra=$repo/tests/infra
sizes="100 1000"; runs=3; whos="peer ours-default ours-peerqps"; qps=1000; burst=1000; smoke=0
out=$repo/bench/results/backlog-$(date -u +%Y-%m-%d).md
while (($#)); do
  case $1 in
    --n) sizes=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --who) whos=$2; shift 2 ;;
    --qps) qps=$2; shift 2 ;;
    --burst) burst=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --smoke) smoke=1; sizes=20; runs=1; out=""; shift ;;
    *) echo "usage: bench/backlog.sh [--n \"100 1000 5000\"] [--runs R] [--who "peer ours-default ours-peerqps"] [--qps Q] [--burst B] [--out FILE] [--smoke]" >&2
       exit 2 ;;
  esac
done
fail() { echo "bench/backlog: $*" >&2; exit 1; }
source "$repo/bench/lib.sh"

operator=${IBO_OPERATOR_BINARY:-}
if [[ -z $operator ]]; then
  build=$(bench_build imagebuild-operator)
  operator=$build/operator/imagebuild-operator
fi
[[ -x $operator ]] || fail "no operator binary at $operator"
bin_dir=$("$repo/scripts/build-control-plane.sh" --print-bin-dir)
kcm=$bin_dir/kube-controller-manager
[[ -x $kcm ]] || fail "no kube-controller-manager in $bin_dir: run scripts/setup.sh first"

tmp=$(mktemp -d)
pids=(); watch_pids=()
cleanup() {
  for p in ${pids[@]+"${pids[@]}"} ${watch_pids[@]+"${watch_pids[@]}"}; do kill "$p" 2>/dev/null || true; done
  IBO_CP_CONTROLLERS=garbagecollector,namespace "$infra/control-plane.sh" stop "$tmp/cp" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# The control plane's own controller-manager runs neither job nor node-lifecycle controllers: the
# peer is a process of its own, and the Nodes stay Ready without a kubelet's heartbeats.
IBO_CP_CONTROLLERS=garbagecollector,namespace,serviceaccount,serviceaccount-token \
  "$infra/control-plane.sh" start "$tmp/cp" --max-requests-inflight=1000 --max-mutating-requests-inflight=500 \
  >"$tmp/cp.out" || fail "control plane did not start: $(tail -n 5 "$tmp/cp.out")"
export KUBECONFIG=$tmp/cp/kubeconfig
kubectl apply -f "$repo/crds/imagebuild.io_imagebuilds.yaml" >/dev/null
kubectl wait --for condition=established --timeout=60s crd/imagebuilds.imagebuild.io >/dev/null
"$infra/node.sh" add bench-amd64 amd64 64 256Gi 20000 >/dev/null
"$infra/node.sh" add bench-arm64 arm64 64 256Gi 20000 >/dev/null
source "$tmp/cp/env"
api="https://127.0.0.1:$APISERVER_PORT"
curl_api() {  # curl_api METHOD PATH [BODY]: the API with the admin's client certificate
  curl -sf -X "$1" --cacert "$tmp/cp/pki/ca.crt" --cert "$tmp/cp/pki/admin.crt" --key "$tmp/cp/pki/admin.key" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "$api$2" >/dev/null
}

# objects KIND N NS: N ImageBuilds (2 platforms, a commit id) or N Jobs (parallelism 2) as YAML.
objects() {
  local i
  for ((i = 0; i < $2; i++)); do
    if [[ $1 == ours ]]; then
      cat <<YAML
---
apiVersion: imagebuild.io/v1alpha1
kind: ImageBuild
metadata: {name: b$i, namespace: $3}
spec:
  image: registry.bench.invalid/bench/app$i
  version: v1.0.0
  source:
    git: {url: https://git.bench.invalid/app.git, revision: 0123456789abcdef0123456789abcdef01234567}
  platforms: [{platform: linux/amd64}, {platform: linux/arm64}]
YAML
    else
      cat <<YAML
---
apiVersion: batch/v1
kind: Job
metadata: {name: j$i, namespace: $3}
spec:
  parallelism: 2
  completions: 2
  template:
    metadata: {labels: {bench: peer}}
    spec:
      restartPolicy: Never
      containers: [{name: build, image: busybox:1.36, command: ["true"]}]
YAML
    fi
  done
}

# watch_pods NS SELECTOR TARGET FILE: starts a watch; the arrival time of its TARGET-th ADDED pod
# goes to FILE. Sets watch_pids (the kubectl and the reader) for the caller to stop.
watch_pods() {
  local ns=$1 selector=$2 target=$3 file=$4
  rm -f "$tmp/fifo"; mkfifo "$tmp/fifo"
  kubectl get pods -n "$ns" -l "$selector" -w --output-watch-events --no-headers >"$tmp/fifo" 2>/dev/null &
  watch_pids=($!)
  (
    count=0
    while read -r line; do
      [[ $line == ADDED* ]] || continue
      count=$((count + 1))
      if ((count == target)); then echo "$EPOCHREALTIME" >"$file"; break; fi
    done
    cat >/dev/null  # keep draining until stopped, so the watch never blocks
  ) <"$tmp/fifo" &
  watch_pids+=($!)
}

# cp_split: "component ticks" for each control plane process (etcd, kube-apiserver, kube-scheduler,
# its controller-manager): the CPU ticks it used so far.
cp_split() {
  local f
  for f in "$tmp"/cp/pids/*; do
    echo "$(basename "$f") $(awk '{print $14 + $15}' "/proc/$(cat "$f")/stat" 2>/dev/null || echo 0)"
  done
}

# cp_ticks: the ticks of the whole control plane so far.
cp_ticks() { cp_split | awk '{ total += $2 } END { print total + 0 }'; }

# wait_quiet: waits (at most 120 s) until the control plane has used under 10 % of a core for 3
# seconds in a row. A deleted namespace keeps it busy for a while after it is gone: the garbage
# collector still works through the run's objects, and each of its requests makes kube-apiserver
# look the missing namespace up. Without the wait, that lands in the next run's figures.
wait_quiet() {
  local hz quiet=0 before after deadline=$(($(date +%s) + 120))
  hz=$(getconf CLK_TCK)
  while ((quiet < 3)); do
    (($(date +%s) < deadline)) || { echo "  the control plane did not quieten within 120 s" >&2; return 0; }
    before=$(cp_ticks); sleep 1; after=$(cp_ticks)
    if (((after - before) * 10 < hz)); then quiet=$((quiet + 1)); else quiet=0; fi
  done
}

# api_requests: kube-apiserver's request counters so far, a "verb resource/subresource count" line each.
api_requests() {
  kubectl get --raw /metrics | awk '/^apiserver_request_total\{/ {
    delete l; rest = $0; sub(/^[^{]*\{/, "", rest); sub(/\}[^}]*$/, "", rest)
    while (match(rest, /^[A-Za-z_]+="[^"]*",?/)) {
      kv = substr(rest, 1, RLENGTH); rest = substr(rest, RLENGTH + 1); sub(/,$/, "", kv)
      k = kv; sub(/=.*/, "", k); v = kv; sub(/^[^=]*="/, "", v); sub(/"$/, "", v); l[k] = v }
    r = l["resource"]; if (l["subresource"] != "") r = r "/" l["subresource"]
    n[l["verb"] " " r] += $NF } END { for (k in n) print k, n[k] }' | LC_ALL=C sort
}

# requests_delta BEFORE AFTER: the counters that moved between two api_requests snapshots.
requests_delta() {
  LC_ALL=C join -a 2 -e 0 -o 0,1.2,2.2 <(awk '{print $1 "_" $2, $3}' "$1" | LC_ALL=C sort) \
    <(awk '{print $1 "_" $2, $3}' "$2" | LC_ALL=C sort) |
    awk '$3 - $2 > 0 {printf "    %-40s %d\n", $1, $3 - $2}'
}

# run_one WHO N RUN: one measured run; appends "wall cpu rss_mib cp_cpu" to $tmp/WHO-N.times.
run_one() {
  local who=$1 n=$2 r=$3 ns="bench-$1-$2-$3" selector start pid deadline
  kubectl create namespace "$ns" >/dev/null
  objects "${who%%-*}" "$n" "$ns" >"$tmp/objects.yaml"
  kubectl create -f "$tmp/objects.yaml" >/dev/null
  selector=imagebuild.io/role=build; [[ $who == peer ]] && selector=bench=peer
  rm -f "$tmp/done"
  watch_pods "$ns" "$selector" $((2 * n)) "$tmp/done"
  sleep 1  # the watch is established before the process starts
  local cp_before; cp_before=$(cp_ticks)
  if [[ -n ${IBO_BENCH_REQUESTS:-} ]]; then api_requests >"$tmp/requests.before"; cp_split >"$tmp/split.before"; fi
  start=$EPOCHREALTIME
  case $who in
    ours-default)
      "$operator" run --namespace "$ns" --metrics-bind-address 0 --health-probe-bind-address 0 --log-level warn \
        ${IBO_BENCH_OPERATOR_FLAGS:-} >"$tmp/$ns.log" 2>&1 & ;;
    ours-peerqps|ours-peerqps-json)
      local content_type=application/vnd.kubernetes.protobuf
      [[ $who == ours-peerqps-json ]] && content_type=application/json
      "$operator" run --namespace "$ns" --metrics-bind-address 0 --health-probe-bind-address 0 --log-level warn \
        --kube-api-qps "$qps" --kube-api-burst "$burst" --kube-api-content-type "$content_type" \
        ${IBO_BENCH_OPERATOR_FLAGS:-} >"$tmp/$ns.log" 2>&1 & ;;
    peer)
      "$kcm" --kubeconfig "$KUBECONFIG" --leader-elect=false --port=0 --secure-port=0 --controllers=job \
        --kube-api-qps "$qps" --kube-api-burst "$burst" >"$tmp/$ns.log" 2>&1 & ;;
  esac
  pid=$!; pids+=("$pid")
  local perf_pid=""
  if [[ -n ${IBO_BENCH_PERF:-} && $who == ours-peerqps ]]; then  # a CPU profile of ours (no hardware counters)
    perf record -e cpu-clock -F "${IBO_BENCH_PERF_FREQ:-250}" --call-graph dwarf,16384 -p "$pid" \
      -o "$IBO_BENCH_PERF.$n.$r" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  local profile_pid=""
  if [[ -n ${IBO_BENCH_CP_PROFILE:-} ]]; then  # where the control plane's CPU goes for this client
    kubectl get --raw "/debug/pprof/profile?seconds=${IBO_BENCH_CP_PROFILE_SECONDS:-10}" \
      >"$IBO_BENCH_CP_PROFILE.$who.$n.$r" &
    profile_pid=$!
  fi
  # At its default QPS of 20, ours needs about 0.2 s a build (N = 5,000: about 17 minutes).
  local limit=$((600 + n / 4))
  deadline=$(($(date +%s) + limit))
  until [[ -s $tmp/done ]]; do
    kill -0 "$pid" 2>/dev/null || fail "$who exited early: $(tail -n 5 "$tmp/$ns.log")"
    (($(date +%s) < deadline)) || fail "$who: no $((2 * n)) pods within $limit s; log $(tail -n 3 "$tmp/$ns.log")"
    sleep 0.05
  done
  local ticks rss cp_after
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  cp_after=$(cp_ticks)
  local syscalls=""
  if [[ -n ${IBO_BENCH_REQUESTS:-} ]]; then
    cp_split >"$tmp/split.after"; api_requests >"$tmp/requests.after"
    syscalls=$(awk '/^sysc[rw]:/ {printf "%s %s ", $1, $2}' "/proc/$pid/io")
  fi
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
  [[ -z $profile_pid ]] || wait "$profile_pid" || fail "no kube-apiserver profile"
  if [[ -n ${IBO_BENCH_REQUESTS:-} ]]; then
    echo "  $who N=$n run $r asked kube-apiserver (all clients, the watch's included):" >&2
    requests_delta "$tmp/requests.before" "$tmp/requests.after" >&2
    echo "  $who's own read and write syscalls (/proc/PID/io): $syscalls" >&2
    echo "  and the control plane's CPU seconds, by process:" >&2
    LC_ALL=C join "$tmp/split.before" "$tmp/split.after" |
      awk -v hz="$(getconf CLK_TCK)" '{printf "    %-40s %.2f\n", $1, ($3 - $2) / hz}' >&2
  fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [[ -z ${IBO_BENCH_LOGS:-} ]] || cp "$tmp/$ns.log" "$IBO_BENCH_LOGS/$who.$n.$r.log"
  kill "${watch_pids[@]}" 2>/dev/null || true; wait "${watch_pids[@]}" 2>/dev/null || true
  awk -v s="$start" -v e="$(cat "$tmp/done")" -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v m="$rss" \
    -v c=$((cp_after - cp_before)) 'BEGIN { printf "%.3f %.2f %.1f %.2f\n", e - s, t / hz, m / 1024, c / hz }' \
    >>"$tmp/$who-$n.times"
  echo "  $who N=$n run $r: $(tail -n 1 "$tmp/$who-$n.times") (wall s, cpu s, peak RSS MiB, control plane cpu s)" >&2
  # Bound pods without a kubelet only go at once with grace period 0: one left to the namespace
  # controller stays Terminating for ever. kube-apiserver may answer a collection delete after its
  # 60 s request timeout with pods still there, so it is repeated until none is left (at N = 5,000
  # a namespace once outlived 800 s, cause unproven). Then the owners, in one
  # request: the namespace controller alone, deleting 5,000 Jobs one by one while the garbage
  # collector follows each, took over 300 s. Then the namespace.
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    curl_api DELETE "/api/v1/namespaces/$ns/pods" '{"gracePeriodSeconds":0}' || true
    [[ -z $(kubectl get pods -n "$ns" -o name 2>/dev/null | head -n 1) ]] && break
  done
  local owners=/apis/imagebuild.io/v1alpha1/namespaces/$ns/imagebuilds
  [[ $who == peer ]] && owners=/apis/batch/v1/namespaces/$ns/jobs
  curl_api DELETE "$owners" '{"propagationPolicy":"Orphan"}' || true
  kubectl delete namespace "$ns" --wait=true --timeout=$((300 + n / 10))s >/dev/null ||
    fail "namespace $ns was not removed; left in it: $(kubectl get pods,jobs,imagebuilds,events -n "$ns" \
      --no-headers 2>/dev/null | awk '{split($1, k, "/"); n[k[1]]++} END {for (t in n) printf "%s %d; ", t, n[t]}')"
  wait_quiet
}

# stats FILE COLUMN: "median (min-max)" of a column over the runs.
stats() {
  awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{v[NR] = $1} END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.2f (%.2f–%.2f)", m, v[1], v[NR] }'
}
median() { awk -v c="$2" '{print $c}' "$1" | sort -g | awk '{v[NR] = $1} END {
  print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$(median "$1" "$3")" -v b="$(median "$2" "$3")" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

report=$tmp/report.md
{
  echo "# bench/backlog, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg); operator $("$operator" version 2>/dev/null | head -n1);"
  echo "peer kube-controller-manager $("$kcm" --version 2>/dev/null) --controllers=job --kube-api-qps $qps --kube-api-burst $burst."
  echo "Median of $runs runs (min–max). Wall: process start to the 2N-th build pod seen by a watch;"
  echo "CPU: utime+stime from /proc at that moment; RSS: VmHWM; control plane CPU: what etcd, kube-apiserver,"
  echo "kube-scheduler and the control plane's own controller-manager used over the same interval (not in the ratios)."
  echo
  echo "| N | who | wall s | CPU s | peak RSS MiB | control plane CPU s |"
  echo "| --- | --- | --- | --- | --- | --- |"
} >"$report"
for n in $sizes; do
  for ((r = 1; r <= runs; r++)); do
    for who in $whos; do run_one "$who" "$n" "$r"; done
  done
  for who in $whos; do
    f=$tmp/$who-$n.times
    echo "| $n | $who | $(stats "$f" 1) | $(stats "$f" 2) | $(stats "$f" 3) | $(stats "$f" 4) |" >>"$report"
  done
  for who in $whos; do
    [[ $who != peer && " $whos " == *" peer "* ]] || continue
    echo "| $n | ratio $who / peer | $(ratio "$tmp/$who-$n.times" "$tmp/peer-$n.times" 1) |" \
      "$(ratio "$tmp/$who-$n.times" "$tmp/peer-$n.times" 2) | $(ratio "$tmp/$who-$n.times" "$tmp/peer-$n.times" 3) |" \
      "$(ratio "$tmp/$who-$n.times" "$tmp/peer-$n.times" 4) |" \
      >>"$report"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$report"
bench_report "$report" "$out"
