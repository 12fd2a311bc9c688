#!/usr/bin/env bash
# The merge step against buildah (manifest create, manifest add per platform, manifest push --all
# per tag), side by side in one run: same loopback registry, same two per-platform images, three
# tags. Each is measured as whole processes with /usr/bin/time -v: wall time and CPU seconds
# summed over its processes, peak resident memory the largest of them.
#   bench/merge_vs_buildah.sh            (builds the operator in $IBO_BUILD_DIR, default build/)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${IBO_BUILD_DIR:-$repo/build}
infra=$repo/tests/infra
fail() { echo "bench: $*" >&2; exit 1; }
command -v buildah >/dev/null || fail "buildah is not installed: run scripts/setup.sh first"
[[ -x /usr/bin/time ]] || fail "/usr/bin/time is not installed: run scripts/setup.sh first"

if [[ ! -f $build/build.ninja ]]; then cmake -S "$repo" -B "$build" -G Ninja >/dev/null; fi
cmake --build "$build" --target imagebuild-operator >/dev/null
operator=$build/operator/imagebuild-operator

tmp=$(mktemp -d)
cleanup() { "$infra/registry.sh" stop "$tmp/registry" || true; rm -rf "$tmp"; }
trap cleanup EXIT
registry=$("$infra/registry.sh" start "$tmp/registry")
eval "$("$infra/registry-fixtures.sh" "$registry" bench/merge bench/buildah)"
tags=(v1.4.2 v1.4 latest)

# measure NAME COMMAND...: appends "wall user sys maxrss_kb" of one process to $tmp/NAME.times
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$tmp/time.out" "$@" >"$tmp/cmd.out" 2>"$tmp/cmd.err" ||
    fail "$name: '$*' failed: $(tail -n3 "$tmp/cmd.err")"
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
    /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { m = $2 }
    END { print w, u, s, m }' "$tmp/time.out" >>"$tmp/$name.times"
}

merge_flags=(--repository "$registry/bench/merge" --insecure-registry "$registry"
  --platform-digest "linux/amd64=$AMD" --platform-digest "linux/arm64=$ARM" --termination-log "$tmp/termination-log")
for t in "${tags[@]}"; do merge_flags+=(--tag "$t"); done
DOCKER_CONFIG=$tmp/docker measure merge "$operator" merge "${merge_flags[@]}"

buildah=(buildah --root "$tmp/buildah-root" --runroot "$tmp/buildah-run" --storage-driver vfs)
measure buildah "${buildah[@]}" manifest create bench-list
for digest in "$AMD" "$ARM"; do
  measure buildah "${buildah[@]}" manifest add --tls-verify=false bench-list "docker://$registry/bench/buildah@$digest"
done
for t in "${tags[@]}"; do
  measure buildah "${buildah[@]}" manifest push --all --tls-verify=false bench-list "docker://$registry/bench/buildah:$t"
done

# Both results are real: every tag reads back as an index of the two images.
for t in "${tags[@]}"; do
  for r in merge buildah; do
    grep -q "$ARM" <<<"$(skopeo inspect --raw --tls-verify=false "docker://$registry/bench/$r:$t")" ||
      fail "bench/$r:$t is not an index of the two images"
  done
done

summary() {  # summary NAME: "processes wall cpu peak_kb"
  awk '{ n++; w += $1; c += $2 + $3; if ($4 > m) m = $4 } END { printf "%d %.3f %.3f %d\n", n, w, c, m }' "$tmp/$1.times"
}
read -r m_n m_wall m_cpu m_rss <<<"$(summary merge)"
read -r b_n b_wall b_cpu b_rss <<<"$(summary buildah)"
printf '%-22s %9s %10s %9s %13s\n' "2 platforms, 3 tags" processes "wall (s)" "CPU (s)" "peak RSS (MB)"
printf '%-22s %9d %10.3f %9.3f %13.1f\n' "imagebuild-operator" "$m_n" "$m_wall" "$m_cpu" "$(awk "BEGIN{print $m_rss/1024}")"
printf '%-22s %9d %10.3f %9.3f %13.1f\n' "buildah" "$b_n" "$b_wall" "$b_cpu" "$(awk "BEGIN{print $b_rss/1024}")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
printf 'operator / buildah:    wall %s   CPU %s   peak RSS %s\n' \
  "$(ratio "$m_wall" "$b_wall")" "$(ratio "$m_cpu" "$b_cpu")" "$(ratio "$m_rss" "$b_rss")"
