#!/usr/bin/env bash
# A real, throw-away Kubernetes control plane on loopback for tests and the sandbox: etcd,
# kube-apiserver (TLS, client certificates, RBAC, service-account tokens), kube-scheduler and
# kube-controller-manager, on free ports. Everything it starts is recorded by pid in DIR.
#   control-plane.sh start DIR [--audit-log] [--no-watch-cache] [extra kube-apiserver flags...]
#     --audit-log       kube-apiserver writes an audit log to DIR/audit.log: every write (not get,
#                       list, watch) at Metadata level, with its userAgent and response code, and pod
#                       creates at Request level (their labels); kept across restart-apiserver
#     --no-watch-cache  kube-apiserver reads etcd directly, so that a compaction reaches watchers as 410
#   control-plane.sh stop DIR
#   control-plane.sh restart-apiserver DIR     (stop and start kube-apiserver alone, same port)
#   control-plane.sh compact-etcd DIR          (compact etcd to its current revision)
# Environment (for the real-node rig, tests/infra/rig.sh, which runs this inside its network namespace):
#   IBO_CP_SANS         more subjectAltName entries for the kube-apiserver certificate, e.g. IP:10.87.0.1
#   IBO_CP_CONTROLLERS  kube-controller-manager's --controllers (default: the four below)
#   IBO_CP_SCHEDULER_FLAGS  more kube-scheduler flags, space-separated (bench/latency.sh raises its
#                       client's QPS, 50 by default, which would otherwise bind pods in bursts)
#   IBO_CP_SERVICE_ACCOUNT_ADMISSION=1  keep kube-apiserver's ServiceAccount admission plugin, which
#                       mounts the ServiceAccount's token into pods (off by default: the tests'
#                       pods run without one, and other fixtures rely on that)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

cmd=${1:?usage: control-plane.sh start|stop|restart-apiserver|compact-etcd DIR}
dir=${2:?usage: control-plane.sh $cmd DIR}
dir=$(realpath -m -- "$dir")  # the kubeconfig names its certificates by this path
shift 2

bin_dir=$("$repo/scripts/build-control-plane.sh" --print-bin-dir)
for etcd_dir in /usr/bin /usr/sbin; do [[ -x $etcd_dir/etcd ]] && break; done

fail() { echo "control-plane: $*" >&2; exit 1; }

# shellcheck source=free-port.sh
source "$here/free-port.sh"

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local deadline=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || fail "$what did not come up within the time allowed; logs in $dir/logs"
    sleep 0.2
  done
}

# wait_serving SECONDS NAME COMMAND...: 0 once COMMAND succeeds; 1 if NAME exited because its port
# was taken between choosing and binding it (the caller starts over on other ports); fails otherwise.
wait_serving() {
  local seconds=$1 name=$2 pid; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  pid=$(cat "$dir/pids/$name")
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$dir/pids/$name"
      grep -q "address already in use" "$dir/logs/$name.log" && return 1
      fail "$name exited at start; its log: $(tail -n 20 "$dir/logs/$name.log")"
    fi
    (( $(date +%s) < deadline )) || fail "$name did not come up within $seconds s; logs in $dir/logs"
    sleep 0.2
  done
}

make_certs() {
  local c=$dir/pki
  mkdir -p "$c"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=imagebuild-test-ca" \
    -keyout "$c/ca.key" -out "$c/ca.crt" 2>/dev/null
  sign() {  # sign NAME SUBJECT [SAN]
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$c/$1.key" -out "$c/$1.csr" 2>/dev/null
    local ext=$c/$1.ext
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n' >"$ext"
    if [[ -n ${3:-} ]]; then
      printf 'extendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$3" >>"$ext"
    else
      printf 'extendedKeyUsage=clientAuth\n' >>"$ext"
    fi
    openssl x509 -req -in "$c/$1.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" -CAcreateserial -days 3650 \
      -extfile "$ext" -out "$c/$1.crt" 2>/dev/null
  }
  sign apiserver "/CN=kube-apiserver" "IP:127.0.0.1,DNS:localhost${IBO_CP_SANS:+,$IBO_CP_SANS}"
  sign admin "/O=system:masters/CN=admin"
  openssl genrsa -out "$c/sa.key" 2048 2>/dev/null
  openssl rsa -in "$c/sa.key" -pubout -out "$c/sa.pub" 2>/dev/null
}

start_apiserver() {
  # shellcheck disable=SC1091
  source "$dir/env"
  local extra=()
  [[ -f $dir/apiserver-flags ]] && mapfile -t extra <"$dir/apiserver-flags"
  local sa_admission=--disable-admission-plugins=ServiceAccount
  [[ ${IBO_CP_SERVICE_ACCOUNT_ADMISSION:-0} == 1 ]] && sa_admission=--enable-admission-plugins=ServiceAccount
  "$bin_dir/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --insecure-port=0 --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
    --client-ca-file="$dir/pki/ca.crt" --service-account-key-file="$dir/pki/sa.pub" \
    --service-account-signing-key-file="$dir/pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc --authorization-mode=Node,RBAC \
    --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \
    "$sa_admission" ${extra[@]+"${extra[@]}"} \
    >"$dir/logs/kube-apiserver.log" 2>&1 &
  echo $! >"$dir/pids/kube-apiserver"
  wait_serving 60 kube-apiserver kubectl --kubeconfig "$dir/kubeconfig" get --raw /readyz
}

write_env() {  # the ports, and the kubeconfig that names the apiserver's
  cat >"$dir/env" <<ENV
ETCD_PORT=$(free_port)
ETCD_PEER_PORT=$(free_port)
APISERVER_PORT=$(free_port)
ENV
  # shellcheck disable=SC1091
  source "$dir/env"
  cat >"$dir/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$dir/pki/ca.crt"}
users:
- name: admin
  user: {client-certificate: "$dir/pki/admin.crt", client-key: "$dir/pki/admin.key"}
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
KC
}

start_etcd() {
  rm -rf "$dir/etcd"
  "$etcd_dir/etcd" --data-dir "$dir/etcd" --name default \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" >"$dir/logs/etcd.log" 2>&1 &
  echo $! >"$dir/pids/etcd"
  wait_serving 30 etcd curl -sf "http://127.0.0.1:$ETCD_PORT/health"
}

write_audit_policy() {  # what the fault tests judge the operator by: its writes, by user agent
  cat >"$dir/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  verbs: ["get", "list", "watch"]
- level: Request
  resources: [{group: "", resources: ["pods"]}]
  verbs: ["create"]
- level: Metadata
POLICY
}

stop_pid() {  # stop_pid NAME: TERM, then KILL after 10 s
  local f=$dir/pids/$1 pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

case $cmd in
  start)
    [[ -x $bin_dir/kube-apiserver ]] || fail "no kube-apiserver in $bin_dir: run scripts/setup.sh first"
    [[ -n ${etcd_dir:-} && -x $etcd_dir/etcd ]] || fail "no etcd binary: run scripts/setup.sh first"
    if [[ -d $dir/pids ]]; then "$0" stop "$dir"; fi
    rm -rf "$dir"; mkdir -p "$dir/logs" "$dir/pids"
    apiserver_flags=()
    for a in "$@"; do
      case $a in
        --audit-log) write_audit_policy
          apiserver_flags+=(--audit-policy-file="$dir/audit-policy.yaml" --audit-log-path="$dir/audit.log"
                            --audit-log-format=json --audit-log-mode=blocking) ;;
        --no-watch-cache) apiserver_flags+=(--watch-cache=false) ;;
        *) apiserver_flags+=("$a") ;;
      esac
    done
    printf '%s\n' ${apiserver_flags[@]+"${apiserver_flags[@]}"} | sed '/^$/d' >"$dir/apiserver-flags"
    make_certs
    started=0
    for _ in 1 2 3 4 5; do  # other ports when one was taken between choosing and binding it
      write_env
      start_etcd || continue
      if start_apiserver; then started=1; break; fi
      stop_pid etcd
    done
    ((started)) || fail "five sets of ports in a row were taken before etcd and kube-apiserver could bind them"
    # shellcheck disable=SC2086  # IBO_CP_SCHEDULER_FLAGS is a list of flags
    "$bin_dir/kube-scheduler" --kubeconfig "$dir/kubeconfig" --leader-elect=false --port=0 --secure-port=0 \
      ${IBO_CP_SCHEDULER_FLAGS:-} >"$dir/logs/kube-scheduler.log" 2>&1 &
    echo $! >"$dir/pids/kube-scheduler"
    "$bin_dir/kube-controller-manager" --kubeconfig "$dir/kubeconfig" --leader-elect=false --port=0 \
      --secure-port=0 --controllers="${IBO_CP_CONTROLLERS:-garbagecollector,serviceaccount-token,serviceaccount,namespace}" \
      --service-account-private-key-file="$dir/pki/sa.key" --root-ca-file="$dir/pki/ca.crt" \
      >"$dir/logs/kube-controller-manager.log" 2>&1 &
    echo $! >"$dir/pids/kube-controller-manager"
    # The default ServiceAccount appearing proves the controller-manager runs.
    wait_for 60 "the default ServiceAccount" kubectl --kubeconfig "$dir/kubeconfig" get serviceaccount default -n default
    echo "control plane up: KUBECONFIG=$dir/kubeconfig"
    ;;
  stop)
    for p in kube-controller-manager kube-scheduler kube-apiserver etcd; do stop_pid "$p"; done
    ;;
  restart-apiserver)
    stop_pid kube-apiserver
    start_apiserver || fail "kube-apiserver could not bind its port again: $(tail -n 5 "$dir/logs/kube-apiserver.log")"
    ;;
  compact-etcd)
    # shellcheck disable=SC1091
    source "$dir/env"
    status=$(ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$ETCD_PORT" endpoint status -w json)
    [[ $status =~ \"revision\":([0-9]+) ]] || fail "no revision in: $status"
    rev=${BASH_REMATCH[1]}
    # Tests on the same control plane compact at once: "already compacted" is what was asked for.
    if ! out=$(ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$ETCD_PORT" compact "$rev" 2>&1); then
      [[ $out == *"required revision has been compacted"* ]] || fail "etcd compaction to $rev failed: $out"
    fi
    echo "$rev"
    ;;
  *) fail "unknown command $cmd" ;;
esac
