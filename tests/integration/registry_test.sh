#!/usr/bin/env bash
# Proves the test registry is real: a blob and a manifest pushed over the distribution API are
# read back by skopeo, an independent client.
set -euo pipefail
registry=$(cat "${IBO_TEST_REGISTRY_DIR:?run through ctest}/address")
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
repo=fixture/hello

push_blob() {  # push_blob FILE: prints its digest
  local digest="sha256:$(sha256sum "$1" | cut -d' ' -f1)" location
  location=$(curl -sf -D - -o /dev/null -X POST "http://$registry/v2/$repo/blobs/uploads/" |
    tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
  [[ $location == http* ]] || location="http://$registry$location"
  [[ $location == *\?* ]] && sep='&' || sep='?'
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$1" \
    "$location${sep}digest=$digest" >/dev/null || fail "blob upload refused"
  echo "$digest"
}

printf 'hello' | gzip -n >"$tmp/layer"
printf '{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$(printf 'hello' | sha256sum | cut -d' ' -f1)" >"$tmp/config"
layer=$(push_blob "$tmp/layer"); config=$(push_blob "$tmp/config")
cat >"$tmp/manifest" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config","size":$(stat -c%s "$tmp/config")},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"$layer","size":$(stat -c%s "$tmp/layer")}]}
JSON
curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$tmp/manifest" \
  "http://$registry/v2/$repo/manifests/v1" >/dev/null || fail "manifest upload refused"

expected="sha256:$(sha256sum "$tmp/manifest" | cut -d' ' -f1)"
skopeo inspect --raw --tls-verify=false "docker://$registry/$repo:v1" >"$tmp/read" || fail "skopeo cannot read the tag"
cmp -s "$tmp/read" "$tmp/manifest" || fail "skopeo read different manifest bytes"
arch=$(skopeo inspect --tls-verify=false --format '{{.Architecture}}' "docker://$registry/$repo@$expected")
[[ $arch == arm64 ]] || fail "skopeo saw architecture '$arch'"
echo "registry: all checks passed"
