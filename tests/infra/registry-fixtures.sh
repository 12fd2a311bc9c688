#!/usr/bin/env bash
# Test images pushed over the distribution API into an unauthenticated registry, for the merge
# tests and the benchmark: per-platform images (OCI and Docker schema 2, linux/amd64 and
# linux/arm64/v8), a BuildKit-style index with an attestation manifest, and one multi-platform
# index as an emulated build pushes it.
#   registry-fixtures.sh HOST:PORT REPO...   prints shell assignments of the digests:
#     AMD ARM (OCI images)  D_AMD D_ARM (Docker schema 2)  ATT (the amd64 attestation)
#     BUILDKIT (index: amd64 image + attestation)  EMULATED (index: amd64 + arm64)  MISSING (never pushed)
set -euo pipefail
plain=${1:?usage: registry-fixtures.sh HOST:PORT REPO...}
shift
fail() { echo "registry-fixtures: $*" >&2; exit 1; }
sha() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
f=$(mktemp -d); trap 'rm -rf "$f"' EXIT

push_blob() {  # push_blob REPO FILE
  local location sep
  location=$(curl -sf -D - -o /dev/null -X POST "http://$plain/v2/$1/blobs/uploads/" |
    tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  [[ $location == http* ]] || location="http://$plain$location"
  [[ $location == *\?* ]] && sep='&' || sep='?'
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" \
    "$location${sep}digest=$(sha "$2")" >/dev/null || fail "blob upload refused"
}
push_manifest() {  # push_manifest REPO FILE MEDIATYPE
  curl -sf -X PUT -H "Content-Type: $3" --data-binary "@$2" "http://$plain/v2/$1/manifests/$(sha "$2")" >/dev/null ||
    fail "manifest upload of $(basename "$2") refused"
}
descriptor() { printf '{"mediaType":"%s","digest":"%s","size":%s}' "$1" "$(sha "$2")" "$(stat -c%s "$2")"; }

printf 'hello' | gzip -n >"$f/layer"
diff_id="sha256:$(printf 'hello' | sha256sum | cut -d' ' -f1)"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' "$diff_id" >"$f/cfg-amd64"
printf '{"architecture":"arm64","os":"linux","variant":"v8","rootfs":{"type":"layers","diff_ids":["%s"]}}' "$diff_id" >"$f/cfg-arm64"
printf '{"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}}' >"$f/cfg-unknown"
printf '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document"}' >"$f/intoto"
OCI_M=application/vnd.oci.image.manifest.v1+json OCI_I=application/vnd.oci.image.index.v1+json
DOCKER_M=application/vnd.docker.distribution.manifest.v2+json
for arch in amd64 arm64; do
  printf '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}' "$OCI_M" \
    "$(descriptor application/vnd.oci.image.config.v1+json "$f/cfg-$arch")" \
    "$(descriptor application/vnd.oci.image.layer.v1.tar+gzip "$f/layer")" >"$f/oci-$arch"
  printf '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}' "$DOCKER_M" \
    "$(descriptor application/vnd.docker.container.image.v1+json "$f/cfg-$arch")" \
    "$(descriptor application/vnd.docker.image.rootfs.diff.tar.gzip "$f/layer")" >"$f/docker-$arch"
done
printf '{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}' "$OCI_M" \
  "$(descriptor application/vnd.oci.image.config.v1+json "$f/cfg-unknown")" \
  "$(descriptor application/vnd.in-toto+json "$f/intoto")" >"$f/attestation-amd64"
entry() { descriptor "$1" "$2" | sed "s|}\$|,\"platform\":{\"os\":\"linux\",\"architecture\":\"$3\"}}|"; }
att_entry=$(descriptor "$OCI_M" "$f/attestation-amd64" | sed "s|}\$|,\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"},\"annotations\":{\"vnd.docker.reference.digest\":\"$(sha "$f/oci-amd64")\",\"vnd.docker.reference.type\":\"attestation-manifest\"}}|")
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s,%s]}' "$OCI_I" \
  "$(entry "$OCI_M" "$f/oci-amd64" amd64)" "$att_entry" >"$f/buildkit-amd64"
printf '{"schemaVersion":2,"mediaType":"%s","manifests":[%s,%s]}' "$OCI_I" \
  "$(entry "$OCI_M" "$f/oci-amd64" amd64)" "$(entry "$OCI_M" "$f/oci-arm64" arm64)" >"$f/emulated"

for repo in "$@"; do
  for blob in layer cfg-amd64 cfg-arm64 cfg-unknown intoto; do push_blob "$repo" "$f/$blob"; done
  for m in oci-amd64 oci-arm64 attestation-amd64; do push_manifest "$repo" "$f/$m" "$OCI_M"; done
  for m in docker-amd64 docker-arm64; do push_manifest "$repo" "$f/$m" "$DOCKER_M"; done
  for m in buildkit-amd64 emulated; do push_manifest "$repo" "$f/$m" "$OCI_I"; done
done
echo "AMD=$(sha "$f/oci-amd64") ARM=$(sha "$f/oci-arm64") ATT=$(sha "$f/attestation-amd64")"
echo "D_AMD=$(sha "$f/docker-amd64") D_ARM=$(sha "$f/docker-arm64")"
echo "BUILDKIT=$(sha "$f/buildkit-amd64") EMULATED=$(sha "$f/emulated")"
echo "MISSING=sha256:$(printf 'never pushed' | sha256sum | cut -d' ' -f1)"
