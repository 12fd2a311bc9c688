#!/usr/bin/env bash
# `imagebuild-operator merge --signing-key` against the real docker-registry on loopback, with keys
# made here by openssl. Every signature is checked by code that is not ours:
#   - verify(): curl, openssl and jq, following containers/image's sigstoreSigned rules with
#     use-sigstore-attachments (the signature manifest at sha256-<hex>.sig, a simple-signing layer
#     whose blob hashes to its digest, the base64 DER ECDSA-SHA256 annotation verified against the
#     public key, the payload's exact fields naming the digest and the repository), for the
#     index and every manifest it lists, as `skopeo copy --all` checks them;
#   - skopeo copy --all with a policy.json of type sigstoreSigned and registries.d
#     use-sigstore-attachments: true. Debian's skopeo 1.9 is built with sigstore verification
#     patched out ("Debian-local change: sigstore disabled"); there the test checks what that
#     skopeo still does (it finds our signatures, and finds none on an unsigned index) and says
#     so. A skopeo with sigstore gets the whole matrix: accepts by tag and by digest, refuses an
#     unsigned index, another key's and a payload naming another digest.
#   sign_test.sh      (run through ctest: needs IBO_OPERATOR_BINARY, IBO_TEST_INFRA)
set -euo pipefail
operator=${IBO_OPERATOR_BINARY:?run through ctest}
infra=${IBO_TEST_INFRA:?run through ctest}
w=$(mktemp -d)
cleanup() { "$infra/registry.sh" stop "$w/reg" 2>/dev/null || true; rm -rf "$w"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
OCI_M=application/vnd.oci.image.manifest.v1+json OCI_I=application/vnd.oci.image.index.v1+json
DOCKER_M=application/vnd.docker.distribution.manifest.v2+json
SIMPLE=application/vnd.dev.cosign.simplesigning.v1+json

reg=$("$infra/registry.sh" start "$w/reg") || fail "registry did not start"
eval "$("$infra/registry-fixtures.sh" "$reg" ibo/signed ibo/other)" || fail "cannot push the test images"

# ---- keys, made by openssl: A as PKCS#8, B as SEC1 ("EC PRIVATE KEY") ------------------------
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$w/a.key" 2>/dev/null
openssl pkey -in "$w/a.key" -pubout -out "$w/a.pub"
openssl ecparam -name prime256v1 -genkey -noout -out "$w/b.key" 2>/dev/null
openssl pkey -in "$w/b.key" -pubout -out "$w/b.pub"
grep -q "BEGIN PRIVATE KEY" "$w/a.key" && grep -q "BEGIN EC PRIVATE KEY" "$w/b.key" || fail "openssl made other key forms"
fingerprint() { echo "sha256:$(openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1)"; }
echo '{"auths":{}}' >"$w/no-auth.json"

run_merge() {  # run_merge NAME REPO KEY|- ARGS...: exit code in $w/NAME.rc, output in NAME.out/.err/.log
  local name=$1 repo=$2 key=$3; shift 3
  local signing=(); [[ $key != - ]] && signing=(--signing-key "$key")
  set +e
  timeout 60 "$operator" merge --repository "$reg/$repo" --insecure-registry "$reg" --registry-config "$w/no-auth.json" \
    --termination-log "$w/$name.log" --timeout 20 "${signing[@]}" "$@" >"$w/$name.out" 2>"$w/$name.err"
  echo $? >"$w/$name.rc"
  set -e
  [[ $(cat "$w/$name.rc") == 0 ]] || return 0
  tail -n1 "$w/$name.out"
}
ok_merge() { [[ $(cat "$w/$1.rc") == 0 ]] || fail "$1: exit $(cat "$w/$1.rc"): $(cat "$w/$1.err")"; }

# ---- the independent verifier ----------------------------------------------------------------
get() { curl -sf -H "Accept: $OCI_I, $OCI_M, $DOCKER_M" "http://$reg/v2/$1"; }
verify_one() {  # verify_one REPO DIGEST PUB: 0 when a layer of its signature manifest is accepted; else why
  local repo=$1 digest=$2 pub=$3 why="" n i blob
  get "$repo/manifests/sha256-${digest#sha256:}.sig" >"$w/v.sig" || { echo "no signature exists for $digest"; return 1; }
  n=$(jq '.layers | length' "$w/v.sig")
  for ((i = 0; i < n; i++)); do
    [[ $(jq -r ".layers[$i].mediaType" "$w/v.sig") == "$SIMPLE" ]] || continue
    blob=$(jq -r ".layers[$i].digest" "$w/v.sig")
    get "$repo/blobs/$blob" >"$w/v.payload" && [[ $(sha "$w/v.payload") == "$blob" ]] || { why="payload blob $blob is unreadable"; continue; }
    jq -r ".layers[$i].annotations[\"dev.cosignproject.cosign/signature\"] // \"\"" "$w/v.sig" | base64 -d >"$w/v.der" 2>/dev/null || true
    if ! openssl dgst -sha256 -verify "$pub" -signature "$w/v.der" "$w/v.payload" >/dev/null 2>&1; then
      why=${why:-"no signature by this key"}; continue
    fi
    if ! jq -e --arg d "$digest" --arg r "$reg/$repo" '(keys == ["critical", "optional"])
        and (.critical | keys == ["identity", "image", "type"]) and .critical.type == "cosign container image signature"
        and (.critical.image | keys == ["docker-manifest-digest"]) and .critical.image["docker-manifest-digest"] == $d
        and (.critical.identity | keys == ["docker-reference"]) and .critical.identity["docker-reference"] == $r' \
        "$w/v.payload" >/dev/null; then
      why="the payload names $(jq -r '.critical.image["docker-manifest-digest"]' "$w/v.payload"), not $digest"; continue
    fi
    return 0
  done
  echo "${why:-no simple-signing layer}"
  return 1
}
verify() {  # verify REPO TAG|DIGEST PUB: the manifest and, for an index, every manifest it lists
  local repo=$1 ref=$2 pub=$3 digest
  get "$repo/manifests/$ref" >"$w/v.top" || { echo "$ref: not found"; return 1; }
  digest=$(sha "$w/v.top")
  [[ $ref != sha256:* || $ref == "$digest" ]] || { echo "$ref: the registry served other bytes"; return 1; }
  verify_one "$repo" "$digest" "$pub" || return 1
  for child in $(jq -r '.manifests[]?.digest' "$w/v.top"); do verify_one "$repo" "$child" "$pub" || return 1; done
}
accepted() { local why; why=$(verify "$@") || fail "verify $*: refused: $why"; }
refused() {  # refused REPO REF PUB PATTERN
  local why; if why=$(verify "$1" "$2" "$3"); then fail "verify $1 $2: accepted, should be refused"; fi
  [[ $why =~ $4 ]] || fail "verify $1 $2: refused for '$why', expected '$4'"
  pass "refused $1@$2: $why"
}

# ---- skopeo, with a sigstoreSigned policy ------------------------------------------------------
printf '{"default":[{"type":"reject"}],"transports":{"docker":{"%s":[%s],"%s":[%s]}}}' \
  "$reg/ibo/signed" "{\"type\":\"sigstoreSigned\",\"keyPath\":\"$w/a.pub\",\"signedIdentity\":{\"type\":\"matchRepository\"}}" \
  "$reg/ibo/other" "{\"type\":\"sigstoreSigned\",\"keyPath\":\"$w/a.pub\",\"signedIdentity\":{\"type\":\"matchRepository\"}}" \
  >"$w/policy.json"
mkdir -p "$w/registries.d"
printf 'docker:\n  %s:\n    use-sigstore-attachments: true\n' "$reg" >"$w/registries.d/ibo-test.yaml"
skopeo_copy() {  # skopeo_copy NAME REF: the exit code; output in $w/NAME.skopeo
  rm -rf "$w/copy"
  set +e
  timeout 60 skopeo --policy "$w/policy.json" --registries.d "$w/registries.d" copy --all --src-tls-verify=false \
    "docker://$reg/$2" "dir:$w/copy" >"$w/$1.skopeo" 2>&1
  local rc=$?
  set -e
  return $rc
}
# What skopeo can say here: with sigstore, accept and refuse as asked; Debian's build (sigstore
# patched out) refuses everything, but says "no signature exists" only where none was found.
skopeo_mode=""
skopeo_expect() {  # skopeo_expect accept|refuse|refuse-unsigned REF
  local want=$1 ref=$2 name; name=$(echo "$2" | tr -c 'a-z0-9' _)
  if [[ -z $skopeo_mode ]]; then
    if skopeo_copy probe "ibo/signed:v1.0.0"; then skopeo_mode=sigstore
    elif grep -q "Debian-local change: sigstore disabled" "$w/probe.skopeo"; then skopeo_mode=debian
    else fail "skopeo refused the signed index: $(tail -2 "$w/probe.skopeo")"; fi
  fi
  if skopeo_copy "$name" "$ref"; then
    [[ $want == accept ]] || fail "skopeo accepted $ref"
    return 0
  fi
  case $skopeo_mode/$want in
    sigstore/accept) fail "skopeo refused $ref: $(tail -1 "$w/$name.skopeo")" ;;
    */refuse-unsigned) grep -q "A signature was required, but no signature exists" "$w/$name.skopeo" ||
      fail "skopeo refused unsigned $ref for: $(tail -1 "$w/$name.skopeo")" ;;
    debian/accept) grep -q "Debian-local change: sigstore disabled" "$w/$name.skopeo" ||
      fail "skopeo did not find the signatures of $ref: $(tail -1 "$w/$name.skopeo")" ;;
  esac
}

# ---- a signed release: the index, its platform images and BuildKit's attestation -------------
signed=$(run_merge signed ibo/signed "$w/a.key" --platform-digest "linux/amd64=$BUILDKIT" \
  --platform-digest "linux/arm64=$ARM" --tag v1.0.0 --tag latest)
ok_merge signed
[[ $(sed -n 1p "$w/signed.log") == "$signed" ]] || fail "signed: the report does not start with the digest"
read -r word sig_digest key_fp < <(sed -n 2p "$w/signed.log")
[[ $word == signature && $key_fp == $(fingerprint "$w/a.pub") ]] ||
  fail "signed: report line 2 is '$(sed -n 2p "$w/signed.log")', expected the signature and $(fingerprint "$w/a.pub")"
[[ $(sha <(get "ibo/signed/manifests/sha256-${signed#sha256:}.sig")) == "$sig_digest" ]] ||
  fail "signed: the reported signature digest is not the one at sha256-<hex>.sig"
grep -q "(4 signature manifests written)" "$w/signed.out" || fail "signed: $(cat "$w/signed.out")"
grep -q PRIVATE "$w/signed.out" "$w/signed.err" "$w/signed.log" && fail "key material in the output"
accepted ibo/signed v1.0.0 "$w/a.pub"
accepted ibo/signed latest "$w/a.pub"
accepted ibo/signed "$signed" "$w/a.pub"
skopeo_expect accept ibo/signed:v1.0.0
skopeo_expect accept "ibo/signed@$signed"
pass "signed index $signed: accepted by tag and by digest, with its 3 manifests; fingerprint $key_fp"

again=$(run_merge again ibo/signed "$w/a.key" --platform-digest "linux/arm64=$ARM" \
  --platform-digest "linux/amd64=$BUILDKIT" --tag v1.0.0 --tag latest)
ok_merge again
[[ $again == "$signed" && $(sed -n 2p "$w/again.log") == "signature $sig_digest $key_fp" ]] ||
  fail "rerun: $(cat "$w/again.log")"
grep -q "(0 signature manifests written)" "$w/again.out" || fail "rerun signed again: $(cat "$w/again.out")"
pass "rerun with the same key: same index, same signature manifest, nothing written"

run_merge cosigned ibo/signed "$w/b.key" --platform-digest "linux/amd64=$BUILDKIT" --platform-digest "linux/arm64=$ARM" \
  --tag v1.0.0 >/dev/null
ok_merge cosigned
[[ $(get "ibo/signed/manifests/sha256-${signed#sha256:}.sig" | jq '.layers | length') == 2 ]] ||
  fail "a second signer replaced the first signature instead of extending the manifest"
accepted ibo/signed v1.0.0 "$w/a.pub"
accepted ibo/signed v1.0.0 "$w/b.pub"
pass "a second key's signature extends the signature manifest; both verify"

# ---- refused: unsigned, another key, a payload naming another digest ------------------------
# (each case leaves no manifest that skopeo copy --all could check with a good signature)
unsigned=$(run_merge unsigned ibo/other - --platform-digest "linux/arm64=$D_ARM" --tag unsigned)
ok_merge unsigned
refused ibo/other unsigned "$w/a.pub" "^no signature exists"
skopeo_expect refuse-unsigned ibo/other:unsigned
by_b=$(run_merge by_b ibo/other "$w/b.key" --platform-digest "linux/amd64=$D_AMD" --tag by-b)
ok_merge by_b
refused ibo/other by-b "$w/a.pub" "^no signature by this key"
skopeo_expect refuse ibo/other:by-b
# A valid signature by key A, of another index, put where this index's signature (and its
# image's) would go.
other=$(run_merge other ibo/other "$w/a.key" --platform-digest "linux/amd64=$EMULATED" \
  --platform-digest "linux/arm64=$EMULATED" --tag other)
ok_merge other
accepted ibo/other other "$w/a.pub"
tampered=$(run_merge tampered ibo/other - --platform-digest "linux/arm64=$D_ARM" --tag tampered \
  --annotation org.opencontainers.image.version=tampered)
ok_merge tampered
get "ibo/other/manifests/sha256-${other#sha256:}.sig" >"$w/moved.sig"
for d in "$tampered" "$D_ARM"; do
  curl -sf -X PUT -H "Content-Type: $OCI_M" --data-binary "@$w/moved.sig" \
    "http://$reg/v2/ibo/other/manifests/sha256-${d#sha256:}.sig" >/dev/null || fail "cannot move the signature"
done
refused ibo/other tampered "$w/a.pub" "^the payload names $other, not $tampered"
skopeo_expect refuse ibo/other:tampered

# ---- a key that cannot sign fails the merge before anything is pushed ------------------------
openssl pkcs8 -topk8 -in "$w/a.key" -passout pass:secret -out "$w/encrypted.key" 2>/dev/null
run_merge bad_key ibo/other "$w/encrypted.key" --platform-digest "linux/amd64=$ARM" --tag never >/dev/null
[[ $(cat "$w/bad_key.rc") == 1 && $(wc -l <"$w/bad_key.err") == 1 ]] || fail "bad key: $(cat "$w/bad_key.err")"
grep -q "is encrypted with a passphrase" "$w/bad_key.err" || fail "bad key: $(cat "$w/bad_key.err")"
get ibo/other/manifests/never >/dev/null && fail "bad key: the tag was pushed"
pass "an encrypted key: one clear line, nothing pushed"

if [[ $skopeo_mode == debian ]]; then
  echo "NOTE: this skopeo ($(skopeo --version)) has sigstore verification patched out by Debian: it found" \
    "the signatures (by tag and by digest) and none on the unsigned index; the signatures' cryptography," \
    "digests and identities were checked by openssl and jq above"
fi
if [[ $skopeo_mode == sigstore ]]; then
  pass "skopeo with a sigstoreSigned policy: signed accepted by tag and digest; unsigned, another key's, another digest's refused"
else
  pass "skopeo with a sigstoreSigned policy (Debian's build): signatures found by tag and digest, none on an unsigned index"
fi
echo "sign: all checks passed"
