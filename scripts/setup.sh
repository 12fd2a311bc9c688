#!/usr/bin/env bash
# One-time setup of a fresh Debian bookworm machine (root): build dependencies, the test registry,
# and a real Kubernetes control plane built from Debian's `kubernetes` source package.
# Idempotent: a second run only checks and takes seconds.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl openssl time
  libcpprest-dev libboost-system-dev libyaml-cpp-dev nlohmann-json3-dev libssl-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev ccache
  etcd-server etcd-client golang-go rsync golang-github-modern-go-reflect2-dev dpkg-dev
  docker-registry skopeo buildah apache2-utils lua5.1
  # the real-node rig (tests/infra/rig.sh): container runtime, pod network, QEMU for arm64, the
  # images' rootfs, and the git server (lighttpd in front of git-http-backend)
  containerd runc containernetworking-plugins qemu-user-static iproute2 debootstrap lighttpd jq
  # e2e.rig's flaky HTTP endpoint and the fuzz seeds' generator (only a Recommends of clang-14,
  # which --no-install-recommends leaves out)
  python3
)

missing=()
for p in "${packages[@]}"; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *"install ok installed"* ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian registry package starts a system service on port 5000; tests run their own instances.
# containerd and lighttpd likewise: each rig runs its own.
if command -v systemctl >/dev/null 2>&1; then
  for unit in docker-registry containerd lighttpd; do systemctl disable --now "$unit" >/dev/null 2>&1 || true; done
fi

"$here/build-control-plane.sh"

if ! command -v kubectl >/dev/null 2>&1; then
  install -m 0755 "$("$here/build-control-plane.sh" --print-bin-dir)/kubectl" /usr/local/bin/kubectl
fi
echo "setup: done"
