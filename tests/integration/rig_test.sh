#!/usr/bin/env bash
# The real-node rig (tests/infra/rig.sh) does what it says: it starts one in a fresh directory, then
#   - both nodes are Ready, untainted, and say their architecture (kubernetes.io/arch);
#   - a pod from the multi-arch base runs on each node: uname -m is x86_64 on ibo-amd64 and, by the
#     arm64 manifest's digest, aarch64 on ibo-arm64 (qemu-user-static through binfmt_misc);
#   - pods have no route and no name server outside the namespace, and neither has the namespace;
#   - the registry refuses anonymous pushes (and pulls) and accepts authenticated ones;
#   - from a pod of the builder (git) image, git clones over smart HTTP with basic auth from a
#     kubernetes.io/basic-auth Secret, and fails without credentials;
#   - the builder image builds for linux/arm64 in a pod on ibo-arm64 (the RUN step under QEMU) and
#     pushes by digest with a dockerconfigjson Secret; the operator image runs as a pod, and an
#     image without a USER starts under the merge pod's securityContext;
#   - pods reach the API server at its address in the namespace and verify its certificate;
# and after rig.sh stop (also when a check failed): no process of the rig, no mount under its
# directory, no new cni-* network namespace, no rig network namespace and no rig cgroup is left.
# It never skips: whatever is missing fails it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
infra=$(cd "$here/../infra" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
t0=$(date +%s)

# A short path: containerd's socket paths must stay short.
dir=$(mktemp -d /tmp/ibo-rig-test.XXXXXX)
# On a machine that never ran a network namespace /run/netns does not exist: no namespaces, not an
# error (under pipefail, find's failure ended this script before its first line of output).
cni_list() { [[ -d /run/netns ]] || return 0; find /run/netns -maxdepth 1 -name 'cni-*' -printf '%f\n' | sort; }
cni_before=$(cni_list)
rig_pids_before_stop=""

leftovers() {  # prints what the rig left; empty when nothing
  local p
  for p in $rig_pids_before_stop; do
    # A zombie (state Z) is dead, waiting for its parent to reap it: not a process left running.
    [[ -d /proc/$p && $(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$p/status" 2>/dev/null) != Z ]] &&
      echo "process $p still runs: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
  done
  # Any process naming DIR (the rig's servers, its watchdog); pgrep leaves itself out.
  pgrep -af -- "$dir" | sed "s/^/process naming the rig directory: /" || true
  findmnt -rn -o TARGET | grep -F -- "$dir/" | sed 's/^/mount left: /' || true
  comm -13 <(echo "$cni_before") <(cni_list) | sed 's/^/network namespace left: /' || true
  if [[ -n ${RIG_NETNS:-} ]]; then
    ip netns list | grep -w -- "$RIG_NETNS" | sed 's/^/rig network namespace left: /' || true
    ls -d /sys/fs/cgroup/*"$RIG_CGROUP" 2>/dev/null | sed 's/^/cgroup left: /' || true
  fi
}

finish() {
  local rc=$? left
  trap - EXIT
  if [[ -f $dir/rig.env || -f $dir/id ]]; then
    # What runs now, to check that it is gone after stop: every process in the rig's network
    # namespace or its cgroups (the pods' containers).
    if [[ -n ${RIG_NETNS:-} && -e /run/netns/$RIG_NETNS ]]; then
      local ino; ino=$(stat -L -c %i "/run/netns/$RIG_NETNS")
      for p in /proc/[0-9]*; do
        [[ $(readlink "$p/ns/net" 2>/dev/null) == "net:[$ino]" ]] && rig_pids_before_stop+=" ${p#/proc/}"
      done
      rig_pids_before_stop+=" $(find /sys/fs/cgroup/*"$RIG_CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u | tr '\n' ' ')"
    fi
    local s; s=$(date +%s)
    timeout 120 "$infra/rig.sh" stop "$dir" || { echo "FAIL: rig.sh stop failed or took over 120 s" >&2; rc=1; }
    echo "rig stopped in $(( $(date +%s) - s )) s"
  fi
  left=$(leftovers)
  if [[ -n $left ]]; then
    echo "FAIL: the rig left:" >&2; echo "$left" >&2; rc=1
  else
    echo "ok: nothing left: no process, mount under $dir, cni-* or rig network namespace, or rig cgroup"
  fi
  if ((rc == 0)); then rm -rf "$dir"; else echo "logs kept in $dir/logs" >&2; fi
  echo "rig test took $(( $(date +%s) - t0 )) s"
  exit "$rc"
}
trap finish EXIT

s=$(date +%s)
# The rig stops by itself after 25 minutes should this test be killed (ctest's timeout is 30).
IBO_RIG_TTL=1500 timeout 900 "$infra/rig.sh" start "$dir" || fail "rig.sh start failed"
echo "rig started in $(( $(date +%s) - s )) s"
# shellcheck disable=SC1091
source "$dir/rig.env"
for v in RIG_KUBECTL RIG_EXEC RIG_REGISTRY RIG_REGISTRY_USER RIG_REGISTRY_PASSWORD RIG_GIT_TEST_REPO RIG_GIT_USER \
         RIG_GIT_PASSWORD RIG_IMAGE_BASE RIG_IMAGE_BASE_AMD64 RIG_IMAGE_BASE_ARM64 RIG_IMAGE_BUILDER RIG_IMAGE_GIT \
         RIG_IMAGE_PAUSE RIG_IMAGE_OPERATOR RIG_NETNS RIG_CGROUP RIG_APISERVER RIG_CA_FILE; do
  [[ -n ${!v:-} ]] || fail "rig.env has no $v"
done
kc() { "$RIG_KUBECTL" --request-timeout=30s "$@"; }

# --- nodes
for arch in amd64 arm64; do
  node=ibo-$arch
  got=$(kc get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}|{.spec.taints}|{.metadata.labels.kubernetes\.io/arch}|{.metadata.labels.kubernetes\.io/os}')
  [[ $got == "True||$arch|linux" ]] || fail "node $node: Ready|taints|arch|os is '$got', not 'True||$arch|linux'"
done
ok "nodes ibo-amd64 and ibo-arm64 are Ready, untainted, and labelled amd64 and arm64"

# run_pod NAME NODE-ARCH IMAGE SCRIPT [ENV-YAML]: runs SCRIPT in sh; prints its termination message.
run_pod() {
  local name=$1 arch=$2 image=$3 script=$4 env=${5:-} deadline phase
  kc apply -f - >/dev/null <<YAML || fail "cannot create pod $name"
apiVersion: v1
kind: Pod
metadata: {name: $name, namespace: default}
spec:
  restartPolicy: Never
  nodeSelector: {kubernetes.io/arch: $arch}
  containers:
  - name: main
    image: $image
    command: [sh, -c, $(printf '%s' "$script" | jq -Rs .)]
$env
YAML
  wait_pod "$name" "$arch"
}

# wait_pod NAME NODE-ARCH: waits for it to succeed on ibo-NODE-ARCH; prints its termination message.
wait_pod() {
  local name=$1 arch=$2 deadline phase
  deadline=$(( $(date +%s) + 240 ))
  while :; do
    phase=$(kc get pod "$name" -o jsonpath='{.status.phase}')
    [[ $phase == Succeeded || $phase == Failed ]] && break
    (( $(date +%s) < deadline )) || { kc describe pod "$name" >&2; fail "pod $name did not finish within 240 s"; }
    sleep 1
  done
  [[ $phase == Succeeded ]] || { kc describe pod "$name" >&2; kc logs "$name" >&2 || true; fail "pod $name failed"; }
  [[ $(kc get pod "$name" -o jsonpath='{.spec.nodeName}') == "ibo-$arch" ]] || fail "pod $name did not run on ibo-$arch"
  kc get pod "$name" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}'
}

# --- a pod on each node, from the multi-arch base
probe='echo "log line from $(hostname)"; uname -m >/dev/termination-log
if ip route | grep -q default; then echo "a default route in the pod" >>/dev/termination-log; fi
if grep nameserver /etc/resolv.conf | grep -vq "nameserver 127.0.0.1"; then echo "a name server outside" >>/dev/termination-log; fi'
m=$(run_pod uname-amd64 amd64 "$RIG_IMAGE_BASE" "$probe")
[[ $m == x86_64 ]] || fail "on ibo-amd64, the base image (index) says: $m"
ok "pod from $RIG_IMAGE_BASE on ibo-amd64: uname -m = x86_64, no route or name server outside"
m=$(run_pod uname-arm64 arm64 "$RIG_IMAGE_BASE_ARM64" "$probe")
[[ $m == aarch64 ]] || fail "on ibo-arm64, the base image's arm64 manifest says: $m"
ok "pod from the base's arm64 manifest on ibo-arm64: uname -m = aarch64 (qemu-user-static through binfmt_misc)"
grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || fail "qemu-aarch64 is not registered with the F flag"
# kubectl logs: the API server reaches each kubelet at its InternalIP in the namespace, and each
# node keeps its own /var/log/pods.
for arch in amd64 arm64; do
  [[ $(kc logs "uname-$arch") == "log line from uname-$arch" ]] || fail "kubectl logs uname-$arch: $(kc logs "uname-$arch" 2>&1)"
done
ok "kubectl logs reaches both kubelets (API server to kubelet by InternalIP)"
# What the README says about node ibo-arm64: its containerd is an amd64 program, so an index gives it amd64.
m=$(run_pod index-arm64 arm64 "$RIG_IMAGE_BASE" 'uname -m >/dev/termination-log')
[[ $m == x86_64 ]] || fail "on ibo-arm64, the base image's index was expected to resolve to amd64 (containerd's own platform), got $m"
ok "on ibo-arm64 an index resolves to linux/amd64, as documented (containerd's own platform)"

# --- the registry: anonymous pushes refused, authenticated ones accepted
code=$("$RIG_EXEC" curl -s -o /dev/null -w '%{http_code}' -X POST "http://$RIG_REGISTRY/v2/rig-test/anon/blobs/uploads/")
[[ $code == 401 ]] || fail "an anonymous push (blob upload) got HTTP $code, not 401"
if "$RIG_EXEC" skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
     --src-creds "$RIG_REGISTRY_USER:$RIG_REGISTRY_PASSWORD" \
     "docker://$RIG_IMAGE_BASE_AMD64" "docker://$RIG_REGISTRY/rig-test/anon:1" 2>/dev/null; then
  fail "skopeo pushed without credentials"
fi
"$RIG_EXEC" skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
  --src-creds "$RIG_REGISTRY_USER:$RIG_REGISTRY_PASSWORD" --dest-creds "$RIG_REGISTRY_USER:$RIG_REGISTRY_PASSWORD" \
  "docker://$RIG_IMAGE_BASE_AMD64" "docker://$RIG_REGISTRY/rig-test/authed:1" || fail "an authenticated push failed"
arch=$("$RIG_EXEC" skopeo inspect --tls-verify=false --creds "$RIG_REGISTRY_USER:$RIG_REGISTRY_PASSWORD" \
  --format '{{.Architecture}}' "docker://$RIG_REGISTRY/rig-test/authed:1") || fail "cannot read back the authenticated push"
[[ $arch == amd64 ]] || fail "read back architecture $arch, not amd64"
code=$("$RIG_EXEC" curl -s -o /dev/null -w '%{http_code}' "http://$RIG_REGISTRY/v2/rig-test/authed/manifests/1")
[[ $code == 401 ]] || fail "an anonymous pull got HTTP $code, not 401"
ok "registry $RIG_REGISTRY refuses anonymous pushes and pulls (401) and accepts authenticated ones"

# --- git over smart HTTP with basic auth, from a pod of the git image, credentials from a Secret
kc apply -f - >/dev/null <<YAML || fail "cannot create the git Secret"
apiVersion: v1
kind: Secret
metadata: {name: git-cred, namespace: default}
type: kubernetes.io/basic-auth
stringData: {username: "$RIG_GIT_USER", password: "$RIG_GIT_PASSWORD"}
YAML
url_path=${RIG_GIT_TEST_REPO#http://}
clone='export GIT_TERMINAL_PROMPT=0
if git clone -q --depth 1 "http://$GIT_USER:$GIT_PASSWORD@'"$url_path"'" /tmp/with 2>/tmp/with.err \
   && grep -q "served by the imagebuild-operator rig" /tmp/with/README; then with=cloned; else with="failed: $(tail -n1 /tmp/with.err)"; fi
if git clone -q --depth 1 "http://'"$url_path"'" /tmp/without 2>/tmp/without.err; then without=cloned
else without="refused: $(tail -n1 /tmp/without.err)"; fi
echo "with=$with; without=$without" >/dev/termination-log'
env_yaml='    env:
    - {name: GIT_USER, valueFrom: {secretKeyRef: {name: git-cred, key: username}}}
    - {name: GIT_PASSWORD, valueFrom: {secretKeyRef: {name: git-cred, key: password}}}'
for arch in amd64 arm64; do
  m=$(run_pod "git-$arch" "$arch" "$RIG_IMAGE_GIT" "$clone" "$env_yaml")
  [[ $m == "with=cloned; without=refused: "*"Username"* ]] || fail "git from a pod on ibo-$arch: $m"
  ok "git on ibo-$arch: clone with the Secret's credentials works; without: ${m#*without=}"
done

# --- the builder image builds for linux/arm64 in a pod on ibo-arm64 (buildah 1.28, vfs, chroot
# isolation, the operator's securityContext for buildah) and pushes with the registry's credentials
kc create secret generic regcred --type=kubernetes.io/dockerconfigjson \
  --from-file=.dockerconfigjson="$RIG_REGISTRY_AUTH_FILE" >/dev/null || fail "cannot create the push Secret"
kc apply -f - >/dev/null <<YAML || fail "cannot create the build pod"
apiVersion: v1
kind: Pod
metadata: {name: build-arm64, namespace: default}
spec:
  restartPolicy: Never
  nodeSelector: {kubernetes.io/arch: arm64}
  volumes: [{name: auth, secret: {secretName: regcred, items: [{key: .dockerconfigjson, path: config.json}]}}]
  containers:
  - name: build
    image: $RIG_IMAGE_BUILDER
    securityContext: {capabilities: {add: [SETUID, SETGID]}}
    env: [{name: REGISTRY_AUTH_FILE, value: /auth/config.json}]
    volumeMounts: [{name: auth, mountPath: /auth}]
    command: [sh, -ec]
    args:
    - |
      mkdir /ctx && cd /ctx
      printf 'FROM $RIG_IMAGE_BASE\nRUN uname -m > /arch\n' >Dockerfile
      buildah build -q --storage-driver=vfs --isolation=chroot --platform linux/arm64 --tls-verify=false \
        -t $RIG_REGISTRY/rig-test/built:arm64 .
      buildah push -q --storage-driver=vfs --tls-verify=false --digestfile /tmp/digest $RIG_REGISTRY/rig-test/built:arm64
      cat /tmp/digest >/dev/termination-log
YAML
digest=$(wait_pod build-arm64 arm64)
[[ $digest == sha256:* ]] || fail "the build pod's termination message is not a digest: $digest"
img=$(mktemp -d)
"$RIG_EXEC" skopeo copy -q --src-tls-verify=false --src-creds "$RIG_REGISTRY_USER:$RIG_REGISTRY_PASSWORD" \
  "docker://$RIG_REGISTRY/rig-test/built@$digest" "dir:$img/i" || fail "cannot read back $digest"
config=$(jq -r .config.digest "$img/i/manifest.json"); layer=$(jq -r '.layers[-1].digest' "$img/i/manifest.json")
platform=$(jq -r '.os + "/" + .architecture' "$img/i/${config#sha256:}")
written=$(tar -xzOf "$img/i/${layer#sha256:}" arch 2>/dev/null || true)
rm -rf "$img"
[[ $platform == linux/arm64 && $written == aarch64 ]] || fail "the arm64 build: config says $platform, its RUN layer holds '$written'"
ok "the builder image built for linux/arm64 in a pod on ibo-arm64: config linux/arm64, RUN layer holds aarch64, pushed as $digest"

# --- pods reach the API server at its address in the namespace, with its certificate (for an
# in-cluster client): anonymous, so 403, but only once TLS verified against the rig's CA
kc create configmap rig-ca --from-file=ca.crt="$RIG_CA_FILE" >/dev/null || fail "cannot create the CA ConfigMap"
m=$(run_pod api-amd64 amd64 "$RIG_IMAGE_BUILDER" \
  "git -c http.sslCAInfo=/ca/ca.crt ls-remote $RIG_APISERVER/version.git >/dev/termination-log 2>&1 || true" \
  '    volumeMounts: [{name: ca, mountPath: /ca}]
  volumes: [{name: ca, configMap: {name: rig-ca}}]')
[[ $m == *"returned error: 403"* ]] || fail "a pod could not reach $RIG_APISERVER with the rig's CA: $m"
ok "pods reach the API server at $RIG_APISERVER and verify its certificate with the rig's CA"

# The operator's image is in the registry (built from operator/Dockerfile, linux/amd64).
arch=$("$RIG_EXEC" skopeo inspect --tls-verify=false --creds "$RIG_REGISTRY_USER:$RIG_REGISTRY_PASSWORD" \
  --format '{{.Os}}/{{.Architecture}}' "docker://$RIG_IMAGE_OPERATOR") || fail "no $RIG_IMAGE_OPERATOR in the registry"
[[ $arch == linux/amd64 ]] || fail "$RIG_IMAGE_OPERATOR is $arch"
m=$(run_pod operator-version amd64 "$RIG_IMAGE_OPERATOR" 'id -u >/dev/termination-log; imagebuild-operator version >>/dev/termination-log 2>&1')
[[ $m == 65532$'\n'* && $m == *[0-9].[0-9]* ]] || fail "the operator image, run as a pod: $m"
ok "the operator image $RIG_IMAGE_OPERATOR (linux/amd64) runs as uid 65532: $(echo "$m" | tail -n +2 | tr '\n' ' ')"

# The merge pod's securityContext as the operator writes it (the golden merge pod spec), on an
# image without a USER, which alone would run as root and be refused by runAsNonRoot
# (CreateContainerConfigError): with runAsUser set it starts, as 65532.
merge_sc=$(jq -c '.spec.containers[0].securityContext' "$here/../unit/controller/golden/merge.json")
[[ $merge_sc == *'"runAsNonRoot":true'* && $merge_sc == *'"runAsUser":65532'* ]] ||
  fail "the golden merge pod's securityContext changed: $merge_sc"
m=$(run_pod merge-image-without-user amd64 "$RIG_IMAGE_BASE_AMD64" 'id -u >/dev/termination-log' "    securityContext: $merge_sc")
[[ $m == 65532 ]] || fail "a merge image without a USER, with the merge pod's securityContext: uid '$m'"
ok "a merge image without a USER starts under the merge pod's securityContext, as uid 65532"

# --- the namespace has no way out (checked after the pods, so that their bridges and veths exist)
[[ -z $("$RIG_EXEC" ip route show default) ]] || fail "the rig's namespace has a default route"
links=$("$RIG_EXEC" ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')
for l in $links; do
  [[ $l == lo || $l == ibo-amd64 || $l == ibo-arm64 || $l == veth* ]] || fail "unexpected link $l in the rig's namespace: $links"
done
ok "the rig's namespace has no default route and only lo, its bridges and pods' veths ($links)"

# A pod that still runs when the rig stops must be gone afterwards too.
kc run sleeper --image="$RIG_IMAGE_BASE" --restart=Never --command -- sleep 3600 >/dev/null
kc wait --for=condition=Ready pod/sleeper --timeout=120s >/dev/null || fail "the sleeper pod did not start"
ok "a running pod is left for stop to clean up"
echo "all checks passed"
