#!/usr/bin/env bash
# The real-node rig's images, made here from Debian packages with no outside registry, and cached
# by content in buildah's storage under ~/.cache/imagebuild-operator/images:
#   - localhost/ibo-debian:KEY    debootstrap --variant=minbase bookworm (the shared rootfs)
#   - localhost/ibo-builder:KEY   that rootfs + Debian's buildah 1.28 + git (also the git image)
#   - localhost/ibo-base:KEY      a manifest list of busybox-static for linux/amd64 and linux/arm64
#   - localhost/ibo-pause:KEY     the pod sandbox image, kubernetes' pause.c built statically
#   - localhost/ibo-operator:KEY  operator/Dockerfile, built by buildah bud for linux/amd64 only
# Each KEY is a hash of the recipe (the function that builds it, as bash prints it) and its inputs,
# so that a changed recipe, package list or source builds a new image and never reuses a stale one.
# Runs on the host side (outside the rig's network namespace): Debian's archive must be reachable
# for a cold build. A warm run only checks and takes about a second.
#   rig-images.sh build ENVFILE     build what is missing; write IMG_* names to ENVFILE
#   rig-images.sh push ENVFILE REGISTRY USER PASSWORD
#                                   push them (plain HTTP, with credentials) to REGISTRY/ibo/...;
#                                   append RIG_IMAGE_* references to ENVFILE (run it where REGISTRY is reachable)
#   rig-images.sh prune             remove every ibo-* image but this work tree's current ones (others'
#                                   work trees sharing the cache rebuild theirs at their next start)
#   rig-images.sh buildah ARGS...   buildah on the rig's image storage (for looking around)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# IBO_RIG_IMAGE_CACHE: another cache (e.g. an empty one, to time a cold start)
cache=${IBO_RIG_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imagebuild-operator/images}
mirror=${IBO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
fail() { echo "rig-images: $*" >&2; exit 1; }
say() { echo "rig-images: $*" >&2; }

mkdir -p "$cache"

hash() { sha256sum | cut -c1-16; }
B=(buildah --root "$cache/storage" --runroot "/run/ibo-rig-images-$(echo "$cache" | hash)" --storage-driver overlay)
have_image() {  # an image, or a manifest list
  "${B[@]}" inspect --type image "$1" >/dev/null 2>&1 || "${B[@]}" manifest inspect "$1" >/dev/null 2>&1
}

# Each recipe takes the image name to commit. They run with the cache lock held.
build_rootfs() {  # debootstrap, host side; the archive stays in /etc/apt/sources.list
  local name=$1 t c
  command -v debootstrap >/dev/null || fail "debootstrap is not installed: run scripts/setup.sh"
  t=$(mktemp -d "$cache/tmp.rootfs.XXXXXX")
  timeout 1200 debootstrap --variant=minbase "$suite" "$t/root" "$mirror" >"$t/debootstrap.log" 2>&1 \
    || { tail -n 20 "$t/debootstrap.log" >&2; rm -rf "$t"; fail "debootstrap failed"; }
  printf 'deb %s %s main\n' "$mirror" "$suite" >"$t/root/etc/apt/sources.list"
  rm -rf "$t/root/var/lib/apt/lists/"* "$t/root/var/cache/apt/"*.bin "$t/root/var/cache/apt/archives/"*.deb
  tar -C "$t/root" --numeric-owner -cf "$t/rootfs.tar" .
  c=$("${B[@]}" from scratch)
  "${B[@]}" add "$c" "$t/rootfs.tar" / >/dev/null
  "${B[@]}" config --os linux --arch amd64 --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash "$c"
  "${B[@]}" commit --rm -q "$c" "$name" >/dev/null
  rm -rf "$t"
}

builder_packages="buildah git ca-certificates"
build_builder() {  # FROM the rootfs, apt-get install in it (debootstrap --include trips on container-network-stack)
  local name=$1 c
  c=$("${B[@]}" from --pull=never "$IMG_DEBIAN")
  timeout 1200 "${B[@]}" run --isolation chroot --network host "$c" -- sh -ec "
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $builder_packages >/dev/null
    apt-get clean; rm -rf /var/lib/apt/lists/*
    buildah --version; git --version"
  "${B[@]}" config --cmd /bin/sh "$c"
  "${B[@]}" commit --rm -q "$c" "$name" >/dev/null
}

build_base() {  # busybox-static for amd64 and arm64 (apt-get download with an arm64-only apt state)
  local name=$1 t arch c applets
  t=$(mktemp -d "$cache/tmp.base.XXXXXX")
  (cd "$t" && timeout 600 apt-get download busybox-static:amd64 >/dev/null 2>&1) || { rm -rf "$t"; fail "apt-get download busybox-static:amd64 failed"; }
  mkdir -p "$t/apt-arm64/lists/partial" "$t/apt-arm64/cache/archives/partial"
  : >"$t/apt-arm64/status"
  local apt_arm64=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State="$t/apt-arm64"
    -o Dir::State::Lists="$t/apt-arm64/lists" -o Dir::State::status="$t/apt-arm64/status" -o Dir::Cache="$t/apt-arm64/cache")
  timeout 600 apt-get "${apt_arm64[@]}" update -qq >"$t/apt.log" 2>&1 \
    && (cd "$t" && timeout 600 apt-get "${apt_arm64[@]}" download busybox-static:arm64 >>"$t/apt.log" 2>&1) \
    || { cat "$t/apt.log" >&2; rm -rf "$t"; fail "could not download busybox-static:arm64"; }
  "${B[@]}" manifest rm "$name" >/dev/null 2>&1 || true
  "${B[@]}" manifest create "$name" >/dev/null
  for arch in amd64 arm64; do
    mkdir -p "$t/$arch/x" "$t/$arch/root/bin" "$t/$arch/root/tmp"
    dpkg-deb -x "$t"/busybox-static_*_"$arch".deb "$t/$arch/x"
    cp "$t/$arch/x/bin/busybox" "$t/$arch/root/bin/busybox"
    chmod 1777 "$t/$arch/root/tmp"
    applets=$("$t/amd64/x/bin/busybox" --list)  # the same applets in both builds
    for a in $applets; do [[ $a == busybox ]] || ln -s busybox "$t/$arch/root/bin/$a"; done
    tar -C "$t/$arch/root" --numeric-owner --owner=0 --group=0 -cf "$t/$arch.tar" .
    c=$("${B[@]}" from scratch)
    "${B[@]}" add "$c" "$t/$arch.tar" / >/dev/null
    "${B[@]}" config --os linux --arch "$arch" --env PATH=/bin --cmd /bin/sh "$c"
    [[ $arch == arm64 ]] && "${B[@]}" config --variant v8 "$c"
    "${B[@]}" commit --rm -q "$c" "$name-$arch" >/dev/null
    "${B[@]}" manifest add "$name" "containers-storage:$name-$arch" >/dev/null
  done
  rm -rf "$t"
}

pause_c=$("$repo/scripts/build-control-plane.sh" --print-bin-dir)/../../kubernetes-src/tree/build/pause/linux/pause.c
build_pause() {  # the tree's pause.c, linked statically
  local name=$1 t c
  [[ -f $pause_c ]] || fail "no $pause_c: run scripts/setup.sh (it keeps the kubernetes source tree)"
  t=$(mktemp -d "$cache/tmp.pause.XXXXXX")
  gcc -Os -Wall -static -DVERSION=v3.2-ibo -o "$t/pause" "$pause_c"
  c=$("${B[@]}" from scratch)
  "${B[@]}" copy "$c" "$t/pause" /pause >/dev/null
  "${B[@]}" config --os linux --arch amd64 --entrypoint '["/pause"]' "$c"
  "${B[@]}" commit --rm -q "$c" "$name" >/dev/null
  rm -rf "$t"
}

build_operator() {  # operator/Dockerfile on the local base, amd64 only; compiles the project (minutes)
  local name=$1
  say "building the operator image from operator/Dockerfile (compiles the project: several minutes)"
  timeout 3600 "${B[@]}" bud --isolation chroot --network host --platform linux/amd64 --pull=never \
    --build-arg BUILD_BASE="$IMG_DEBIAN" --build-arg RUNTIME_BASE="$IMG_DEBIAN" \
    -f "$repo/operator/Dockerfile" -t "$name" "$repo" >"$cache/operator-build.log" 2>&1 \
    || { tail -n 30 "$cache/operator-build.log" >&2; fail "operator image build failed; log in $cache/operator-build.log"; }
}

# ensure NAME RECIPE KEY-INPUTS...: builds localhost/ibo-NAME:KEY unless present; prints its name.
ensure() {
  local what=$1 recipe=$2 key name start; shift 2
  key=$( { declare -f "$recipe"; printf '%s\n' "$@"; } | hash)
  name=localhost/ibo-$what:$key
  if [[ -z ${names_only:-} ]] && ! have_image "$name"; then
    # One builder of each image at a time; whoever waited finds it built.
    exec 9>"$cache/.lock-$what"
    flock -w 3600 9 || fail "another build of $what held its lock for an hour"
    if ! have_image "$name"; then
      start=$(date +%s)
      say "building $name"
      "$recipe" "$name" >&2
      have_image "$name" || fail "$recipe did not produce $name"
      say "built $name in $(( $(date +%s) - start )) s"
    fi
    exec 9>&-
  fi
  echo "$name"
}

operator_sources_hash() {  # the files operator/Dockerfile copies, as they are in the work tree
  (cd "$repo" && git ls-files -z CMakeLists.txt src operator | sort -z | xargs -0 sha256sum | hash)
}

cmd=${1:?usage: rig-images.sh build ENVFILE | push ENVFILE REGISTRY USER PASSWORD | buildah ARGS...}
shift
case $cmd in
  build)
    envfile=${1:?usage: rig-images.sh build ENVFILE}
    IMG_DEBIAN=$(ensure debian build_rootfs "$suite" "$mirror")
    IMG_BUILDER=$(ensure builder build_builder "$IMG_DEBIAN" "$builder_packages")
    IMG_BASE=$(ensure base build_base "busybox-static")
    if ! "${B[@]}" manifest inspect "$IMG_BASE" >/dev/null 2>&1; then fail "$IMG_BASE is not a manifest list"; fi
    IMG_PAUSE=$(ensure pause build_pause "$(sha256sum <"$pause_c")")
    if [[ ${RIG_SKIP_OPERATOR_IMAGE:-0} == 1 ]]; then  # for working on the rig itself, not for tests
      IMG_OPERATOR=""
    else
      IMG_OPERATOR=$(ensure operator build_operator "$IMG_DEBIAN" "$(operator_sources_hash)")
    fi
    {
      echo "IMG_DEBIAN=$IMG_DEBIAN"
      echo "IMG_BUILDER=$IMG_BUILDER"
      echo "IMG_BASE=$IMG_BASE"
      echo "IMG_PAUSE=$IMG_PAUSE"
      echo "IMG_OPERATOR=$IMG_OPERATOR"
    } >>"$envfile"
    ;;
  push)
    envfile=${1:?} registry=${2:?} user=${3:?} pass=${4:?}
    # shellcheck disable=SC1090
    source "$envfile"
    push=(--creds "$user:$pass" --tls-verify=false)
    ref() { local n=${1#localhost/ibo-}; echo "$registry/ibo/${n%%:*}:${n#*:}"; }
    for v in IMG_PAUSE IMG_BUILDER IMG_OPERATOR; do
      [[ -n ${!v} ]] || continue
      "${B[@]}" push -q "${push[@]}" "${!v}" "docker://$(ref "${!v}")" || fail "pushing ${!v} to $registry failed"
    done
    "${B[@]}" manifest push -q --all "${push[@]}" "$IMG_BASE" "docker://$(ref "$IMG_BASE")" >/dev/null \
      || fail "pushing the manifest list $IMG_BASE to $registry failed"
    # Each platform's manifest by digest, as the registry holds them: containerd on node ibo-arm64
    # is an amd64 program and picks linux/amd64 out of an index, so a pod that must run the arm64
    # build names it by digest.
    raw=$(skopeo inspect --raw --tls-verify=false --creds "$user:$pass" "docker://$(ref "$IMG_BASE")") \
      || fail "cannot read back $(ref "$IMG_BASE")"
    for arch in amd64 arm64; do
      d=$(jq -r --arg a "$arch" '.manifests[] | select(.platform.architecture == $a) | .digest' <<<"$raw")
      [[ $d == sha256:* ]] || fail "$(ref "$IMG_BASE") has no linux/$arch manifest: $raw"
      base_ref=$(ref "$IMG_BASE")
      echo "RIG_IMAGE_BASE_${arch^^}=${base_ref%:*}@$d" >>"$envfile"
    done
    {
      echo "RIG_IMAGE_PAUSE=$(ref "$IMG_PAUSE")"
      echo "RIG_IMAGE_BUILDER=$(ref "$IMG_BUILDER")"
      echo "RIG_IMAGE_GIT=$(ref "$IMG_BUILDER")"
      echo "RIG_IMAGE_BASE=$(ref "$IMG_BASE")"
      [[ -z $IMG_OPERATOR ]] || echo "RIG_IMAGE_OPERATOR=$(ref "$IMG_OPERATOR")"
    } >>"$envfile"
    ;;
  prune)
    names_only=1
    IMG_DEBIAN=$(ensure debian build_rootfs "$suite" "$mirror")
    keep=("$IMG_DEBIAN" "$(ensure builder build_builder "$IMG_DEBIAN" "$builder_packages")"
      "$(ensure pause build_pause "$(sha256sum <"$pause_c")")"
      "$(ensure operator build_operator "$IMG_DEBIAN" "$(operator_sources_hash)")")
    base=$(ensure base build_base "busybox-static")
    keep+=("$base" "$base-amd64" "$base-arm64")
    "${B[@]}" images --format '{{.Name}}:{{.Tag}}' | grep '^localhost/ibo-' | sort -u | while read -r img; do
      printf '%s\n' "${keep[@]}" | grep -qxF "$img" && continue
      say "removing $img"
      "${B[@]}" manifest rm "$img" >/dev/null 2>&1 || "${B[@]}" rmi -f "$img" >/dev/null || true
    done
    ;;
  buildah) exec "${B[@]}" "$@" ;;
  *) fail "unknown command $cmd" ;;
esac
