#!/usr/bin/env bash
# Builds kube-apiserver, kube-scheduler, kube-controller-manager and kubelet (and kubectl when none
# is on the PATH) from Debian's `kubernetes` source package, caching the binaries outside the repository.
#   build-control-plane.sh                 build unless cached
#   build-control-plane.sh --print-bin-dir print where the binaries are
set -euo pipefail

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/imagebuild-operator
# The suffix names the patches below: a new patch means a new cache, never a stale binary.
bin_dir=$cache_root/kubernetes-1.20.2-r2/bin
if [[ ${1:-} == --print-bin-dir ]]; then echo "$bin_dir"; exit 0; fi

wanted=(kube-apiserver kube-scheduler kube-controller-manager kubelet)
command -v kubectl >/dev/null 2>&1 || wanted+=(kubectl)
complete=1
for b in "${wanted[@]}"; do [[ -x $bin_dir/$b ]] || complete=0; done
if ((complete)); then echo "control plane: cached in $bin_dir"; exit 0; fi

# A deb-src entry for the archive apt already uses, derived from the system's own sources.
src_list=/etc/apt/sources.list.d/imagebuild-operator-src.sources
if [[ ! -f $src_list ]]; then
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    # deb822: copy the first stanza that lists the release suite, as deb-src for main.
    awk -v RS= -v ORS='\n\n' '/Suites:[^\n]*bookworm( |\n|$)/ && !/security/ {print; exit}' \
      /etc/apt/sources.list.d/debian.sources |
      sed -e 's/^Types:.*/Types: deb-src/' -e 's/^Suites:.*/Suites: bookworm/' \
          -e 's/^Components:.*/Components: main/' >"$src_list"
  else
    grep -hE '^deb +[^ ]+ +bookworm +' /etc/apt/sources.list | head -n1 |
      sed -E 's/^deb +([^ ]+) +bookworm.*/deb-src \1 bookworm main/' >"${src_list%.sources}.list"
    rm -f "$src_list"; src_list=${src_list%.sources}.list
  fi
  [[ -s $src_list ]] || { echo "control plane: could not derive a deb-src entry from apt's sources" >&2; rm -f "$src_list"; exit 1; }
  apt-get update -qq
fi

work=$cache_root/kubernetes-src
mkdir -p "$work" "$bin_dir"
cd "$work"
if ! ls kubernetes_*.orig.tar.gz >/dev/null 2>&1; then
  apt-get source --download-only kubernetes >/dev/null
fi
tree=$work/tree
if [[ ! -d $tree/cmd ]]; then
  rm -rf "$tree" && mkdir -p "$tree"
  tar -xzf kubernetes_*.orig.tar.gz -C "$tree" --strip-components=1
fi

# Built with Go 1.19, the vendored reflect2 v1.0.1 makes kube-apiserver crash on the first custom
# resource (SIGSEGV in runtime.mapiterinit); Debian's 1.0.2 does not.
reflect2_src=/usr/share/gocode/src/github.com/modern-go/reflect2
if [[ ! -f $tree/vendor/github.com/modern-go/reflect2/.imagebuild-swapped ]]; then
  rm -rf "$tree/vendor/github.com/modern-go/reflect2"
  mkdir -p "$tree/vendor/github.com/modern-go/reflect2"
  cp -r "$reflect2_src"/. "$tree/vendor/github.com/modern-go/reflect2/"
  rm -f "$tree/vendor/github.com/modern-go/reflect2/go.mod" "$tree/vendor/github.com/modern-go/reflect2/go.sum"
  touch "$tree/vendor/github.com/modern-go/reflect2/.imagebuild-swapped"
fi

# Built with Go 1.16 or later, the vendored kube-openapi treats "" as null and refuses every empty
# string in a custom resource (kubernetes#99804). The released 1.20.2, built with Go 1.15, accepts
# them; upstream's fix (kube-openapi #230) checks for nil only, and so does this.
type_go=$tree/vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go
if ! grep -q '^	if data == nil {$' "$type_go"; then
  sed -i 's/^	if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {$/	if data == nil {/' "$type_go"
  grep -q '^	if data == nil {$' "$type_go" || { echo "control plane: cannot patch $type_go" >&2; exit 1; }
fi

what=""
for b in "${wanted[@]}"; do what+=" cmd/$b"; done
echo "control plane: building${what} (about 5 minutes on 2 cores, once)"
rm -rf "$tree/_output"
start=$(date +%s)
(cd "$tree" && make WHAT="${what# }" >"$work/make.log" 2>&1) || {
  tail -n 40 "$work/make.log" >&2; echo "control plane: make failed, log in $work/make.log" >&2; exit 1; }
for b in "${wanted[@]}"; do install -m 0755 "$tree/_output/bin/$b" "$bin_dir/$b"; done
rm -rf "$tree/_output"
echo "control plane: built in $(( $(date +%s) - start )) s into $bin_dir"
