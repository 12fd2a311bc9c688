#!/usr/bin/env bash
# The latency benchmark of issue 15, part 3: N ImageBuilds x 2 platforms arrive at RATE per second
# while the operator runs; a node simulator (KubeletStandIn fed by the bench's pod watch) ends every
# bound pod at once, builds with a digest, the merge pod with its merge report. The driver
# (bench/latency_bench.cc) creates the ImageBuilds and times, by the arrival of its own watch events
# (creationTimestamp has 1 s resolution):
#   (a) ImageBuild ADDED -> both build pods ADDED; (b) last build pod Succeeded -> merge pod ADDED;
#   (c) merge pod Succeeded -> Ready=True.
# One real control plane of its own (etcd, kube-apiserver, kube-scheduler) and two Ready Nodes
# (amd64, arm64) that no kubelet runs; everything on loopback.
#   bench/latency.sh [--n 500] [--rate 20] [--qps 500] [--burst 500] [--workers W] [--scheduler-qps Q]
#                    [--out FILE] [--audit]
#   --workers: the operator's --max-concurrent-reconciles (default: the operator's own, 5)
#   --scheduler-qps: kube-scheduler's --kube-api-qps and --kube-api-burst (default 500; its own is 50/100)
#   bench/latency.sh --smoke      (N=20, no file: proves the bench still works; the suite's bench.latency)
#   --audit: kube-apiserver writes an audit log (blocking mode: it slows every write, so the figures
#            of such a run are not the latency) and the operator's writes per build are counted.
#   IBO_OPERATOR_BINARY=PATH, IBO_LATENCY_BENCH_BINARY=PATH: those binaries instead of build/'s.
#   IBO_BENCH_CP_PROFILE=FILE: kube-apiserver's own CPU profile (pprof) of the run's first
#     IBO_BENCH_CP_PROFILE_SECONDS (20), into FILE (go tool pprof -top FILE)
# Run it under the machine's CPU lock when the machine is shared (flock -o /tmp/ibo-cpu.lock ...).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
infra=$repo/tests/infra
# QPS and burst: --audit counted 11.0 writes per build over its whole life at N=100 (3 pod creates,
# 3 status updates, 5 Events), 220 a second at 20 builds a second; 500 is over twice that, so the
# client-side limiter never holds a request back at this rate, and the burst is one second of it.
n=500; rate=20; qps=500; burst=500; workers=""; smoke=0; audit=0; sched_qps=500
out=$repo/bench/results/latency-$(date -u +%Y-%m-%d).md
while (($#)); do
  case $1 in
    --n) n=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --qps) qps=$2; shift 2 ;;
    --burst) burst=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --scheduler-qps) sched_qps=$2; shift 2 ;;
    --audit) audit=1; shift ;;
    --smoke) smoke=1; n=20; out=""; shift ;;
    *) echo "usage: bench/latency.sh [--n N] [--rate PER_SECOND] [--qps Q] [--burst B] [--workers W] [--scheduler-qps Q] [--out FILE] [--audit] [--smoke]" >&2
       exit 2 ;;
  esac
done
fail() { echo "bench/latency: $*" >&2; exit 1; }
# Time allowed to each step; the smoke run's add up to less than its ctest TIMEOUT, so that a
# failure reports itself instead of being killed.
if ((smoke)); then
  cp_wait=30 crd_wait=10 ready_wait=10 driver_wait=20
else
  cp_wait=180 crd_wait=60 ready_wait=30 driver_wait=$(awk -v n="$n" -v r="$rate" 'BEGIN { printf "%d", n / r + 120 }')
fi

source "$repo/bench/lib.sh"
bench_binaries latency_bench IBO_LATENCY_BENCH_BINARY driver
driver=$companion

tmp=$(mktemp -d)
op_pid=""
cleanup() {
  if [[ -n $op_pid ]]; then kill "$op_pid" 2>/dev/null || true; wait "$op_pid" 2>/dev/null || true; fi
  "$infra/control-plane.sh" stop "$tmp/cp" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cp_flags=(--max-requests-inflight=1000 --max-mutating-requests-inflight=500)
if ((audit)); then cp_flags=(--audit-log "${cp_flags[@]}"); fi
# Only the garbage-collector and namespace controllers: no node-lifecycle controller, so the Nodes
# stay Ready without a kubelet's heartbeats.
# kube-scheduler's client allows 50 requests a second by default (burst 100); 20 builds a second
# are 60 bindings and 60 Events a second, so it would bind pods in bursts, seconds late, and the
# operator would see them in bursts too. Like the operator, it gets a QPS above the rate.
IBO_CP_SCHEDULER_FLAGS="--kube-api-qps=$sched_qps --kube-api-burst=$sched_qps" \
IBO_CP_CONTROLLERS=garbagecollector,namespace,serviceaccount,serviceaccount-token \
  timeout "$cp_wait" "$infra/control-plane.sh" start "$tmp/cp" "${cp_flags[@]}" >"$tmp/cp.out" 2>&1 ||
  fail "the control plane did not start: $(tail -n 5 "$tmp/cp.out")"
export KUBECONFIG=$tmp/cp/kubeconfig
kubectl apply -f "$repo/crds/imagebuild.io_imagebuilds.yaml" >/dev/null || fail "the CRD could not be applied"
kubectl wait --for condition=established --timeout="${crd_wait}s" crd/imagebuilds.imagebuild.io >/dev/null ||
  fail "the CRD was not established"
"$infra/node.sh" add bench-amd64 amd64 64 256Gi 20000 >/dev/null || fail "node bench-amd64 could not be registered"
"$infra/node.sh" add bench-arm64 arm64 64 256Gi 20000 >/dev/null || fail "node bench-arm64 could not be registered"
ns=latency
kubectl create namespace "$ns" >/dev/null

# shellcheck source=tests/infra/free-port.sh
source "$infra/free-port.sh"
health=$(free_port)
op_flags=(--namespace "$ns" --kube-api-qps "$qps" --kube-api-burst "$burst")
if [[ -n $workers ]]; then op_flags+=(--max-concurrent-reconciles "$workers"); fi
"$operator" run "${op_flags[@]}" --metrics-bind-address 0 --health-probe-bind-address "127.0.0.1:$health" \
  --log-level warn >"$tmp/operator.log" 2>&1 &
op_pid=$!
# Measured from a running operator whose caches are synced, not from its start.
for _ in $(seq 1 $((ready_wait * 5))); do
  kill -0 "$op_pid" 2>/dev/null || fail "the operator exited at start: $(tail -n 5 "$tmp/operator.log")"
  curl -sf "http://127.0.0.1:$health/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$health/readyz" >/dev/null 2>&1 || fail "the operator was not ready within $ready_wait s"

# cpu_seconds: "NAME SECONDS" of utime+stime so far, for the operator and each control-plane process.
cpu_seconds() {
  local f hz; hz=$(getconf CLK_TCK)
  for f in "$tmp/cp/pids/"* operator; do
    local name=${f##*/} pid
    if [[ $name == operator ]]; then pid=$op_pid; else pid=$(cat "$f"); fi
    awk -v n="$name" -v hz="$hz" '{ printf "%s %.2f\n", n, ($14 + $15) / hz }' "/proc/$pid/stat" 2>/dev/null || true
  done
}
cpu_before=$(cpu_seconds)
start=$EPOCHREALTIME
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
profile_pid=""
if [[ -n ${IBO_BENCH_CP_PROFILE:-} ]]; then  # where kube-apiserver's CPU goes at this rate
  kubectl get --raw "/debug/pprof/profile?seconds=${IBO_BENCH_CP_PROFILE_SECONDS:-20}" >"$IBO_BENCH_CP_PROFILE" &
  profile_pid=$!
fi
timeout "$driver_wait" "$driver" --kubeconfig "$KUBECONFIG" --namespace "$ns" --n "$n" --rate "$rate" \
  --timeout $((driver_wait - 5)) \
  >"$tmp/table.md" 2>"$tmp/driver.err" || {
  cat "$tmp/table.md" >&2
  fail "the driver failed: $(tail -n 5 "$tmp/driver.err"); the operator's log: $(tail -n 5 "$tmp/operator.log")"
}
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ -n $profile_pid ]]; then wait "$profile_pid" || echo "bench/latency: kube-apiserver's profile failed" >&2; fi
kill -0 "$op_pid" 2>/dev/null || fail "the operator exited during the run: $(tail -n 5 "$tmp/operator.log")"
wall=$(awk -v s="$start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.1f", e - s }')
# Each process's CPU seconds during the run: on 2 cores, how much of them the rig itself took.
cpu_during=$(join <(sort <<<"$cpu_before") <(cpu_seconds | sort) | awk '{ printf "%s%s %.2f s", sep, $1, $3 - $2; sep = ", " }')
op_rss=$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$op_pid/status")
writes=""
if ((audit)); then
  writes=$(jq -r 'select(.userAgent // "" | startswith("imagebuild-operator"))
      | (if .objectRef.subresource then "/" + .objectRef.subresource else "" end) as $sub
      | (if (.responseStatus.code // 0) >= 300 then " (answered \(.responseStatus.code))" else "" end) as $failed
      | "\(.verb) \(.objectRef.resource)\($sub)\($failed)"' \
      "$tmp/cp/audit.log" | sort | uniq -c | awk -v n="$n" '{ c = $1; t += c; $1 = ""; printf "%s: %.2f a build; ", substr($0, 2), c / n }
      END { printf "all: %.2f writes a build", t / n }')
fi

report=$tmp/report.md
{
  echo "# bench/latency, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$(nproc) cores; load average before: $load_before, after: $load_after; operator $("$operator" version 2>/dev/null | head -n1)"
  echo "\`run ${op_flags[*]}\`; N = $n ImageBuilds × 2 platforms at $rate per second; node simulator, not kubelets."
  echo "kube-scheduler --kube-api-qps=$sched_qps --kube-api-burst=$sched_qps."
  echo "CPU seconds during the run ($wall s wall; the driver's own is below the tables): $cpu_during. Operator's peak RSS: $op_rss MiB."
  if ((audit)); then echo "Audit log on (blocking: these figures carry its cost). Operator writes: $writes."; fi
  echo
  cat "$tmp/table.md"
  if [[ -s $tmp/driver.err ]]; then echo; echo "driver's messages: $(head -c 2000 "$tmp/driver.err")"; fi
} >"$report"
bench_report "$report" "$out"
