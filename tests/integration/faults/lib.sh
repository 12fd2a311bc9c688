# shellcheck shell=bash
# Sourced by the fault tests (issue 12): each starts a control plane of its own with the audit log
# on, a registry, simulated nodes and operator replicas with their own user agents, and judges the
# operator by the audit log. Everything started is recorded and stopped by pid on exit.
# The caller sets: name (the test's short name). Needs IBO_OPERATOR_BINARY, IBO_SIMULATOR_BINARY,
# IBO_TEST_INFRA, IBO_FAULTS_DIR (from ctest).
set -euo pipefail
operator=${IBO_OPERATOR_BINARY:?run through ctest}
simulator=${IBO_SIMULATOR_BINARY:?run through ctest}
infra=${IBO_TEST_INFRA:?run through ctest}
dir=${IBO_FAULTS_DIR:?run through ctest}/${name:?set name before sourcing lib.sh}
ns=faults
# shellcheck source=../../infra/free-port.sh
source "$infra/free-port.sh"

declare -A op_pid=()  # replica label -> pid
sim_pid=""
started=$(date +%s)

fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/op-*.log; do [[ -f $f ]] && { echo "--- $(basename "$f") (tail)" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}
note() { echo "[$(( $(date +%s) - started )) s] $*"; }
now_micro() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }  # the audit log's requestReceivedTimestamp format

teardown() {
  local label
  for label in "${!op_pid[@]}"; do kill -CONT "${op_pid[$label]}" 2>/dev/null || true; kill -9 "${op_pid[$label]}" 2>/dev/null || true; done
  if [[ -n $sim_pid ]]; then kill "$sim_pid" 2>/dev/null || true; fi
  stop_proxies
  "$infra/registry.sh" stop "$dir/registry" >/dev/null 2>&1 || true
  "$infra/control-plane.sh" stop "$dir/cluster" >/dev/null 2>&1 || true
}
trap teardown EXIT

# faults_up [control-plane.sh options...]: control plane (audit log on), registry, CRD, namespace.
faults_up() {
  rm -rf "$dir"; mkdir -p "$dir"
  "$infra/control-plane.sh" start "$dir/cluster" --audit-log "$@" >"$dir/control-plane.out" 2>&1 ||
    { cat "$dir/control-plane.out" >&2; fail "the test's own control plane did not start"; }
  registry=$("$infra/registry.sh" start "$dir/registry") || fail "the registry did not start"
  export KUBECONFIG=$dir/cluster/kubeconfig
  kubectl apply -f "$(dirname "${BASH_SOURCE[0]}")/../../../crds/imagebuild.io_imagebuilds.yaml" >/dev/null
  kubectl wait --for=condition=Established crd/imagebuilds.imagebuild.io --timeout=30s >/dev/null
  kubectl create namespace "$ns" >/dev/null
  note "control plane (audit log: $dir/cluster/audit.log) and registry $registry up"
}

# start_simulator [node-simulator flags...]: an amd64 and an arm64 node.
start_simulator() {
  "$simulator" --kubeconfig "$KUBECONFIG" --node faults-amd64=amd64 --node faults-arm64=arm64 \
    --operator-binary "$operator" --insecure-registry "$registry" --work-dir "$dir/simulator" "$@" \
    >>"$dir/node-simulator.log" 2>&1 &
  sim_pid=$!
  for _ in $(seq 1 100); do
    [[ $(kubectl get nodes --no-headers 2>/dev/null | grep -c ' Ready') -ge 2 ]] && return 0; sleep 0.1
  done
  fail "the simulated nodes did not become Ready"
}

# start_operator LABEL [run flags...]: a replica whose user agent is ibo-LABEL; its pid in op_pid.
# Add --leader-elect for a replica that campaigns.
start_operator() {
  local label=$1; shift
  "$operator" run --kubeconfig "${op_kubeconfig:-$KUBECONFIG}" --user-agent "ibo-$label" \
    --leader-election-namespace "$ns" --namespace "$ns" --insecure-registry "$registry" \
    --merge-image imagebuild-operator:faults --retry-backoff 1 --kube-api-qps 200 --kube-api-burst 400 \
    --max-concurrent-reconciles 4 --metrics-bind-address 0 --health-probe-bind-address 0 "$@" \
    >>"$dir/op-$label.log" 2>&1 &
  op_pid[$label]=$!
}

# The lease's holder: HOSTNAME_PID of the replica that leads.
lease_holder() { kubectl get lease imagebuild-operator -n "$ns" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true; }
identity_of() { echo "$(hostname)_${op_pid[$1]}"; }

# wait_leader LABEL SECONDS: until LABEL holds the lease; prints how long it took (ms).
wait_leader() {
  local want t0 deadline
  want=$(identity_of "$1"); t0=$(date +%s%3N); deadline=$(( t0 + $2 * 1000 ))
  while [[ $(lease_holder) != "$want" ]]; do
    (( $(date +%s%3N) < deadline )) || fail "replica $1 ($want) did not lead within $2 s (holder: $(lease_holder))"
    sleep 0.1
  done
  echo $(( $(date +%s%3N) - t0 ))
}

# imagebuild NAME VERSION [build pods' extra spec]: applies an ImageBuild for amd64 and arm64.
imagebuild() {
  kubectl apply -n "$ns" -f - >/dev/null <<YAML
apiVersion: imagebuild.io/v1alpha1
kind: ImageBuild
metadata: {name: $1}
spec:
  image: $registry/$name/$1
  version: $2
  source: {git: {url: https://git.example/faults.git, revision: main}}
  platforms: [{platform: linux/amd64}, {platform: linux/arm64}]
YAML
}

# wait_all_ready SECONDS NAME...: until every ImageBuild named is Ready.
wait_all_ready() {
  local seconds=$1; shift
  kubectl wait --for=condition=Ready -n "$ns" --timeout="${seconds}s" "${@/#/imagebuild/}" >/dev/null ||
    fail "not Ready within $seconds s: $(kubectl get imagebuilds -n "$ns" --no-headers | grep -v ' Ready' | head -5)"
}

# start_proxy VAR MODE UPSTREAM: tests/support/fault_proxy.py in front of UPSTREAM (HOST:PORT);
# sets VAR_port (where clients connect) and VAR_control. proxy VAR COMMAND... sends one command
# and prints the answer; an answer other than "ok ..." fails the test.
proxy_pids=()
start_proxy() {
  local var=$1 mode=$2 upstream=$3 port control out
  port=$(free_port); control=$(free_port); out=$dir/proxy-$var.out
  : >"$out"
  python3 "$(dirname "${BASH_SOURCE[0]}")/../../support/fault_proxy.py" "$mode" "$port" "$upstream" "$control" >"$out" 2>&1 &
  proxy_pids+=($!)
  for _ in $(seq 1 50); do grep -q '^ready' "$out" && break; sleep 0.1; done
  grep -q '^ready' "$out" || fail "the $mode proxy did not start: $(cat "$out")"
  printf -v "${var}_port" %s "$port"; printf -v "${var}_control" %s "$control"
}
proxy() {
  local var=$1 control reply; shift
  control=${var}_control
  exec 7<>"/dev/tcp/127.0.0.1/${!control}"
  echo "$*" >&7
  read -r reply <&7
  exec 7>&-
  [[ $reply == ok* ]] || fail "proxy $var: $* answered: $reply"
  echo "$reply"
}
stop_proxies() { local p; for p in ${proxy_pids[@]+"${proxy_pids[@]}"}; do kill "$p" 2>/dev/null || true; done; }

# ---- the audit log ---------------------------------------------------------------------------
audit() { jq -rc "select(.stage == \"ResponseComplete\") | $1" "$dir/cluster/audit.log"; }
# writes_by UA_REGEX [SINCE]: every write request (any verb but get/list/watch) by those user agents,
# received at or after SINCE: "verb resource/subresource namespace/name code".
writes_by() {
  audit "select((.userAgent | test(\"^($1)\$\")) and (.verb | IN(\"get\", \"list\", \"watch\") | not)
         and .requestReceivedTimestamp >= \"${2:-}\")
    | \"\(.verb) \(.objectRef.resource)/\(.objectRef.subresource // \"\") \(.objectRef.namespace // \"\")/\(.objectRef.name // \"\") \(.responseStatus.code)\""
}
# pod_creates UA_REGEX: every pod create by them: "name imagebuild role code reason".
pod_creates() {
  audit "select((.userAgent | test(\"^($1)\$\")) and .verb == \"create\" and .objectRef.resource == \"pods\"
         and (.objectRef.subresource // \"\") == \"\")
    | \"\(.objectRef.name) \(.requestObject.metadata.labels[\"imagebuild.io/name\"]) \(.requestObject.metadata.labels[\"imagebuild.io/role\"]) \(.responseStatus.code) \(.responseStatus.reason // \"-\")\""
}

# bound_pod_names: every pod bound to a node (kube-scheduler is the only binder here), one name a line.
bound_pod_names() {
  audit 'select(.verb == "create" and .objectRef.resource == "pods" and .objectRef.subresource == "binding"
                and .responseStatus.code == 201) | .objectRef.name' | sort -u
}

# check_one_create_per_pod UA_REGEX NAME...: each ImageBuild named had exactly two build pods and
# one merge pod created (a 201, or a create whose pod was then bound), no pod name created twice;
# prints the duplicate attempts counted.
check_one_create_per_pod() {
  local ua=$1; shift
  local creates ok dups b
  creates=$(pod_creates "$ua")
  dups=$(awk '$4 == 201 {print $1}' <<<"$creates" | sort | uniq -d)
  [[ -z $dups ]] || fail "pods created twice: $dups"
  # A create whose sender is SIGKILLed mid-request is audited with a 500 although etcd stored the
  # pod; kube-scheduler's binding of that name proves it exists, so it counts as created.
  ok=$(awk -v bound=" $(bound_pod_names | tr '\n' ' ') " '$4 == 201 || index(bound, " " $1 " ")' <<<"$creates" |
    sort -u -k1,1)
  for b in "$@"; do
    [[ $(awk -v b="$b" '$2 == b && $3 == "build"' <<<"$ok" | wc -l) == 2 ]] ||
      fail "$b: $(awk -v b="$b" '$2 == b && $3 == "build"' <<<"$ok" | wc -l) build pods created, want 2: $(awk -v b="$b" '$2 == b' <<<"$ok")"
    [[ $(awk -v b="$b" '$2 == b && $3 == "merge"' <<<"$ok" | wc -l) == 1 ]] ||
      fail "$b: $(awk -v b="$b" '$2 == b && $3 == "merge"' <<<"$ok" | wc -l) merge pods created, want 1"
  done
  awk '$4 == 409 && $5 == "AlreadyExists"' <<<"$creates" | wc -l
}

# check_digests NAME...: every platform of each has a digest, and so has its index.
check_digests() {
  local bad
  bad=$(kubectl get imagebuilds -n "$ns" -o json | jq -r --arg names "$*" '
    ($names | split(" ")) as $want | .items[] | select(.metadata.name | IN($want[]))
    | select(([.status.platforms[]?.digest | select(startswith("sha256:"))] | length) != 2
             or ((.status.manifest.digest // "") | startswith("sha256:") | not))
    | "\(.metadata.name): platforms \([.status.platforms[]?.digest]) index \(.status.manifest.digest)"')
  [[ -z $bad ]] || fail "digests missing: $bad"
  [[ $(kubectl get imagebuilds -n "$ns" --no-headers | wc -l) -ge $# ]] || fail "ImageBuilds are missing"
}
