#!/usr/bin/env bash
# `imagebuild-operator merge` against the real docker-registry on loopback, in four
# configurations started here: no auth, htpasswd Basic auth, token auth (with the test token
# server) and TLS with a generated CA. skopeo, an independent client, reads back what was pushed.
#   merge_test.sh TOKEN_SERVER_BINARY      (run through ctest: needs IBO_OPERATOR_BINARY, IBO_TEST_INFRA)
set -euo pipefail
token_server_bin=${1:?usage: merge_test.sh TOKEN_SERVER_BINARY}
operator=${IBO_OPERATOR_BINARY:?run through ctest}
infra=${IBO_TEST_INFRA:?run through ctest}
tmp=$(mktemp -d)
token_pid=""
cleanup() {
  for d in plain basic token tls; do "$infra/registry.sh" stop "$tmp/$d" 2>/dev/null || true; done
  [[ -n $token_pid ]] && kill "$token_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
# shellcheck source=../../infra/free-port.sh
source "$infra/free-port.sh"

# ---- the registries --------------------------------------------------------------------------
plain=$("$infra/registry.sh" start "$tmp/plain") || fail "plain registry did not start"

mkdir -p "$tmp/certs"  # what skopeo trusts (--cert-dir): only the CA certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=ibo-test-ca \
  -keyout "$tmp/ca.key" -out "$tmp/certs/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
  -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tmp/server.ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/certs/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial -CAserial "$tmp/ca.srl" \
  -days 1 -extfile "$tmp/server.ext" -out "$tmp/server.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=ibo-test-token-signer \
  -keyout "$tmp/token.key" -out "$tmp/token.crt" 2>/dev/null
htpasswd -Bbc "$tmp/htpasswd" robot basic-secret 2>/dev/null

# Every registry serves the same storage, so the inputs are pushed once, through the plain one.
for d in basic token tls; do mkdir -p "$tmp/$d"; ln -s "$tmp/plain/storage" "$tmp/$d/storage"; done
basic=$("$infra/registry.sh" start "$tmp/basic" --htpasswd "$tmp/htpasswd") || fail "basic-auth registry did not start"
token_port=$(free_port)
"$token_server_bin" --listen "http://127.0.0.1:$token_port" --key "$tmp/token.key" --cert "$tmp/token.crt" \
  --issuer ibo-test-issuer --user builder --password token-secret >"$tmp/token.log" 2>&1 &
token_pid=$!
token=$("$infra/registry.sh" start "$tmp/token" \
  --token "http://127.0.0.1:$token_port/token" ibo-test-registry ibo-test-issuer "$tmp/token.crt") ||
  fail "token-auth registry did not start"
tls=$("$infra/registry.sh" start "$tmp/tls" --tls "$tmp/server.crt" "$tmp/server.key") || fail "TLS registry did not start"
for _ in $(seq 1 50); do grep -q listening "$tmp/token.log" && break; sleep 0.1; done
grep -q listening "$tmp/token.log" || fail "token server did not start: $(cat "$tmp/token.log")"

# ---- the inputs, pushed once through the plain registry (see registry-fixtures.sh) -------------
repos=(ibo/oci ibo/docker ibo/buildkit ibo/emulated ibo/refused ibo/basic ibo/token ibo/tls ibo/release)
fixtures=$("$infra/registry-fixtures.sh" "$plain" "${repos[@]}") || fail "cannot push the test images"
eval "$fixtures"
OCI_I=application/vnd.oci.image.index.v1+json
DOCKER_M=application/vnd.docker.distribution.manifest.v2+json

# ---- helpers to run the merge and check with skopeo -------------------------------------------
echo '{"auths":{}}' >"$tmp/no-auth.json"
run_merge() {  # run_merge NAME ARGS...: exit code in $tmp/NAME.rc, output in $tmp/NAME.out / .err
  local name=$1; shift
  set +e
  timeout 60 "$operator" merge --termination-log "$tmp/$name.log" --timeout 20 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  echo $? >"$tmp/$name.rc"
  set -e
}
expect_success() {  # expect_success NAME: prints the index digest
  [[ $(cat "$tmp/$1.rc") == 0 ]] || fail "$1: exit $(cat "$tmp/$1.rc"): $(cat "$tmp/$1.err")"
  local digest; digest=$(tail -n1 "$tmp/$1.out")
  [[ $digest =~ ^sha256:[a-f0-9]{64}$ ]] || fail "$1: last line is not a digest: $digest"
  [[ $(cat "$tmp/$1.log") == "$digest" ]] || fail "$1: termination log holds '$(cat "$tmp/$1.log")'"
  echo "$digest"
}
expect_failure() {  # expect_failure NAME PATTERN: exit non-zero, one stderr line matching PATTERN
  [[ $(cat "$tmp/$1.rc") != 0 ]] || fail "$1: succeeded but should not have"
  [[ $(wc -l <"$tmp/$1.err") == 1 ]] || fail "$1: expected one error line, got: $(cat "$tmp/$1.err")"
  grep -qE -- "$2" "$tmp/$1.err" || fail "$1: error '$(cat "$tmp/$1.err")' does not match '$2'"
  pass "$1: $(cat "$tmp/$1.err")"
}
# skopeo_check NAME REGISTRY REPO DIGEST MEDIATYPE TAG... [-- SKOPEO ARGS]: digest and every tag
# read back byte-identical, hashing to DIGEST, of the media type expected.
skopeo_check() {
  local name=$1 reg=$2 repo=$3 digest=$4 type=$5; shift 5
  local tags=() args=(--tls-verify=false)
  while (($#)); do [[ $1 == -- ]] && { shift; args=("$@"); break; }; tags+=("$1"); shift; done
  timeout 30 skopeo inspect --raw "${args[@]}" "docker://$reg/$repo@$digest" >"$tmp/$name.raw" ||
    fail "$name: skopeo cannot read $digest"
  [[ $(sha "$tmp/$name.raw") == "$digest" ]] || fail "$name: skopeo read bytes of another digest"
  grep -q "\"mediaType\":\"$type\"" "$tmp/$name.raw" || fail "$name: index is not $type: $(cat "$tmp/$name.raw")"
  for tag in "${tags[@]}"; do
    timeout 30 skopeo inspect --raw "${args[@]}" "docker://$reg/$repo:$tag" >"$tmp/$name.tag" ||
      fail "$name: skopeo cannot read tag $tag"
    cmp -s "$tmp/$name.tag" "$tmp/$name.raw" || fail "$name: tag $tag holds different bytes"
  done
}
absent() {  # absent REGISTRY REPO TAG [SKOPEO ARGS...]: the tag was never pushed
  local reg=$1 repo=$2 tag=$3; shift 3
  if timeout 30 skopeo inspect --raw --tls-verify=false "$@" "docker://$reg/$repo:$tag" >/dev/null 2>&1; then
    fail "tag $repo:$tag was pushed although the merge failed"
  fi
}
manifests_in() { grep -o '"digest":"sha256:[a-f0-9]*"' "$1" | cut -d'"' -f4 | tr '\n' ' '; }

# ---- no auth ----------------------------------------------------------------------------------
plain_flags=(--insecure-registry "$plain" --registry-config "$tmp/no-auth.json")
run_merge oci --repository "$plain/ibo/oci" "${plain_flags[@]}" --platform-digest "linux/amd64=$AMD" \
  --platform-digest "linux/arm64=$ARM" --tag v1.4.2 --tag v1.4 --tag latest
oci=$(expect_success oci)
skopeo_check oci "$plain" ibo/oci "$oci" "$OCI_I" v1.4.2 v1.4 latest
[[ $(manifests_in "$tmp/oci.raw") == "$AMD $ARM " ]] || fail "oci: entries $(manifests_in "$tmp/oci.raw")"
grep -q '"platform":{"architecture":"arm64","os":"linux","variant":"v8"}' "$tmp/oci.raw" ||
  fail "oci: the arm64 platform is not taken from its config: $(cat "$tmp/oci.raw")"
pass "OCI inputs: index $oci under 3 tags, read back by skopeo"

run_merge rerun --repository "$plain/ibo/oci" "${plain_flags[@]}" --platform-digest "linux/arm64/v8=$ARM" \
  --platform-digest "linux/amd64=$AMD" --tag latest --tag v1.4 --tag v1.4.2
[[ $(expect_success rerun) == "$oci" ]] || fail "rerun: another digest"
[[ $(grep -c '^unchanged' "$tmp/rerun.out") == 3 ]] || fail "rerun: changed tags: $(cat "$tmp/rerun.out")"
pass "rerun in another flag order: same digest, nothing pushed"

run_merge docker --repository "$plain/ibo/docker" "${plain_flags[@]}" --platform-digest "linux/amd64=$D_AMD" \
  --platform-digest "linux/arm64=$D_ARM" --tag v2
skopeo_check docker "$plain" ibo/docker "$(expect_success docker)" "$OCI_I" v2
grep -q "\"mediaType\":\"$DOCKER_M\"" "$tmp/docker.raw" || fail "docker: the entries are not Docker schema 2"
pass "Docker schema 2 inputs: an OCI index of them, which can carry annotations"

# ---- floating tags never move backwards (judged by the index's version annotation) ------------
release() {  # release NAME VERSION DIGEST FLOATING...
  local name=$1 version=$2 digest=$3; shift 3
  local floating=(); for t in "$@"; do floating+=(--floating-tag "$t"); done
  run_merge "$name" --repository "$plain/ibo/release" "${plain_flags[@]}" --platform-digest "linux/amd64=$digest" \
    --tag "$version" --version "$version" --annotation "org.opencontainers.image.version=$version" "${floating[@]}"
  [[ $(cat "$tmp/$name.rc") == 0 ]] || fail "$name: exit $(cat "$tmp/$name.rc"): $(cat "$tmp/$name.err")"
  tail -n1 "$tmp/$name.out"
}
newer=$(release rel_newer v1.4.2 "$AMD" v1 latest)
timeout 30 skopeo inspect --raw --tls-verify=false "docker://$plain/ibo/release:latest" >"$tmp/rel.raw"
grep -q '"org.opencontainers.image.version":"v1.4.2"' "$tmp/rel.raw" || fail "release: the index has no version annotation"
older=$(release rel_older v1.3.9 "$D_AMD" v1.3 v1 latest)
[[ $older != "$newer" ]] || fail "release: the older release built the same index"
for tag in v1 latest; do
  [[ $(sha <(timeout 30 skopeo inspect --raw --tls-verify=false "docker://$plain/ibo/release:$tag")) == "$newer" ]] ||
    fail "release: $tag moved back to v1.3.9"
done
[[ $(sha <(timeout 30 skopeo inspect --raw --tls-verify=false "docker://$plain/ibo/release:v1.3")) == "$older" ]] ||
  fail "release: v1.3 did not move"
grep -qx "held latest holds v1.4.2, newer than v1.3.9" "$tmp/rel_older.log" ||
  fail "release: the termination log does not say latest was held: $(cat "$tmp/rel_older.log")"
[[ $(head -n1 "$tmp/rel_older.log") == "$older" ]] || fail "release: the report does not start with the digest"
again=$(release rel_same v1.4.2 "$D_AMD" v1 latest)
[[ $(sha <(timeout 30 skopeo inspect --raw --tls-verify=false "docker://$plain/ibo/release:latest")) == "$again" ]] ||
  fail "release: an equal version did not move latest"
pass "floating tags: v1.3.9 after v1.4.2 leaves v1 and latest, held with the reason; an equal version moves them"

run_merge buildkit --repository "$plain/ibo/buildkit" "${plain_flags[@]}" \
  --platform-digest "linux/amd64=$BUILDKIT" --platform-digest "linux/arm64=$ARM" --tag v3
skopeo_check buildkit "$plain" ibo/buildkit "$(expect_success buildkit)" "$OCI_I" v3
[[ $(manifests_in "$tmp/buildkit.raw") == "$AMD $ARM $ATT " ]] || fail "buildkit: entries $(manifests_in "$tmp/buildkit.raw")"
grep -q "\"vnd.docker.reference.digest\":\"$AMD\"" "$tmp/buildkit.raw" || fail "buildkit: attestation annotation lost"
pass "BuildKit index input: its platform manifest taken, attestation kept"

run_merge emulated --repository "$plain/ibo/emulated" "${plain_flags[@]}" \
  --platform-digest "linux/amd64=$EMULATED" --platform-digest "linux/arm64=$EMULATED" --tag v4
skopeo_check emulated "$plain" ibo/emulated "$(expect_success emulated)" "$OCI_I" v4
[[ $(manifests_in "$tmp/emulated.raw") == "$AMD $ARM " ]] || fail "emulated: entries $(manifests_in "$tmp/emulated.raw")"
pass "one multi-platform index for both platforms: re-indexed"

run_merge wrong_arch --repository "$plain/ibo/refused" "${plain_flags[@]}" \
  --platform-digest "linux/amd64=$AMD" --platform-digest "linux/arm64=$AMD" --tag wrong
expect_failure wrong_arch "^merge: platform linux/arm64: manifest $AMD is built for linux/amd64, not linux/arm64$"
absent "$plain" ibo/refused wrong

run_merge missing --repository "$plain/ibo/refused" "${plain_flags[@]}" \
  --platform-digest "linux/amd64=$AMD" --platform-digest "linux/arm64=$MISSING" --tag missing
expect_failure missing "^merge: platform linux/arm64: manifest $MISSING: not found"
absent "$plain" ibo/refused missing

dead_port=$(free_port)
run_merge unreachable --repository "127.0.0.1:$dead_port/ibo/oci" --insecure-registry "127.0.0.1:$dead_port" \
  --registry-config "$tmp/no-auth.json" --platform-digest "linux/amd64=$AMD" --tag v1
expect_failure unreachable "^merge: registry 127.0.0.1:$dead_port is unreachable"

# ---- htpasswd Basic auth ----------------------------------------------------------------------
printf '{"auths":{"%s":{"auth":"%s"}}}' "$basic" "$(printf 'robot:basic-secret' | base64 -w0)" >"$tmp/basic.json"
printf '{"auths":{"http://%s":{"username":"robot","password":"wrong-secret"}}}' "$basic" >"$tmp/basic-bad.json"
run_merge basic_bad --repository "$basic/ibo/basic" --insecure-registry "$basic" --registry-config "$tmp/basic-bad.json" \
  --platform-digest "linux/amd64=$AMD" --platform-digest "linux/arm64=$ARM" --tag v5
expect_failure basic_bad "refused the credentials"
grep -q wrong-secret "$tmp/basic_bad.err" && fail "basic_bad: the password is in the error"
absent "$basic" ibo/basic v5 --creds robot:basic-secret
run_merge basic --repository "$basic/ibo/basic" --insecure-registry "$basic" --registry-config "$tmp/basic.json" \
  --platform-digest "linux/amd64=$AMD" --platform-digest "linux/arm64=$ARM" --tag v5 --tag latest
skopeo_check basic "$basic" ibo/basic "$(expect_success basic)" "$OCI_I" v5 latest -- --tls-verify=false --creds robot:basic-secret
pass "htpasswd Basic auth: pushed; wrong password refused, nothing pushed"

# ---- token auth (Bearer) ----------------------------------------------------------------------
printf '{"auths":{"%s":{"username":"builder","password":"token-secret"}}}' "$token" >"$tmp/token.json"
printf '{"auths":{"%s":{"username":"builder","password":"not-it"}}}' "$token" >"$tmp/token-bad.json"
run_merge token_bad --repository "$token/ibo/token" --insecure-registry "$token" --registry-config "$tmp/token-bad.json" \
  --platform-digest "linux/amd64=$AMD" --tag v6
expect_failure token_bad "token service of registry $token refused the credentials"
absent "$token" ibo/token v6 --creds builder:token-secret
run_merge token --repository "$token/ibo/token" --insecure-registry "$token" --registry-config "$tmp/token.json" \
  --platform-digest "linux/amd64=$BUILDKIT" --platform-digest "linux/arm64=$ARM" --tag v6 --tag latest
skopeo_check token "$token" ibo/token "$(expect_success token)" "$OCI_I" v6 latest -- --tls-verify=false --creds builder:token-secret
pass "token auth: Bearer flow against the real registry; bad credentials refused"

# ---- TLS with a generated CA ------------------------------------------------------------------
run_merge tls_untrusted --repository "$tls/ibo/tls" --registry-config "$tmp/no-auth.json" \
  --platform-digest "linux/amd64=$AMD" --tag v7
expect_failure tls_untrusted "^merge: registry $tls is unreachable"
run_merge tls --repository "$tls/ibo/tls" --ca-file "$tmp/certs/ca.crt" --registry-config "$tmp/no-auth.json" \
  --platform-digest "linux/amd64=$AMD" --platform-digest "linux/arm64=$ARM" --tag v7
skopeo_check tls "$tls" ibo/tls "$(expect_success tls)" "$OCI_I" v7 -- --cert-dir "$tmp/certs"
pass "TLS with a generated CA: verified connection; untrusted without --ca-file"

echo "merge: all checks passed"
