#!/usr/bin/env bash
# The operator for real (issue 11, parts 3 and 4): on the real-node rig (tests/infra/rig.sh), the
# operator runs as deploy/'s Deployment from its own image (operator/Dockerfile), with its
# ServiceAccount and RBAC, non-root, read-only root filesystem, its in-cluster config patched to
# the API server's address in the rig's namespace; its probes turn Ready. Then it builds, with
# buildah, from a git repository the rig serves over smart HTTP with basic auth:
#   - app: linux/amd64 + linux/arm64, a Dockerfile per platform, a RUN step writing `uname -m`, a
#     build secret used by a RUN step, a RUN step writing random bytes, a cache repository. The
#     arm64 Dockerfile fetches from an endpoint in the rig's namespace that fails its first
#     request: arm64 ends Ready at attempt 2 and an event names attempt 1's failure. Each
#     platform's nodeName, config os/architecture and layer (aarch64 for arm64) are checked, the
#     merge pod runs the operator image, skopeo reads the index back under every tag, and no layer
#     holds the secret;
#   - app-again: the same source in fresh pods: the random RUN step's layer has the same digest,
#     per platform (the cache);
#   - emulated: emulation: Always, both platforms in one pod (buildah --manifest);
#   - one commit per build: app's revision main is resolved, main moves on during the build, and
#     both platforms and arm64's retry build the resolved commit (fetching main deeper, as the
#     server refuses commits by id); the images and the index carry the OCI labels/annotations;
#   - broken: a Dockerfile that does not parse, and bad-git: a commit the server does not have;
#     bad-branch: a branch it does not have (the build fails at once, without retries);
#     each named in the platform's status message.
# Network: loopback and the rig's namespace only. Bounded: every wait has a limit and the rig has
# a TTL; the rig is stopped on any exit. It never skips: whatever is missing fails it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
infra=$repo/tests/infra
t0=$(date +%s)
say() { echo "[$(( $(date +%s) - t0 ))s] $*"; }
dir=$(mktemp -d /tmp/ibo-e2e.XXXXXX)
work=$dir.work
mkdir -p "$work"
flaky_pid="" daemon_pid=""

dump() {
  [[ -n ${RIG_KUBECTL:-} ]] || return 0
  echo "--- imagebuilds" >&2; "$RIG_KUBECTL" get imagebuilds -A -o yaml 2>&1 | sed -n '/^  status:/,/^- /p' | head -150 >&2 || true
  echo "--- pods" >&2; "$RIG_KUBECTL" get pods -A -o wide >&2 || true
  echo "--- events (ci)" >&2; "$RIG_KUBECTL" get events -n ci --sort-by=.lastTimestamp 2>&1 | tail -40 >&2 || true
  echo "--- operator log" >&2; "$RIG_KUBECTL" logs -n imagebuild-system deploy/imagebuild-operator --tail=40 >&2 || true
}
fail() { echo "FAIL: $*" >&2; dump; exit 1; }
ok() { say "ok: $*"; }

finish() {
  local rc=$?
  trap - EXIT
  if [[ -n $flaky_pid ]]; then kill "$flaky_pid" 2>/dev/null || true; fi
  if [[ -n $daemon_pid ]]; then kill "$daemon_pid" 2>/dev/null || true; fi
  if [[ -f $dir/id ]]; then
    local s; s=$(date +%s)
    timeout 120 "$infra/rig.sh" stop "$dir" >/dev/null 2>&1 || { echo "FAIL: rig.sh stop failed" >&2; rc=1; }
    say "rig stopped in $(( $(date +%s) - s )) s"
  fi
  if ((rc == 0)); then rm -rf "$dir" "$work"; else echo "logs kept in $dir/logs" >&2; fi
  say "e2e took $(( $(date +%s) - t0 )) s (rc $rc)"
  exit "$rc"
}
trap finish EXIT

# --- the rig, with ServiceAccount tokens mounted (the operator's pod needs its token)
s=$(date +%s)
IBO_RIG_SERVICE_ACCOUNTS=1 IBO_RIG_TTL=1500 timeout 900 "$infra/rig.sh" start "$dir" >"$work/rig-start.log" 2>&1 ||
  { tail -n 30 "$work/rig-start.log" >&2; fail "rig.sh start failed"; }
rig_secs=$(( $(date +%s) - s ))
say "rig started in $rig_secs s"
# shellcheck disable=SC1091
source "$dir/rig.env"
for v in RIG_KUBECTL RIG_EXEC RIG_REGISTRY RIG_REGISTRY_AUTH_FILE RIG_GIT_URL RIG_GIT_ROOT RIG_GIT_USER RIG_GIT_PASSWORD \
         RIG_IMAGE_BASE RIG_IMAGE_BUILDER RIG_IMAGE_GIT RIG_IMAGE_OPERATOR RIG_APISERVER; do
  [[ -n ${!v:-} ]] || fail "rig.env has no $v"
done
kc() { "$RIG_KUBECTL" --request-timeout=30s "$@"; }
creds=(--tls-verify=false --creds "$RIG_REGISTRY_USER:$RIG_REGISTRY_PASSWORD")

# --- an endpoint in the rig's namespace that fails its first request for each path
flaky_port=18099  # in the rig's own namespace: nothing else listens there
"$RIG_EXEC" python3 -c '
import http.server, sys
seen = set()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        first = self.path not in seen
        seen.add(self.path)
        body = b"first request fails\n" if first else b"fetched on a retry\n"
        self.send_response(503 if first else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): sys.stderr.write("flaky: %s %s\n" % (self.path, a[1]))
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
' 10.87.0.1 "$flaky_port" 2>"$work/flaky.log" &
flaky_pid=$!
flaky=http://10.87.0.1:$flaky_port

# --- the source: a git repository served by the rig (smart HTTP, basic auth)
src=$work/src
mkdir -p "$src"
git init -q -b main "$src"
for arch in amd64 arm64; do
  {
    echo "FROM $RIG_IMAGE_BASE"
    echo "RUN uname -m > /arch"
    echo "RUN head -c 32 /dev/urandom | od -An -tx1 > /random"
    # The secret is used (its hash kept) and must not be in any layer.
    echo "RUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -c1-64 > /token.sha256"
    [[ $arch == arm64 ]] && echo "RUN wget -q -O /fetched $flaky/app-arm64"
    echo "CMD [\"cat\", \"/arch\"]"
  } >"$src/Dockerfile.$arch"
done
# Its first attempt fails (the flaky endpoint), so that its second fetches after main moved.
printf 'FROM %s\nRUN uname -m > /arch\nRUN wget -q -O /fetched %s/emulated\n' "$RIG_IMAGE_BASE" "$flaky" >"$src/Dockerfile.emulated"
printf 'FROM %s\nRUNN echo this is not an instruction\n' "$RIG_IMAGE_BASE" >"$src/Dockerfile.broken"
git -C "$src" add -A
git -C "$src" -c user.name=e2e -c user.email=e2e@localhost commit -q -m "e2e sources"
git -C "$src" tag v1.0.0
# main one commit past the tag: once main moves on, the commit app resolved is no ref's tip any more.
echo "after the release" >"$src/NOTES"
git -C "$src" add NOTES
git -C "$src" -c user.name=e2e -c user.email=e2e@localhost commit -q -m "main after v1.0.0"
git clone -q --bare "$src" "$RIG_GIT_ROOT/app.git"
# Smart HTTP serves any commit reachable from a ref (stateless upload-pack checks reachability),
# and protocol v2 any commit at all. A git daemon of the rig's namespace, held to protocol v0 (a
# proxy drops the client's version=2 from the git:// request) with uploadpack.allowAnySHA1InWant
# off, refuses every commit that is no ref's tip: the build pods then fetch the branch deeper.
git clone -q --bare "$src" "$RIG_GIT_ROOT/v0.git"
"$RIG_EXEC" python3 -c '
import socket, subprocess, sys, threading
root, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", "--base-path=" + root,
                           "--listen=127.0.0.1", "--port=%d" % (port + 1), root])
def pipe(a, b):
    try:
        while (data := a.recv(65536)):
            b.sendall(data)
    except OSError:
        pass
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass
def serve(client):
    request = client.recv(int(client.recv(4, socket.MSG_WAITALL), 16) - 4, socket.MSG_WAITALL)
    cut = request.find(b"\0\0")  # "git-upload-pack /repo\0host=...\0" then "\0version=2\0"
    if cut >= 0:
        request = request[:cut + 1]
    upstream = socket.create_connection(("127.0.0.1", port + 1))
    upstream.sendall(b"%04x" % (len(request) + 4) + request)
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
    pipe(client, upstream)
listener = socket.create_server((host, port), reuse_port=True)
try:
    while True:
        threading.Thread(target=serve, args=(listener.accept()[0],), daemon=True).start()
finally:
    daemon.kill()
' "$RIG_GIT_ROOT" 10.87.0.1 9418 2>"$work/git-daemon.log" &
daemon_pid=$!
git_url=$RIG_GIT_URL/app.git

# --- the operator: deploy/ with the rig's image and settings (a kustomize overlay)
"$infra/rig-operator.sh" deploy "$dir" --retry-backoff=2 || fail "the operator's Deployment did not come up"
pod=$(kc -n imagebuild-system get pods -l app.kubernetes.io/name=imagebuild-operator -o jsonpath='{.items[0].metadata.name}')
got=$(kc -n imagebuild-system get pod "$pod" -o jsonpath='{.spec.containers[0].image}|{.spec.serviceAccountName}|{.status.conditions[?(@.type=="Ready")].status}|{.spec.containers[0].securityContext.readOnlyRootFilesystem}')
[[ $got == "$RIG_IMAGE_OPERATOR|imagebuild-operator|True|true" ]] || fail "operator pod: image|sa|Ready|readOnlyRootFilesystem is $got"
uid=$(kc -n imagebuild-system exec "$pod" -- id -u 2>/dev/null || true)
[[ $uid == 65532 ]] || fail "the operator runs as uid '$uid', not 65532"
ok "the operator runs as deploy/'s Deployment from $RIG_IMAGE_OPERATOR (uid 65532, read-only root, SA imagebuild-operator) and is Ready"

# --- the build namespace and its Secrets
kc create namespace ci >/dev/null
kc apply -f - >/dev/null <<YAML || fail "cannot create the Secrets"
apiVersion: v1
kind: Secret
metadata: {name: git-cred, namespace: ci}
type: kubernetes.io/basic-auth
stringData: {username: "$RIG_GIT_USER", password: "$RIG_GIT_PASSWORD"}
---
apiVersion: v1
kind: Secret
metadata: {name: build-token, namespace: ci}
stringData: {token: "e2e-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"}
YAML
kc -n ci create secret generic regcred --type=kubernetes.io/dockerconfigjson \
  --from-file=.dockerconfigjson="$RIG_REGISTRY_AUTH_FILE" >/dev/null
# spec.signing of app: a P-256 key made by openssl, as the README says to make one
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/cosign.key" 2>/dev/null
openssl pkey -in "$work/cosign.key" -pubout -out "$work/cosign.pub"
kc -n ci create secret generic release-key --from-file=cosign.key="$work/cosign.key" >/dev/null
secret_value=$(kc -n ci get secret build-token -o jsonpath='{.data.token}' | base64 -d)

imagebuild() {  # imagebuild NAME IMAGE REVISION RETRIES EXTRA-YAML PLATFORMS-YAML (repo_url=URL: another repository)
  kc apply -f - >/dev/null <<YAML || fail "cannot create ImageBuild $1"
apiVersion: imagebuild.io/v1alpha1
kind: ImageBuild
metadata: {name: $1, namespace: ci}
spec:
  image: $RIG_REGISTRY/e2e/$2
  version: v1.0.0
  tags: [main]
  source:
    git: {url: "${repo_url:-$git_url}", revision: $3, secretRef: {name: git-cred}}
  builder: {strategy: buildah}
  pushSecretRef: {name: regcred}
  retries: $4
$5
  platforms:
$6
YAML
}
app_extra='  buildSecrets: [{id: token, secretRef: {name: build-token, key: token}}]
  signing: {keySecretRef: {name: release-key}}
  cache: {repository: '"$RIG_REGISTRY"'/e2e/app-cache}
  labels: {org.opencontainers.image.title: app}
  annotations: {com.example.team: e2e}'
both='  - {platform: linux/amd64, dockerfile: Dockerfile.amd64}
  - {platform: linux/arm64, dockerfile: Dockerfile.arm64}'
imagebuild app app main 1 "$app_extra" "$both"
repo_url=git://10.87.0.1:9418/v0.git imagebuild emulated emulated main 1 "  emulation: Always" '  - {platform: linux/amd64, dockerfile: Dockerfile.emulated}
  - {platform: linux/arm64, dockerfile: Dockerfile.emulated}'
imagebuild broken broken v1.0.0 0 "" '  - {platform: linux/amd64, dockerfile: Dockerfile.broken}'
imagebuild bad-git bad-git 0000000000000000000000000000000000000bad 0 "" '  - {platform: linux/amd64, dockerfile: Dockerfile.amd64}'
imagebuild bad-branch bad-branch no-such-branch 3 "" '  - {platform: linux/amd64, dockerfile: Dockerfile.amd64}'

get() { kc -n ci get imagebuild "$1" -o jsonpath="$2"; }

# --- one commit per build: once app's and emulated's revision main is resolved, main moves on in
# both repositories; the second attempts (arm64's, emulated's) fetch after the move, and every
# platform still builds the resolved commit.
commit_of() {  # commit_of NAME: status.source.commit, waited for
  local c=""
  for _ in $(seq 1 120); do
    c=$(get "$1" '{.status.source.commit}' 2>/dev/null || true)
    [[ -n $c ]] && break
    sleep 0.5
  done
  echo "$c"
}
resolved=$(commit_of app)
[[ $resolved == "$(git -C "$src" rev-parse main)" ]] || fail "app: status.source.commit is '$resolved', not main's $(git -C "$src" rev-parse main)"
[[ $(commit_of emulated) == "$resolved" ]] || fail "emulated: status.source.commit is '$(commit_of emulated)', not $resolved"
echo "moved on" >"$src/MOVED"
git -C "$src" add MOVED
git -C "$src" -c user.name=e2e -c user.email=e2e@localhost commit -q -m "main moves on during the build"
git -C "$src" push -q "$RIG_GIT_ROOT/app.git" main
git -C "$src" push -q "$RIG_GIT_ROOT/v0.git" main
moved=$(git -C "$src" rev-parse main)
ok "app: revision main resolved to $resolved; main moved on to $moved during the build"
wait_phase() {  # wait_phase NAME PHASE SECONDS
  local deadline=$(( $(date +%s) + $3 )) p
  while :; do
    p=$(get "$1" '{.status.phase}' 2>/dev/null || true)
    [[ $p == "$2" ]] && return 0
    [[ $p == Succeeded || $p == Failed ]] && fail "$1 ended $p, not $2: $(get "$1" '{.status.platforms}')"
    (( $(date +%s) < deadline )) || fail "$1 is '$p', not $2 after $3 s"
    sleep 2
  done
}
plat() { get "$1" "{.status.platforms[?(@.platform==\"linux/$2\")].$3}"; }

# --- failures first (they end quickly): each is named in the platform's status message
wait_phase broken Failed 240
m=$(plat broken amd64 message)
[[ $m == *RUNN* || $m == *"unknown instruction"* ]] || fail "broken: the platform's message does not name the Dockerfile error: $m"
ok "a broken Dockerfile is named in the platform's message: $(head -c 160 <<<"$m")"
wait_phase bad-git Failed 240
m=$(plat bad-git amd64 message)
[[ $m == *"init container source"*0000000000000000000000000000000000000bad* ]] || fail "bad-git: the platform's message does not name the failed fetch: $m"
ok "a failed git fetch is named in the platform's message: $(head -c 160 <<<"$m")"

wait_phase bad-branch Failed 120
m=$(get bad-branch '{.status.conditions[?(@.type=="Ready")].message}')
[[ $m == *"cannot resolve revision no-such-branch"*"no branch, tag or ref of the repository"* ]] ||
  fail "bad-branch: the build's message does not name the missing revision: $m"
[[ $(kc -n ci get pods -l imagebuild.io/name=bad-branch,imagebuild.io/role=build -o name | wc -l) == 0 ]] ||
  fail "bad-branch: build pods were created for a revision that does not exist"
[[ $(kc -n ci get pods -l imagebuild.io/name=bad-branch,imagebuild.io/role=resolve -o name | wc -l) == 1 ]] ||
  fail "bad-branch: a revision that does not exist was resolved more than once (retries: 3)"
ok "a branch the server lacks fails the build at once, without retries or build pods: $(head -c 120 <<<"$m")"

# --- app: both platforms, arm64 retried
kc -n ci wait --for=condition=Ready imagebuild/app --timeout=420s >/dev/null || fail "app did not become Ready within 420 s"
[[ $(plat app amd64 nodeName) == ibo-amd64 ]] || fail "app amd64 built on '$(plat app amd64 nodeName)'"
[[ $(plat app arm64 nodeName) == ibo-arm64 ]] || fail "app arm64 built on '$(plat app arm64 nodeName)'"
[[ $(plat app arm64 attempt) == 2 ]] || fail "app arm64 ended at attempt $(plat app arm64 attempt), not 2"
[[ $(plat app amd64 attempt) == 1 ]] || fail "app amd64 ended at attempt $(plat app amd64 attempt), not 1"
ev=$(kc -n ci get events --field-selector involvedObject.name=app -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}')
# An event's message spans lines (the build's log tail): one line per event, for the match.
ev=$(kc -n ci get events --field-selector involvedObject.name=app -o json |
  jq -r '.items[] | .reason + ": " + (.message | gsub("\n"; " | "))')
grep -E '^BuildFailed: linux/arm64: attempt 1 failed: .*wget: server returned error: HTTP/1.0 503' <<<"$ev" >/dev/null ||
  fail "no BuildFailed event naming arm64's first attempt: $ev"
ok "app: amd64 on ibo-amd64 (attempt 1), arm64 on ibo-arm64 (attempt 2); event: $(grep -m1 '^BuildFailed: linux/arm64' <<<"$ev" | grep -o 'attempt 1 failed.*' | head -c 60) ... $(grep -m1 '^BuildFailed: linux/arm64' <<<"$ev" | grep -o 'wget: server returned[^|]*')"

# The merge pod ran the operator image.
merge_image=$(kc -n ci get pods -l imagebuild.io/role=merge -o jsonpath='{range .items[*]}{.spec.containers[0].image} {.status.phase}{"\n"}{end}' | sort -u)
grep -qx "$RIG_IMAGE_OPERATOR Succeeded" <<<"$merge_image" || fail "merge pods: $merge_image"
ok "the merge pod ran $RIG_IMAGE_OPERATOR"

# image_layers REF PLATFORM DEST: copies PLATFORM's image of REF into DEST (dir: layout)
copy_platform() {
  "$RIG_EXEC" skopeo copy -q --override-os linux --override-arch "$2" --src-tls-verify=false \
    --src-creds "$RIG_REGISTRY_USER:$RIG_REGISTRY_PASSWORD" "docker://$1" "dir:$3" || fail "cannot copy $1 for $2"
}
file_in_layers() {  # file_in_layers DIR PATH: the last layer's copy of PATH
  local d=$1 f=$2 out="" l got
  for l in $(jq -r '.layers[].digest' "$d/manifest.json"); do
    if got=$(tar -xzOf "$d/${l#sha256:}" "$f" 2>/dev/null); then out=$got; fi
  done
  printf '%s' "$out"
}
# built_as WHAT ARCH DIR: the image copied to DIR says linux/ARCH in its config and its RUN layer
# holds what `uname -m` says there (x86_64, aarch64); sets platform and written for messages.
built_as() {
  local want cfg
  want=$([[ $2 == amd64 ]] && echo x86_64 || echo aarch64)
  cfg=$(jq -r .config.digest "$3/manifest.json")
  platform=$(jq -r '.os + "/" + .architecture' "$3/${cfg#sha256:}")
  written=$(file_in_layers "$3" arch)
  [[ $platform == linux/$2 && $written == "$want" ]] || fail "$1 $2: config says $platform, the RUN layer holds '$written'"
}
layer_of() {  # layer_of DIR PATH: the digest of the layer that holds PATH
  local d=$1 f=$2 l
  for l in $(jq -r '.layers[].digest' "$d/manifest.json"); do
    if tar -tzf "$d/${l#sha256:}" 2>/dev/null | grep -x "$f" >/dev/null; then echo "$l"; fi
  done
  return 0
}
index=$("$RIG_EXEC" skopeo inspect --raw "${creds[@]}" "docker://$RIG_REGISTRY/e2e/app:v1.0.0") || fail "no app:v1.0.0"
index_digest=sha256:$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)
[[ $(get app '{.status.manifest.digest}') == "$index_digest" ]] || fail "status.manifest.digest is not the pushed index's"
for tag in v1.0.0 v1.0 latest main; do
  d=$("$RIG_EXEC" skopeo inspect --raw "${creds[@]}" "docker://$RIG_REGISTRY/e2e/app:$tag" | sha256sum | cut -d' ' -f1)
  [[ sha256:$d == "$index_digest" ]] || fail "app:$tag is not the index $index_digest"
done
declare -A random_layer
for arch in amd64 arm64; do
  digest=$(plat app "$arch" digest)
  jq -e --arg a "$arch" --arg d "$digest" '.manifests[] | select(.platform.architecture == $a and .digest == $d)' <<<"$index" >/dev/null ||
    fail "the index has no $arch entry $digest: $index"
  d=$work/app-$arch
  copy_platform "$RIG_REGISTRY/e2e/app@$digest" "$arch" "$d"
  built_as app "$arch" "$d"
  for l in $(jq -r '.layers[].digest' "$d/manifest.json"); do
    # grep without -q reads to the end: tar is not cut off by a closed pipe (pipefail).
    if tar -xzOf "$d/${l#sha256:}" 2>/dev/null | grep -aF "$secret_value" >/dev/null; then
      fail "app $arch: layer $l holds the build secret"
    fi
  done
  [[ -n $(file_in_layers "$d" token.sha256) ]] || fail "app $arch: the secret's RUN step wrote nothing"
  random_layer[$arch]=$(layer_of "$d" random)
  [[ -n ${random_layer[$arch]} ]] || fail "app $arch: no layer holds /random"
  ok "app $arch: $digest, config $platform, RUN wrote '$written', the secret used and in no layer"
done
ok "skopeo reads the index $index_digest back under v1.0.0, v1.0, latest and main"

# --- OCI metadata: every platform image (config labels, manifest annotations) and the index
started=$(get app '{.status.startTime}')
want_meta() {  # want_meta WHAT JSON-OBJECT: the operator's keys and the user's
  local what=$1 got=$2 k v
  for kv in "org.opencontainers.image.source=$git_url" "org.opencontainers.image.revision=$resolved" \
            "org.opencontainers.image.version=v1.0.0" "org.opencontainers.image.created=$started" "$3"; do
    k=${kv%%=*} v=${kv#*=}
    [[ $(jq -r --arg k "$k" '.[$k] // ""' <<<"$got") == "$v" ]] || fail "$what: $k is '$(jq -r --arg k "$k" '.[$k] // ""' <<<"$got")', not '$v'"
  done
}
for arch in amd64 arm64; do
  ref=$RIG_REGISTRY/e2e/app@$(plat app "$arch" digest)
  manifest=$("$RIG_EXEC" skopeo inspect --raw "${creds[@]}" "docker://$ref") || fail "no manifest $ref"
  config=$("$RIG_EXEC" skopeo inspect --config --raw "${creds[@]}" "docker://$ref") || fail "no config of $ref"
  want_meta "app $arch labels" "$(jq '.config.Labels // {}' <<<"$config")" "org.opencontainers.image.title=app"
  want_meta "app $arch manifest annotations" "$(jq '.annotations // {}' <<<"$manifest")" "com.example.team=e2e"
done
want_meta "app's index annotations" "$(jq '.annotations // {}' <<<"$index")" "com.example.team=e2e"
[[ $(get app '{.status.source.commit}') == "$resolved" && $(git --git-dir "$RIG_GIT_ROOT/app.git" rev-parse main) == "$moved" ]] ||
  fail "app: status.source.commit changed, or main did not move"
checked_out() {  # checked_out NAME: each build pod's checked-out commit, with how it fetched it
  local pod log
  for pod in $(kc -n ci get pods -l "imagebuild.io/name=$1,imagebuild.io/role=build" -o name); do
    log=$(kc -n ci logs "$pod" -c source 2>&1) || fail "no source log of $pod"
    echo "$(tail -n1 <<<"$log") $([[ $log == *"does not serve commits by id"* ]] && echo deeper || echo by-id)"
  done
}
got=$(checked_out app)
[[ $(wc -l <<<"$got") == 3 && $(cut -d' ' -f1 <<<"$got" | sort -u) == "$resolved" ]] ||
  fail "app's three build pods (amd64, arm64 twice) did not all check out $resolved: $got"
ok "app: both platforms and arm64's retry built $resolved (main is at $moved now), fetched by id over smart HTTP"
ok "app: labels and annotations org.opencontainers.image.{source,revision,version,created} and the user's, on both images and the index"

# --- app is signed: the signature manifest at sha256-<hex>.sig, its payload verified by openssl
"$RIG_EXEC" skopeo inspect --raw "${creds[@]}" "docker://$RIG_REGISTRY/e2e/app:sha256-${index_digest#sha256:}.sig" \
  >"$work/app.sig" || fail "app: no signature manifest sha256-<index>.sig"
[[ $(get app '{.status.manifest.signature.digest}') == "sha256:$(sha256sum <"$work/app.sig" | cut -d' ' -f1)" ]] ||
  fail "status.manifest.signature.digest is not the signature manifest's"
fp="sha256:$(openssl pkey -pubin -in "$work/cosign.pub" -outform DER | sha256sum | cut -d' ' -f1)"
[[ $(get app '{.status.manifest.signature.keyFingerprint}') == "$fp" ]] || fail "status.manifest.signature.keyFingerprint is not $fp"
payload=$(jq -r '.layers[0].digest' "$work/app.sig")
"$RIG_EXEC" skopeo copy -q --src-tls-verify=false --src-creds "$RIG_REGISTRY_USER:$RIG_REGISTRY_PASSWORD" \
  "docker://$RIG_REGISTRY/e2e/app:sha256-${index_digest#sha256:}.sig" "dir:$work/app-sig" || fail "cannot copy the signature"
jq -r '.layers[0].annotations["dev.cosignproject.cosign/signature"]' "$work/app.sig" | base64 -d >"$work/app.sig.der"
openssl dgst -sha256 -verify "$work/cosign.pub" -signature "$work/app.sig.der" "$work/app-sig/${payload#sha256:}" >/dev/null ||
  fail "app: the signature does not verify with the public key"
jq -e --arg d "$index_digest" --arg r "$RIG_REGISTRY/e2e/app" '.critical.image["docker-manifest-digest"] == $d and
  .critical.identity["docker-reference"] == $r' "$work/app-sig/${payload#sha256:}" >/dev/null || fail "app: the payload names another image"
for p in $(kc -n ci get pods -l imagebuild.io/role=build -o jsonpath='{.items[*].metadata.name}'); do
  kc -n ci get pod "$p" -o json | grep -q release-key && fail "build pod $p mounts the signing key"
done
ok "app is signed: sha256-<index>.sig verifies with the key's public half, status.manifest.signature names it and $fp"

# --- the cache: the same source again, in fresh pods: the random RUN step's layer is reused
imagebuild app-again app-again v1.0.0 0 "$app_extra" "$both"
kc -n ci wait --for=condition=Ready imagebuild/app-again --timeout=300s >/dev/null || fail "app-again did not become Ready"
for arch in amd64 arm64; do
  d=$work/again-$arch
  copy_platform "$RIG_REGISTRY/e2e/app-again@$(plat app-again "$arch" digest)" "$arch" "$d"
  l=$(layer_of "$d" random)
  [[ $l == "${random_layer[$arch]}" ]] || fail "cache: $arch's random layer is $l in the second build, ${random_layer[$arch]} in the first"
  ok "cache: $arch's random RUN layer is the same in a second build in a fresh pod ($l)"
done

# --- emulation: Always: one pod builds both platforms
kc -n ci wait --for=condition=Ready imagebuild/emulated --timeout=300s >/dev/null || fail "emulated did not become Ready"
for arch in amd64 arm64; do
  d=$work/emulated-$arch
  copy_platform "$RIG_REGISTRY/e2e/emulated:v1.0.0" "$arch" "$d"
  built_as emulated "$arch" "$d"
done
pods=$(kc -n ci get pods -l imagebuild.io/role=build,imagebuild.io/name=emulated -o name | wc -l)
# One pod per attempt builds both platforms: the first attempt failed (the flaky endpoint).
[[ $pods == 2 && $(plat emulated amd64 attempt) == 2 && $(plat emulated arm64 attempt) == 2 ]] ||
  fail "emulated: $pods build pods, attempts $(plat emulated amd64 attempt)/$(plat emulated arm64 attempt), not 2 pods for attempt 2"
got=$(checked_out emulated)
[[ $(wc -l <<<"$got") == 2 && $(cut -d' ' -f1 <<<"$got" | sort -u) == "$resolved" && $got == *"$resolved deeper"* ]] ||
  fail "emulated: its two attempts did not both check out $resolved, the second by fetching main deeper: $got"
ok "emulated (git://, protocol v0, no commits by id): both attempts built $resolved, the one after the move by fetching main deeper"
ok "emulation: Always: one build pod per attempt, the index's amd64 and arm64 images say x86_64 and aarch64 (the commit fetched by id)"

say "all checks passed (rig start $rig_secs s)"
