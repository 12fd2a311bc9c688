#!/usr/bin/env bash
# The cache-scale benchmark of issue 15 (part 4): N finished ImageBuilds (Succeeded, Ready=True) and
# their 2N finished build pods exist when the operator starts. Reports the operator's peak RSS
# (VmHWM), the time from its process start until /readyz answers 200, and RSS, CPU, reconciles and
# API writes a few seconds after ready (it reconciles every finished build at start; ideally it
# writes nothing). One control plane of its own (etcd, kube-apiserver, kube-scheduler) on loopback,
# two API-only Nodes (tests/infra/node.sh). bench/cache_scale_loader makes the objects with the
# operator's own decision, so pods and statuses are shaped exactly as the operator writes them.
#   bench/cache_scale.sh [--builds 10000] [--after 5] [--out FILE] [--variant "FLAGS"]... [--binary PATH]... [--rounds R] [-- extra operator run flags]
#     --variant: one more run on the same objects with these run flags added (e.g. "--kube-api-qps 1000")
#     --binary PATH: one more run on the same objects with that operator binary (an A/B of two builds)
#     --rounds R: the main run and every variant R times, interleaved (A B A B ...), against the noise
#   bench/cache_scale.sh --smoke      (200 builds, no file: proves the bench still works)
#   IBO_OPERATOR_BINARY / IBO_LOADER_BINARY=PATH: those binaries instead of building build/'s
#   IBO_BENCH_HEAPTRACK=FILE: then once more under heaptrack -o FILE (a memory profile; its figures are inflated)
#   IBO_BENCH_PERF=FILE: then once more under perf record -e cpu-clock -o FILE (a CPU profile; likewise)
#   IBO_BENCH_LOGS=DIR: keep each run's operator log there as RUN.log (with -- --log-level info,
#     when each informer's list ended)
#   IBO_BENCH_SAMPLES=DIR: one pod and one ImageBuild as a list returns them, to DIR
# Loading 10,000 builds (60,000 API writes) takes about two minutes on 2 cores: a benchmark, not a
# test. Run it under the machine's CPU lock when the machine is shared.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
infra=$repo/tests/infra
builds=10000; after=5; out=$repo/bench/results/cache-scale-$(date -u +%Y-%m-%d).md; extra=(); variants=()
binaries=(); rounds=1
while (($#)); do
  case $1 in
    --builds) builds=$2; shift 2 ;;
    --after) after=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --variant) variants+=("$2"); shift 2 ;;
    --binary) binaries+=("$2"); shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --smoke) builds=200; after=2; out=""; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: bench/cache_scale.sh [--builds N] [--after SECONDS] [--out FILE] [--variant \"FLAGS\"]... [--binary PATH]... [--rounds R] [--smoke] [-- operator flags]" >&2
       exit 2 ;;
  esac
done
fail() { echo "bench/cache_scale: $*" >&2; exit 1; }

source "$repo/bench/lib.sh"
bench_binaries cache_scale_loader IBO_LOADER_BINARY loader
loader=$companion

tmp=$(mktemp -d)
op_pid=""; op_child=""
cleanup() {
  [[ -n $op_child ]] && kill "$op_child" 2>/dev/null
  [[ -n $op_pid ]] && { kill "$op_pid" 2>/dev/null || true; wait "$op_pid" 2>/dev/null || true; }
  "$infra/control-plane.sh" stop "$tmp/cp" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
IBO_CP_CONTROLLERS=garbagecollector,namespace,serviceaccount,serviceaccount-token \
  "$infra/control-plane.sh" start "$tmp/cp" --max-requests-inflight=2000 --max-mutating-requests-inflight=1000 \
  >"$tmp/cp.out" 2>&1 || fail "control plane did not start: $(tail -n 5 "$tmp/cp.out")"
export KUBECONFIG=$tmp/cp/kubeconfig
kubectl apply -f "$repo/crds/imagebuild.io_imagebuilds.yaml" >/dev/null || fail "the CRD was not applied"
kubectl wait --for condition=established --timeout=60s crd/imagebuilds.imagebuild.io >/dev/null ||
  fail "the CRD was not established"
"$infra/node.sh" add bench-amd64 amd64 64 256Gi 110 >/dev/null || fail "node bench-amd64 was not added"
"$infra/node.sh" add bench-arm64 arm64 64 256Gi 110 >/dev/null || fail "node bench-arm64 was not added"
# shellcheck disable=SC1091  # written by control-plane.sh
source "$tmp/cp/env"
api_get() {  # api_get PATH: the API with the admin's client certificate
  curl -sf --cacert "$tmp/cp/pki/ca.crt" --cert "$tmp/cp/pki/admin.crt" --key "$tmp/cp/pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT$1"
}
ns=bench
kubectl create namespace "$ns" >/dev/null
load_start=$EPOCHREALTIME
"$loader" --kubeconfig "$KUBECONFIG" --namespace "$ns" --builds "$builds" >"$tmp/loader.out" 2>"$tmp/loader.err" ||
  fail "the loader failed: $(tail -n 5 "$tmp/loader.err") $(cat "$tmp/loader.out")"
load_s=$(awk -v s="$load_start" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.0f", e - s }')
echo "bench/cache_scale: $(cat "$tmp/loader.out")" >&2

# writes: "RESOURCE[/SUB] VERB COUNT" of every write kube-apiserver served so far.
writes() {
  api_get /metrics | awk '/^apiserver_request_total\{/ && /verb="(POST|PUT|PATCH|DELETE)"/ {
      match($0, /resource="[^"]*"/); r = substr($0, RSTART + 10, RLENGTH - 11)
      match($0, /subresource="[^"]*"/); s = (RLENGTH > 0) ? substr($0, RSTART + 13, RLENGTH - 14) : ""
      match($0, /verb="[^"]*"/); v = substr($0, RSTART + 6, RLENGTH - 7)
      n[r (s != "" ? "/" s : "") " " v] += $NF } END { for (k in n) print k, n[k] }' | sort
}
# delta BEFORE AFTER: "VERB RESOURCE×N, ..." of the writes between two snapshots, "none" for none.
delta() {
  join -a 2 -e 0 -o '0,1.2,2.2' <(awk '{print $1 "_" $2, $3}' "$1" | sort) <(awk '{print $1 "_" $2, $3}' "$2" | sort) |
    awk '$3 > $2 { split($1, k, "_"); printf "%s%s %s×%d", sep, k[2], k[1], $3 - $2; sep = ", " } END { if (!sep) printf "none" }'
}
writes_total() { awk '{ s += $3 } END { print s + 0 }' "$1"; }
metric_sum() { awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { print s + 0 }' "$2"; }

# shellcheck source=tests/infra/free-port.sh
source "$infra/free-port.sh"
hz=$(getconf CLK_TCK)
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
sample() {  # sample PID NAME: rss_kib hwm_kib cpu_s of the operator now, to $tmp/NAME
  awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2} END {printf "%d %d ", r, h}' "/proc/$1/status" >"$tmp/$2"
  awk -v hz="$hz" '{printf "%.2f\n", ($14 + $15) / hz}' "/proc/$1/stat" >>"$tmp/$2"
}

# measure LABEL NS [WRAP...]: starts the operator on NS (under WRAP), waits for /readyz 200, samples
# it then and $after s later, stops it; appends a table row to $tmp/rows.
measure() {
  local label=$1 watch_ns=$2 probe_port metrics_port start ready pid; shift 2
  probe_port=$(free_port); metrics_port=$(free_port)
  flags=(--namespace "$watch_ns" --health-probe-bind-address "127.0.0.1:$probe_port"
         --metrics-bind-address "127.0.0.1:$metrics_port" --log-level warn ${extra[@]+"${extra[@]}"}
         ${variant_flags[@]+"${variant_flags[@]}"})
  writes >"$tmp/writes.1"
  start=$EPOCHREALTIME
  "$@" "$operator" run "${flags[@]}" >"$tmp/operator.log" 2>&1 &
  op_pid=$!; pid=$op_pid
  if (($#)); then  # the operator is the wrapper's child
    for _ in $(seq 1 100); do pid=$(pgrep -P "$op_pid" -f imagebuild-operator | head -n1) && break; sleep 0.05; done
    [[ $pid != "$op_pid" ]] || fail "no operator process under $*"
  fi
  op_child=$pid
  local deadline=$(($(date +%s) + 300))
  until [[ $(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$probe_port/readyz" 2>/dev/null) == 200 ]]; do
    kill -0 "$pid" 2>/dev/null || fail "the operator exited before ready: $(tail -n 5 "$tmp/operator.log")"
    (($(date +%s) < deadline)) || fail "/readyz not 200 within 300 s: $(tail -n 3 "$tmp/operator.log")"
    sleep 0.02
  done
  ready=$EPOCHREALTIME
  sample "$pid" at-ready
  sleep "$after"
  sample "$pid" after
  curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$tmp/metrics" || fail "no /metrics from the operator"
  writes >"$tmp/writes.2"
  kill "$pid"; wait "$op_pid" 2>/dev/null || true; op_pid=""; op_child=""
  if [[ -n ${IBO_BENCH_LOGS:-} ]]; then
    mkdir -p "$IBO_BENCH_LOGS"; runs_logged=$((${runs_logged:-0} + 1))
    cp "$tmp/operator.log" "$IBO_BENCH_LOGS/$runs_logged.log"
  fi
  local rss0 hwm0 cpu0 rss1 hwm1 cpu1
  read -r rss0 hwm0 cpu0 <"$tmp/at-ready"
  read -r rss1 hwm1 cpu1 <"$tmp/after"
  echo "| $label | $(awk -v s="$start" -v e="$ready" 'BEGIN { printf "%.2f", e - s }') | $(mib "$hwm0") | $(mib "$rss0") |" \
    "$cpu0 | $(mib "$hwm1") | $(mib "$rss1") | $cpu1 | $(metric_sum controller_runtime_reconcile_total "$tmp/metrics")" \
    "($(metric_sum controller_runtime_reconcile_errors_total "$tmp/metrics")) |" \
    "$(($(writes_total "$tmp/writes.2") - $(writes_total "$tmp/writes.1"))): $(delta "$tmp/writes.1" "$tmp/writes.2") |" \
    >>"$tmp/rows"
  echo "bench/cache_scale: $(tail -n 1 "$tmp/rows")" >&2
}

# count PATH: how many objects the server lists there (metadata only; each has one creationTimestamp).
count() {
  curl -sf --cacert "$tmp/cp/pki/ca.crt" --cert "$tmp/cp/pki/admin.crt" --key "$tmp/cp/pki/admin.key" \
    -H 'Accept: application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io' \
    "https://127.0.0.1:$APISERVER_PORT$1" | grep -o '"creationTimestamp"' | wc -l
}
pods=$(count "/api/v1/namespaces/$ns/pods")
n_builds=$(count "/apis/imagebuild.io/v1alpha1/namespaces/$ns/imagebuilds")
# What the informer's list asks (src/controller/controller.cc: limit=250 for pods, no resourceVersion, so etcd serves
# it in pages) against resourceVersion=0, which 1.20 serves from its watch cache ignoring limit.
page_items() { api_get "$1" | grep -o '"creationTimestamp"' | wc -l; }
# (the label selector the pod informer uses: only what the operator made)
paged=$(page_items "/api/v1/namespaces/$ns/pods?labelSelector=imagebuild.io%2Frole&limit=250")
unpaged=$(page_items "/api/v1/namespaces/$ns/pods?labelSelector=imagebuild.io%2Frole&limit=250&resourceVersion=0")
if [[ -n ${IBO_BENCH_SAMPLES:-} ]]; then  # one pod and one ImageBuild as a list returns them
  mkdir -p "$IBO_BENCH_SAMPLES"
  api_get "/api/v1/namespaces/$ns/pods?limit=1" >"$IBO_BENCH_SAMPLES/pod-list.json"
  api_get "/apis/imagebuild.io/v1alpha1/namespaces/$ns/imagebuilds?limit=1" >"$IBO_BENCH_SAMPLES/imagebuild-list.json"
fi
kubectl create namespace empty >/dev/null
writes >"$tmp/writes.0"
sleep 2
writes >"$tmp/writes.1"
baseline=$(delta "$tmp/writes.0" "$tmp/writes.1")  # what the control plane writes by itself over 2 s
load_start_op=$(cut -d' ' -f1-3 /proc/loadavg)
measure "empty namespace (fixed cost)" empty
main_operator=$operator
for ((round = 1; round <= rounds; round++)); do
  variant_flags=()
  measure "**$n_builds builds, $pods pods**" "$ns"
  main_flags=("${flags[@]}")
  for v in ${variants[@]+"${variants[@]}"}; do
    read -r -a variant_flags <<<"$v"
    measure "same, with \`$v\`" "$ns"
  done
  variant_flags=()
  for b in ${binaries[@]+"${binaries[@]}"}; do
    [[ -x $b ]] || fail "no operator binary at $b"
    operator=$b
    measure "same, binary \`$b\` ($("$b" version 2>/dev/null | head -n1))" "$ns"
    operator=$main_operator
  done
done
if [[ -n ${IBO_BENCH_HEAPTRACK:-} ]]; then
  measure "same, under heaptrack (inflated)" "$ns" heaptrack -o "$IBO_BENCH_HEAPTRACK"
fi
if [[ -n ${IBO_BENCH_PERF:-} ]]; then  # no hardware counters on this VM: cpu-clock
  measure "same, under perf record (inflated)" "$ns" perf record -q -e cpu-clock -F 250 --call-graph dwarf,16384 \
    -o "$IBO_BENCH_PERF" --
fi

report=$tmp/report.md
{
  echo "## bench/cache_scale, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "$(nproc) cores; load average before: $load_before, at the operator's first start: $load_start_op;"
  echo "operator $("$operator" version 2>/dev/null | head -n1) (tree $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)) \`run ${main_flags[*]}\` (ports chosen per run);"
  echo "kube-apiserver 1.20.2; $n_builds ImageBuilds (phase Succeeded, Ready=True) and $pods build pods"
  echo "(Succeeded, bound to 2 API-only Nodes) in namespace $ns, loaded in $load_s s ($(cat "$tmp/loader.out"))."
  echo
  echo "| run | ready s | peak RSS at ready MiB | RSS at ready MiB | CPU at ready s | +${after} s: peak RSS MiB | RSS MiB | CPU s | reconciles (errors) | API writes |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  cat "$tmp/rows"
  echo
  echo "Ready: process start to the first 200 from /readyz (polled every 20 ms). RSS: VmRSS, peak: VmHWM;"
  echo "CPU: utime+stime. API writes: kube-apiserver's apiserver_request_total (POST/PUT/PATCH/DELETE) from"
  echo "the operator's start to +${after} s after ready; the control plane alone wrote $baseline in 2 s before."
  echo "The pod informer's list (\`?labelSelector=imagebuild.io/role&limit=250\`, no resourceVersion) got"
  echo "$paged pods in its first page; with \`resourceVersion=0\` added, the same request got $unpaged."
} >"$report"
bench_report "$report" "$out"
