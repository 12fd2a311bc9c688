#!/usr/bin/env bash
# The real-node rig: a Kubernetes 1.20.2 cluster with two real nodes (kubelet + containerd + runc +
# CNI bridge each), a registry with htpasswd auth and a git server over smart HTTP with basic auth,
# all inside a network namespace of its own that has no route out.
#   rig.sh start DIR    start it (stopping whatever an earlier start left in DIR); writes DIR/rig.env
#   rig.sh stop DIR     stop it and leave nothing: no process, no mount, no netns, no cgroup
# IBO_RIG_TTL=SECONDS (start): the rig stops by itself that long after it started, in case whoever
# started it dies without stopping it (a killed test). Unset or 0: it runs until stopped.
# IBO_RIG_SERVICE_ACCOUNTS=1 (start): pods get their ServiceAccount's token mounted (kube-apiserver's
# ServiceAccount admission plugin; the token controller runs anyway), for an operator run as a
# Deployment. Off by default, as in the other tests' control planes.
# DIR/rig.env (shell syntax) names everything: KUBECONFIG, RIG_KUBECTL (kubectl run inside the
# namespace), RIG_EXEC (runs any command inside it), the registry, the git server, the nodes and the
# images pushed to the registry (RIG_IMAGE_*). Nothing in the namespace is reachable from the root
# namespace: use "$RIG_EXEC" curl ..., "$RIG_KUBECTL" get nodes.
#
# Layout inside the namespace (addresses on its loopback device; no other device reaches out):
#   10.87.0.1  kube-apiserver, registry, git server      10.87.0.2 node ibo-amd64, 10.87.0.3 node ibo-arm64
#   pods:      10.88.0.0/24 (bridge ibo-amd64), 10.88.1.0/24 (bridge ibo-arm64); routes to 10.87.0.0/24
#              and 10.88.0.0/16 only, and an empty resolv.conf: no packet can leave the namespace.
# Node ibo-arm64 is an amd64 machine labelled kubernetes.io/arch=arm64: its containerd runs amd64
# images natively, and arm64 code (an arm64 image's own binaries) runs under qemu-user-static
# through binfmt_misc, which this script registers with the F flag.
# Each node's containerd and kubelet share a mount namespace of their own (unshare --mount,
# slave propagation): kubelet 1.20 hardcodes /var/log/pods and deletes the log directories of pods
# it does not know, so two kubelets must not share it; /var/log, /var/lib/cni, /run/netns and
# /run/containerd are the node's own there, and every mount they make dies with the namespace.
# Pod cgroups live under /ibo-rig-ID/NODE in each cgroup v1 hierarchy (kubelet --cgroup-root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

cmd=${1:?usage: rig.sh start|stop DIR}
dir=${2:?usage: rig.sh $cmd DIR}
[[ $dir == /* ]] || dir=$PWD/$dir
dir=${dir%/}
[[ -n $dir && $dir != / && $dir != /root && $dir != /tmp && $dir != "$HOME" ]] || { echo "rig: refusing DIR '$2'" >&2; exit 1; }

bin_dir=$("$repo/scripts/build-control-plane.sh" --print-bin-dir)
cp_ip=10.87.0.1
nodes=(amd64 arm64)
declare -A node_ip=([amd64]=10.87.0.2 [arm64]=10.87.0.3)
declare -A node_subnet=([amd64]=10.88.0.0/24 [arm64]=10.88.1.0/24)
declare -A node_port=([amd64]=10250 [arm64]=10251)
git_port=8080

fail() { echo "rig: $*" >&2; exit 1; }
say() { echo "rig: $*" >&2; }

t_start=$(date +%s.%N) t_phase=$t_start
phase() {  # phase NAME: the time since the previous phase
  local now; now=$(date +%s.%N)
  awk -v n="$1" -v a="$t_phase" -v b="$now" -v s="$t_start" \
    'BEGIN { printf "rig: %-36s %6.1f s   (total %6.1f s)\n", n, b - a, b - s }' >&2
  t_phase=$now
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 deadline=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || fail "$what: not within $secs s; logs in $dir/logs"
    sleep 0.5
  done
}

in_ns() { nsenter --net="/run/netns/$netns" "$@"; }
kc() { in_ns kubectl --kubeconfig "$dir/kubeconfig" --request-timeout=20s "$@"; }

# ---------------------------------------------------------------------------------------------
# stop: by what the rig is, not by what it recorded having started, so that a start that failed
# half-way is cleaned up as well: every process in the rig's network namespace, in a node's mount
# namespace, in the rig's cgroups or naming DIR on its command line.

rig_pids() {
  local netino="" mntinos=() p link
  [[ -e /run/netns/$netns ]] && netino=$(stat -L -c %i "/run/netns/$netns" 2>/dev/null || true)
  for f in "$dir"/nodes/*/mntns; do [[ -f $f ]] && mntinos+=("$(cat "$f")"); done
  {
    for p in /proc/[0-9]*; do
      p=${p#/proc/}
      [[ $p == "$$" || $p == "$BASHPID" ]] && continue
      if [[ -n $netino ]]; then
        link=$(readlink "/proc/$p/ns/net" 2>/dev/null) || continue
        [[ $link == "net:[$netino]" ]] && { echo "$p"; continue; }
      fi
      if ((${#mntinos[@]})); then
        link=$(readlink "/proc/$p/ns/mnt" 2>/dev/null) || continue
        for m in "${mntinos[@]}"; do [[ $link == "$m" ]] && { echo "$p"; continue 2; }; done
      fi
      tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$dir/" && echo "$p"
    done
    local roots; roots=$(ls -d /sys/fs/cgroup/*/"$cgroot" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [[ -z $roots ]] || find $roots -name cgroup.procs -exec cat {} + 2>/dev/null || true
  } | sort -un | grep -vx -e "$$" -e "$BASHPID" || true
}

stop_named() {  # stop_named SECONDS PIDFILE...: TERM, up to SECONDS, then KILL
  local pids=() f p steps=$(( $1 * 5 )); shift
  for f in "$@"; do [[ -f $f ]] && pids+=("$(cat "$f")"); done
  ((${#pids[@]})) || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 "$steps"); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.2
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
  rm -f "$@"
}

stop_rig() {
  [[ -f $dir/id ]] || return 0
  rig_id=$(cat "$dir/id")
  netns=ibo-rig-$rig_id cgroot=ibo-rig-$rig_id
  local t0; t0=$(date +%s)
  t_start=$(date +%s.%N) t_phase=$t_start
  if [[ -f $dir/watchdog.pid && $(cat "$dir/watchdog.pid") != "$$" ]]; then
    kill "$(cat "$dir/watchdog.pid")" 2>/dev/null || true
  fi
  rm -f "$dir/watchdog.pid"
  # kubelets first (they would restart what dies), then the runtimes and the servers.
  stop_named 10 "$dir"/pids/kubelet-*
  stop_named 10 "$dir"/pids/containerd-*
  phase "stop: kubelets and containerds"
  # All at once, and no long grace (kube-apiserver's graceful shutdown takes 10 s): nothing of
  # theirs is kept.
  stop_named 2 "$dir"/cp/pids/* "$dir"/registry/pid "$dir"/pids/*
  phase "stop: control plane and servers"
  # What is left (shims, containers, node namespace holders): KILL until none, at most 30 s.
  local left killed="" deadline=$(( $(date +%s) + 30 ))
  while left=$(rig_pids) && [[ -n $left ]]; do
    # shellcheck disable=SC2086
    kill -9 $left 2>/dev/null || true
    killed+=" $left"
    (( $(date +%s) < deadline )) || { say "stop: processes still alive after 30 s: ${left//$'\n'/ }"; break; }
    sleep 0.3
  done
  # Until the killed are reaped (a zombie still shows in /proc), at most 10 s more.
  deadline=$(( $(date +%s) + 10 ))
  for p in $killed; do
    while [[ -d /proc/$p ]] && (( $(date +%s) < deadline )); do sleep 0.1; done
  done
  # Mounts under DIR in this mount namespace (none are expected: the nodes mount in their own).
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(findmnt -rn -o TARGET | grep -F -- "$dir/" | sort -r)
  # The rig's cgroups, deepest first; a cgroup empties a moment after its last process died.
  local cg
  for _ in $(seq 1 20); do
    cg=$(ls -d /sys/fs/cgroup/*/"$cgroot" 2>/dev/null || true)
    [[ -z $cg ]] && break
    # shellcheck disable=SC2086
    find $cg -depth -type d -exec rmdir {} + 2>/dev/null || true
    sleep 0.25
  done
  ip netns delete "$netns" 2>/dev/null || true
  rm -f "$dir/id"
  phase "stop: the rest (pods, mounts, cgroups, netns)"
  say "stopped in $(( $(date +%s) - t0 )) s"
}

# ---------------------------------------------------------------------------------------------
# start

register_binfmt() {  # qemu-aarch64 with the F flag (the interpreter opened now, usable in any container)
  local conf=/usr/lib/binfmt.d/qemu-aarch64.conf entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
  [[ -f $conf ]] || fail "no $conf: run scripts/setup.sh (qemu-user-static)"
  [[ -f /proc/sys/fs/binfmt_misc/register ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || fail "cannot mount binfmt_misc on /proc/sys/fs/binfmt_misc"
  if [[ -f $entry ]] && ! grep -q '^flags:.*F' "$entry"; then
    say "qemu-aarch64 is registered without the F flag: registering it again"
    echo -1 >"$entry"
  fi
  [[ -f $entry ]] || cat "$conf" >/proc/sys/fs/binfmt_misc/register
  grep -qx enabled "$entry" || fail "binfmt_misc entry qemu-aarch64 is not enabled: $(cat "$entry")"
  grep -q '^flags:.*F' "$entry" || fail "binfmt_misc entry qemu-aarch64 has no F flag: $(cat "$entry")"
}

start_git_server() {  # lighttpd in front of git-http-backend, basic auth from an htpasswd file
  local g=$dir/git
  mkdir -p "$g/repos" "$g/www"
  htpasswd -B -b -c "$g/htpasswd" "$git_user" "$git_pass" 2>/dev/null
  cat >"$g/lighttpd.conf" <<CONF
server.modules = ("mod_alias", "mod_auth", "mod_authn_file", "mod_cgi", "mod_setenv")
server.document-root = "$g/www"
server.bind = "$cp_ip"
server.port = $git_port
server.errorlog = "$dir/logs/git-server.log"
server.max-request-size = 1048576
alias.url = ("/git" => "/usr/lib/git-core/git-http-backend")
\$HTTP["url"] =~ "^/git" {
  cgi.assign = ("" => "")
  setenv.add-environment = ("GIT_PROJECT_ROOT" => "$g/repos", "GIT_HTTP_EXPORT_ALL" => "1")
  auth.backend = "htpasswd"
  auth.backend.htpasswd.userfile = "$g/htpasswd"
  auth.require = ("" => ("method" => "basic", "realm" => "imagebuild-rig git", "require" => "valid-user"))
}
CONF
  # One repository to begin with; tests add theirs under RIG_GIT_ROOT (bare, *.git).
  local w=$g/seed
  git init -q -b main "$w"
  echo "served by the imagebuild-operator rig" >"$w/README"
  git -C "$w" add README
  git -C "$w" -c user.name=rig -c user.email=rig@localhost commit -q -m "rig: first commit"
  git clone -q --bare "$w" "$g/repos/rig-test.git"
  git -C "$g/repos/rig-test.git" config http.receivepack true
  git -C "$g/repos/rig-test.git" config uploadpack.allowAnySHA1InWant true
  rm -rf "$w"
  in_ns lighttpd -D -f "$g/lighttpd.conf" >>"$dir/logs/git-server.log" 2>&1 &
  echo $! >"$dir/pids/git-server"
  wait_for 20 "the git server on $cp_ip:$git_port" \
    in_ns sh -c "curl -s -o /dev/null -w '%{http_code}' http://$cp_ip:$git_port/git/rig-test.git/info/refs | grep -qx 401"
}

write_node_files() {  # write_node_files NAME
  local n=$1 nd=$dir/nodes/$1
  mkdir -p "$nd/containerd" "$nd/cni" "$nd/ipam" "$nd/kubelet" "$nd/varlog" "$nd/var-lib-cni" "$nd/volume-plugins"
  cat >"$nd/containerd.toml" <<TOML
version = 2
root = "$nd/containerd/root"
state = "$nd/containerd/state"
[grpc]
  address = "$nd/containerd.sock"
[ttrpc]
  address = "$nd/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$nd/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$RIG_IMAGE_PAUSE"
  # No CAP_SYS_RESOURCE here: runc would fail every sandbox on a negative oom_score_adj.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$nd/cni"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$registry"]
    endpoint = ["http://$registry"]
  [plugins."io.containerd.grpc.v1.cri".registry.configs."$registry".auth]
    username = "$reg_user"
    password = "$reg_pass"
TOML
  cat >"$nd/cni/10-ibo.conflist" <<JSON
{"cniVersion": "0.4.0", "name": "ibo-$n", "plugins": [
  {"type": "bridge", "bridge": "ibo-$n", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$nd/ipam", "ranges": [[{"subnet": "${node_subnet[$n]}"}]],
            "routes": [{"dst": "10.87.0.0/24"}, {"dst": "10.88.0.0/16"}]}}]}
JSON
  local labels=""
  [[ $n == arm64 ]] && labels=--node-labels=kubernetes.io/arch=arm64
  cat >"$nd/run.sh" <<RUN
#!/usr/bin/env bash
# Node $n: runs in the rig's network namespace and in a mount namespace of its own (see rig.sh).
set -euo pipefail
readlink /proc/self/ns/mnt >"$nd/mntns"
mount -t tmpfs -o mode=0755 tmpfs /run/netns
mount -t tmpfs -o mode=0711 tmpfs /run/containerd
mount --bind "$nd/varlog" /var/log
mount --bind "$nd/var-lib-cni" /var/lib/cni
mount --bind "$dir/resolv.conf" /etc/resolv.conf
# The node's cgroup root in every cgroup v1 hierarchy (kubelet checks that it exists); cpuset
# needs its cpus and mems set before anything can join.
for h in /sys/fs/cgroup/*/; do
  [[ -f \$h/cgroup.procs ]] || continue
  mkdir -p "\${h}$cgroot/$n"
  if [[ -f \$h/cpuset.cpus ]]; then
    for lvl in "\${h}$cgroot" "\${h}$cgroot/$n"; do
      cat "\$h/cpuset.cpus" >"\$lvl/cpuset.cpus"; cat "\$h/cpuset.mems" >"\$lvl/cpuset.mems"
    done
  fi
done
containerd --config "$nd/containerd.toml" >"$dir/logs/containerd-$n.log" 2>&1 &
echo \$! >"$dir/pids/containerd-$n"
for _ in \$(seq 1 150); do [[ -S "$nd/containerd.sock" ]] && break; sleep 0.2; done
[[ -S "$nd/containerd.sock" ]] || { echo "containerd-$n did not create its socket in 30 s" >&2; exit 1; }
"$bin_dir/kubelet" --kubeconfig="$dir/kubeconfig" --container-runtime=remote \\
  --container-runtime-endpoint="unix://$nd/containerd.sock" --runtime-request-timeout=10m \\
  --root-dir="$nd/kubelet" --cert-dir="$nd/kubelet/pki" --volume-plugin-dir="$nd/volume-plugins" \\
  --hostname-override="ibo-$n" --node-ip="${node_ip[$n]}" --address="${node_ip[$n]}" --port="${node_port[$n]}" \\
  --read-only-port=0 --healthz-port=0 --fail-swap-on=false --cgroup-driver=cgroupfs \\
  --cgroups-per-qos=true --enforce-node-allocatable= --cgroup-root="/$cgroot/$n" \\
  --resolv-conf="$dir/resolv.conf" --pod-infra-container-image="$RIG_IMAGE_PAUSE" \\
  --eviction-hard="memory.available<50Mi,nodefs.available<2%,imagefs.available<2%" \\
  --serialize-image-pulls=false $labels >"$dir/logs/kubelet-$n.log" 2>&1 &
echo \$! >"$dir/pids/kubelet-$n"
wait
RUN
  chmod +x "$nd/run.sh"
}

real_kubectl() {  # kubectl's absolute path, not a rig's wrapper: that is named kubectl too and may be first in PATH
  local d
  IFS=: read -ra path_dirs <<<"$PATH"
  for d in "${path_dirs[@]}"; do
    [[ -x $d/kubectl && ! -e $d/rig-exec ]] && { echo "$d/kubectl"; return 0; }
  done
  fail "no kubectl in PATH (other than a rig's wrapper): run scripts/setup.sh"
}

node_ready() {  # node_ready NAME: Ready=True and no taint
  local out
  out=$(kc get node "ibo-$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.spec.taints}' 2>/dev/null) || return 1
  [[ $out == "True " ]]
}

start_rig() {
  local missing=()
  for b in "$bin_dir/kubelet" "$bin_dir/kube-apiserver"; do [[ -x $b ]] || missing+=("$b"); done
  for c in containerd runc lighttpd htpasswd docker-registry buildah nsenter unshare ip findmnt curl git kubectl; do
    command -v "$c" >/dev/null || missing+=("$c")
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(/usr/lib/cni/bridge)
  [[ -x /usr/lib/git-core/git-http-backend ]] || missing+=(git-http-backend)
  ((${#missing[@]} == 0)) || fail "missing: ${missing[*]}: run scripts/setup.sh"
  (( ${#dir} <= 60 )) || fail "DIR is too long for containerd's socket paths (at most 60 characters): $dir"

  if [[ -f $dir/id ]]; then stop_rig; fi
  [[ -z $(findmnt -rn -o TARGET | grep -F -- "$dir/") ]] || fail "mounts are left under $dir: not removing it"
  rm -rf "$dir"
  mkdir -p "$dir/logs" "$dir/pids" "$dir/bin"
  rig_id=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
  netns=ibo-rig-$rig_id cgroot=ibo-rig-$rig_id
  echo "$rig_id" >"$dir/id"
  # From here on, a failure stops whatever was started.
  trap 'rc=$?; if ((rc)); then say "start failed: stopping what was started (logs kept in $dir/logs)"; stop_rig || true; fi' EXIT

  reg_user=rig reg_pass=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  git_user=rig git_pass=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

  : >"$dir/images.env"
  "$here/rig-images.sh" build "$dir/images.env"
  phase "images (cached by content)"

  register_binfmt
  ip netns add "$netns"
  in_ns ip link set lo up
  for a in "$cp_ip" "${node_ip[@]}"; do in_ns ip addr add "$a/32" dev lo; done
  [[ -z $(in_ns ip route show default) ]] || fail "the namespace has a default route"
  # The nodes' and pods' resolver: loopback only (a pod's own), so that no lookup leaves the
  # namespace. An empty file would not do: containerd gives pods the host's resolv.conf then.
  printf '# the rig: no name server outside the namespace\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
    >"$dir/resolv.conf"
  phase "binfmt and network namespace"

  htpasswd -B -b -c "$dir/registry-htpasswd" "$reg_user" "$reg_pass" 2>/dev/null
  mkdir -p "$dir/registry"
  registry=$(IBO_REGISTRY_HOST=$cp_ip in_ns "$here/registry.sh" start "$dir/registry" --htpasswd "$dir/registry-htpasswd")
  phase "registry"

  # The images go in while the control plane starts.
  in_ns timeout 600 "$here/rig-images.sh" push "$dir/images.env" "$registry" "$reg_user" "$reg_pass" >"$dir/logs/push.log" 2>&1 &
  local push_pid=$!

  start_git_server
  phase "git server"

  IBO_CP_SANS="IP:$cp_ip" IBO_CP_SERVICE_ACCOUNT_ADMISSION=${IBO_RIG_SERVICE_ACCOUNTS:-0} \
  IBO_CP_CONTROLLERS=garbagecollector,serviceaccount-token,serviceaccount,namespace,nodelifecycle,deployment,replicaset \
    in_ns "$here/control-plane.sh" start "$dir/cp" --bind-address=0.0.0.0 --advertise-address="$cp_ip" \
    --kubelet-preferred-address-types=InternalIP >"$dir/logs/control-plane.log" 2>&1 \
    || fail "control plane: $(tail -n 20 "$dir/logs/control-plane.log")"
  # shellcheck disable=SC1091
  source "$dir/cp/env"
  sed "s#https://127.0.0.1:$APISERVER_PORT#https://$cp_ip:$APISERVER_PORT#" "$dir/cp/kubeconfig" >"$dir/kubeconfig"
  phase "control plane"

  wait "$push_pid" || fail "pushing the images: $(tail -n 20 "$dir/logs/push.log")"
  # shellcheck disable=SC1091
  source "$dir/images.env"
  phase "images pushed"

  for n in "${nodes[@]}"; do
    write_node_files "$n"
    mkdir -p /run/containerd /var/lib/cni  # mount points for the node's own
    in_ns unshare --mount --propagation slave "$dir/nodes/$n/run.sh" >"$dir/logs/node-$n.log" 2>&1 &
    echo $! >"$dir/pids/node-$n"
  done
  for n in "${nodes[@]}"; do
    wait_for 90 "node ibo-$n registered" kc get node "ibo-$n"
  done
  phase "nodes registered"
  for n in "${nodes[@]}"; do
    wait_for 120 "node ibo-$n Ready and without the not-ready taint (nodelifecycle controller)" node_ready "$n"
  done
  phase "nodes Ready and untainted"

  printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s "$@"\n' "$netns" >"$dir/bin/rig-exec"
  printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s %s --kubeconfig %s "$@"\n' "$netns" "$(real_kubectl)" "$dir/kubeconfig" \
    >"$dir/bin/kubectl"
  chmod +x "$dir/bin/rig-exec" "$dir/bin/kubectl"
  printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$registry" "$(printf '%s:%s' "$reg_user" "$reg_pass" | base64 -w0)" \
    >"$dir/registry-auth.json"
  {
    printf 'RIG_DIR=%q\nRIG_ID=%q\nRIG_NETNS=%q\nRIG_NETNS_PATH=%q\nRIG_CGROUP=%q\n' \
      "$dir" "$rig_id" "$netns" "/run/netns/$netns" "/$cgroot"
    printf 'KUBECONFIG=%q\nRIG_KUBECTL=%q\nRIG_EXEC=%q\nRIG_APISERVER=%q\nRIG_CA_FILE=%q\n' \
      "$dir/kubeconfig" "$dir/bin/kubectl" "$dir/bin/rig-exec" "https://$cp_ip:$APISERVER_PORT" "$dir/cp/pki/ca.crt"
    printf 'RIG_REGISTRY=%q\nRIG_REGISTRY_USER=%q\nRIG_REGISTRY_PASSWORD=%q\nRIG_REGISTRY_AUTH_FILE=%q\n' \
      "$registry" "$reg_user" "$reg_pass" "$dir/registry-auth.json"
    printf 'RIG_GIT_URL=%q\nRIG_GIT_USER=%q\nRIG_GIT_PASSWORD=%q\nRIG_GIT_ROOT=%q\nRIG_GIT_TEST_REPO=%q\n' \
      "http://$cp_ip:$git_port/git" "$git_user" "$git_pass" "$dir/git/repos" "http://$cp_ip:$git_port/git/rig-test.git"
    printf 'RIG_NODE_AMD64=ibo-amd64\nRIG_NODE_ARM64=ibo-arm64\nRIG_NODE_AMD64_IP=%s\nRIG_NODE_ARM64_IP=%s\n' \
      "${node_ip[amd64]}" "${node_ip[arm64]}"
    grep '^RIG_IMAGE_' "$dir/images.env"
    grep '^IMG_' "$dir/images.env" | sed 's/^IMG_/RIG_LOCAL_IMAGE_/'
  } >"$dir/rig.env"
  if [[ ${IBO_RIG_TTL:-0} != 0 ]]; then
    setsid "$0" _watchdog "$dir" "$rig_id" "$IBO_RIG_TTL" </dev/null >>"$dir/logs/watchdog.log" 2>&1 &
    wait_for 10 "the watchdog (IBO_RIG_TTL)" test -s "$dir/watchdog.pid"
  fi
  trap - EXIT
  phase "up"
  echo "rig up: source $dir/rig.env; \"\$RIG_KUBECTL\" get nodes"
}

case $cmd in
  start) start_rig ;;
  stop) stop_rig ;;
  _watchdog)  # _watchdog DIR ID SECONDS: stop the rig ID after SECONDS unless it is gone already
    echo $$ >"$dir/watchdog.pid"
    sleep "${4:?}" &
    trap 'kill $! 2>/dev/null; exit 0' TERM
    wait $!
    if [[ $(cat "$dir/id" 2>/dev/null) == "$3" ]]; then say "IBO_RIG_TTL=$4 s reached: stopping"; stop_rig; fi
    ;;
  *) fail "unknown command $cmd" ;;
esac
