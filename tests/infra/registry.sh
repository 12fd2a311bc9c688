#!/usr/bin/env bash
# A throw-away OCI registry (Debian's docker-registry, distribution 2.8) on loopback.
#   registry.sh start DIR [--htpasswd FILE] [--tls CERT KEY] [--token REALM SERVICE ISSUER CERTBUNDLE]
#     prints HOST:PORT, writes DIR/address; --token is the `auth: token` scheme (JWTs signed by a
#     key whose certificate is in CERTBUNDLE)
#   registry.sh stop DIR
# IBO_REGISTRY_HOST: the address to listen on (default 127.0.0.1; the real-node rig, tests/infra/rig.sh,
# runs this inside its network namespace on an address of that namespace).
set -euo pipefail
cmd=${1:?usage: registry.sh start|stop DIR}
dir=${2:?usage: registry.sh $cmd DIR}
shift 2
fail() { echo "registry: $*" >&2; exit 1; }
host=${IBO_REGISTRY_HOST:-127.0.0.1}
# shellcheck source=free-port.sh
source "$(dirname "$0")/free-port.sh"

case $cmd in
  start)
    bin=$(command -v docker-registry || true)
    [[ -n $bin ]] || fail "docker-registry is not installed: run scripts/setup.sh first"
    if [[ -f $dir/pid ]]; then "$0" stop "$dir"; fi
    mkdir -p "$dir/storage"
    auth="" tls=""
    while (($#)); do
      case $1 in
        --htpasswd) auth=$'auth:\n  htpasswd:\n    realm: imagebuild-test\n    path: '"$2"; shift 2 ;;
        --token) auth=$'auth:\n  token:\n    realm: '"$2"$'\n    service: '"$3"$'\n    issuer: '"$4"$'\n    rootcertbundle: '"$5"; shift 5 ;;
        --tls) tls=$'\n  tls:\n    certificate: '"$2"$'\n    key: '"$3"; shift 3 ;;
        *) fail "unknown option $1" ;;
      esac
    done
    scheme=http; [[ -n $tls ]] && scheme=https
    for _ in 1 2 3 4 5; do  # another attempt, on another port, when the chosen one was taken meanwhile
      port=$(free_port) || exit 1
      cat >"$dir/config.yml" <<CFG
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $dir/storage}
  delete: {enabled: true}
http:
  addr: $host:$port$tls
$auth
CFG
      "$bin" serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
      pid=$!
      echo "$pid" >"$dir/pid"
      for _ in $(seq 1 300); do
        code=$(curl -sk -o /dev/null -w '%{http_code}' "$scheme://$host:$port/v2/" || true)
        [[ $code == 200 || $code == 401 ]] && { echo "$host:$port" | tee "$dir/address"; exit 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && { "$0" stop "$dir"; fail "did not answer on $host:$port within 30 s: $(cat "$dir/registry.log")"; }
      rm -f "$dir/pid"
      grep -q "address already in use" "$dir/registry.log" || fail "exited at start: $(cat "$dir/registry.log")"
    done
    fail "five ports in a row were taken before the registry could bind them: $(cat "$dir/registry.log")"
    ;;
  stop)
    [[ -f $dir/pid ]] || exit 0
    pid=$(cat "$dir/pid"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/pid"
    ;;
  *) fail "unknown command $cmd" ;;
esac
