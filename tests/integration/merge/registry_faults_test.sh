#!/usr/bin/env bash
# Issue 12 part 4: registry faults during `imagebuild-operator merge`, made by
# tests/support/fault_proxy.py (http mode) between the merge and a docker-registry of this test's
# own: 500, 503 with Retry-After, a connection reset mid-upload, a slow answer past --timeout,
# then faults that outlast the retries. Every request the merge makes is idempotent (GET, HEAD,
# PUT of a manifest), so each is retried (4 more times). After every run, each tag points at its
# old index or at the new one, whose children all exist; a failed run's one error line names the
# registry and the step. No random choices.
set -euo pipefail
operator=${IBO_OPERATOR_BINARY:?run through ctest}
infra=${IBO_TEST_INFRA:?run through ctest}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
proxy_pid=""
cleanup() {
  if [[ -n $proxy_pid ]]; then kill "$proxy_pid" 2>/dev/null || true; fi
  "$infra/registry.sh" stop "$tmp/registry" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
# shellcheck source=../../infra/free-port.sh
source "$infra/free-port.sh"

reg=$("$infra/registry.sh" start "$tmp/registry") || fail "the registry did not start"
eval "$("$infra/registry-fixtures.sh" "$reg" ibo/faults)"
port=$(free_port); control=$(free_port)
: >"$tmp/proxy.out"
python3 "$here/../../support/fault_proxy.py" http "$port" "$reg" "$control" >"$tmp/proxy.out" 2>&1 &
proxy_pid=$!
for _ in $(seq 1 50); do grep -q '^ready' "$tmp/proxy.out" && break; sleep 0.1; done
grep -q '^ready' "$tmp/proxy.out" || fail "the fault proxy did not start: $(cat "$tmp/proxy.out")"
proxied=127.0.0.1:$port
proxy() {  # proxy COMMAND...: one command to the proxy; prints its answer
  local reply
  exec 7<>"/dev/tcp/127.0.0.1/$control"
  echo "$*" >&7
  read -r reply <&7
  exec 7>&-
  [[ $reply == ok* ]] || fail "proxy: $* answered: $reply"
  echo "$reply"
}
echo '{"auths":{}}' >"$tmp/no-auth.json"
merge() {  # merge NAME REGISTRY [merge flags...]: exit code in $tmp/NAME.rc
  local name=$1 r=$2; shift 2
  set +e
  timeout 60 "$operator" merge --repository "$r/ibo/faults" --insecure-registry "$r" --registry-config "$tmp/no-auth.json" \
    --termination-log "$tmp/$name.log" --tag v1 --tag latest "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  echo $? >"$tmp/$name.rc"
  set -e
}
tag_digest() {  # tag_digest TAG: what the registry itself says the tag points at
  curl -sfI -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$reg/v2/ibo/faults/manifests/$1" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" {print $2}'
}

# The old index (amd64 only) under both tags, straight to the registry.
merge old "$reg" --platform-digest "linux/amd64=$AMD"
[[ $(cat "$tmp/old.rc") == 0 ]] || fail "the first merge failed: $(cat "$tmp/old.err")"
OLD=$(tail -n1 "$tmp/old.out")
NEW=""
reset_tags() { merge reset "$reg" --platform-digest "linux/amd64=$AMD"; [[ $(tail -n1 "$tmp/reset.out") == "$OLD" ]] || fail "cannot reset the tags"; }

# every tag at OLD or at NEW, and NEW's children present
check_tags() {
  local name=$1 tag d child
  for tag in v1 latest; do
    d=$(tag_digest "$tag")
    if [[ $d == "$OLD" ]]; then continue; fi
    [[ -n $NEW && $d == "$NEW" ]] || fail "$name: tag $tag points at $d, neither the old $OLD nor the new ${NEW:-index}"
    for child in $(curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' "http://$reg/v2/ibo/faults/manifests/$d" |
                   grep -o '"digest":"sha256:[a-f0-9]*"' | cut -d'"' -f4); do
      curl -sfI -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$reg/v2/ibo/faults/manifests/$child" >/dev/null ||
        fail "$name: tag $tag's index names $child, which the registry does not hold"
    done
  done
}
both=(--platform-digest "linux/amd64=$AMD" --platform-digest "linux/arm64=$ARM")

# expect_retried NAME RULE SECONDS_AT_LEAST [merge flags]: one fault, the merge succeeds after a retry
expect_retried() {
  local name=$1 rule=$2 least=$3 t0; shift 3
  reset_tags
  proxy clear >/dev/null
  proxy fault "$rule" >/dev/null
  t0=$(date +%s%3N)
  merge "$name" "$proxied" "${both[@]}" "$@"
  local took=$(( $(date +%s%3N) - t0 ))
  [[ $(cat "$tmp/$name.rc") == 0 ]] || fail "$name: the merge failed: $(cat "$tmp/$name.err")"
  local d; d=$(tail -n1 "$tmp/$name.out")
  [[ -z $NEW || $d == "$NEW" ]] || fail "$name: another index $d"
  NEW=$d
  (( took >= least * 1000 )) || fail "$name: done in $took ms, before the $least s it had to wait"
  [[ $(tag_digest v1) == "$NEW" && $(tag_digest latest) == "$NEW" ]] || fail "$name: the tags are not at the new index"
  check_tags "$name"
  pass "$name: retried and pushed in $took ms"
}
expect_retried put-500 "^PUT./v2/ibo/faults/manifests/ 1 status 500" 0
expect_retried get-503-retry-after "^(GET|HEAD)./v2/ibo/faults/manifests/ 2 status 503 1" 1
expect_retried reset-mid-upload "^PUT./v2/ibo/faults/manifests/ 1 reset" 0
expect_retried slow-past-timeout "^HEAD./v2/ibo/faults/manifests/ 1 slow 3" 2 --timeout 2
expect_retried slow-within-timeout "^(GET|HEAD|PUT)./v2/ibo/faults/ 3 slow 0.5" 0
grep -Eq 'PUT [^|]* 500( \||$)' <<<"$(proxy log)" || fail "the proxy never answered a PUT with 500"

# expect_failed NAME RULE PATTERN: faults past the retries; one error line naming the registry and step
expect_failed() {
  local name=$1 rule=$2 pattern=$3
  reset_tags
  proxy clear >/dev/null
  proxy fault "$rule" >/dev/null
  merge "$name" "$proxied" "${both[@]}"
  proxy clear >/dev/null
  [[ $(cat "$tmp/$name.rc") != 0 ]] || fail "$name: succeeded through a fault that outlasts the retries"
  [[ $(wc -l <"$tmp/$name.err") == 1 ]] || fail "$name: expected one error line, got: $(cat "$tmp/$name.err")"
  grep -q "$proxied" "$tmp/$name.err" || fail "$name: the error does not name the registry: $(cat "$tmp/$name.err")"
  grep -qE -- "$pattern" "$tmp/$name.err" || fail "$name: the error '$(cat "$tmp/$name.err")' does not name the step ($pattern)"
  check_tags "$name"
  pass "$name: $(cat "$tmp/$name.err") (tags: v1 $( [[ $(tag_digest v1) == "$OLD" ]] && echo old || echo new), latest $( [[ $(tag_digest latest) == "$OLD" ]] && echo old || echo new))"
}
expect_failed latest-503-always "^PUT./v2/ibo/faults/manifests/latest 99 status 503 0" "pushing the index to tag latest"
expect_failed resets-always "^PUT./v2/ibo/faults/manifests/ 99 reset" "pushing the index to tag (v1|latest)"
expect_failed platform-500-always "^GET./v2/ibo/faults/manifests/$ARM 99 status 500" "platform linux/arm64"
echo "registry_faults: all checks passed"
