#!/usr/bin/env bash
# Consistency of the shipped manifests, no cluster needed (label unit):
# - the chart's CRD is the same file as crds/;
# - the chart's RBAC template and deploy/rbac.yaml grant the same rules (API group, resources,
#   verbs), none with a wildcard;
# - every flag that deploy/ and the chart pass to `imagebuild-operator run` is one it knows;
# - the Argo CD ConfigMap snippet and the README carry deploy/argocd/health.lua verbatim;
# - .dockerignore lets in what operator/Dockerfile copies.
# usage: manifests_test.sh IMAGEBUILD_OPERATOR_BINARY
set -euo pipefail
binary=${1:?usage: manifests_test.sh IMAGEBUILD_OPERATOR_BINARY}
repo=$(cd "$(dirname "$0")/../.." && pwd)
chart=$repo/charts/imagebuild-operator
fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmp -s "$repo/crds/imagebuild.io_imagebuilds.yaml" "$chart/crds/imagebuild.io_imagebuilds.yaml" \
  || fail "charts/imagebuild-operator/crds/imagebuild.io_imagebuilds.yaml differs from crds/imagebuild.io_imagebuilds.yaml (copy it over)"

# One line per rule, "GROUPS | RESOURCES | VERBS" with each list sorted, from the flow-style rules
# both files use (- apiGroups: [...] / resources: [...] / verbs: [...]).
sorted() { tr ',' '\n' <<<"$1" | tr -d ' ' | sort | paste -sd, -; }
rules() {
  awk '
    function list(s) { sub(/^[^[]*\[/, "", s); sub(/\].*$/, "", s); gsub(/[ "]/, "", s); return s }
    /^- apiGroups: \[/ { group = list($0); next }
    /^  resources: \[/ { resources = list($0); next }
    /^  verbs: \[/     { print group " | " resources " | " list($0) }' "$1" |
  while IFS='|' read -r g r v; do
    echo "$(sorted "$g") | $(sorted "$r") | $(sorted "$v")"
  done | sort
}
rules "$repo/deploy/rbac.yaml" > "$tmp/deploy.rules"
rules "$chart/templates/rbac.yaml" > "$tmp/chart.rules"
[[ $(wc -l < "$tmp/deploy.rules") -ge 9 ]] || fail "read only $(wc -l < "$tmp/deploy.rules") rules from deploy/rbac.yaml"
diff -u "$tmp/deploy.rules" "$tmp/chart.rules" >&2 \
  || fail "the chart's templates/rbac.yaml and deploy/rbac.yaml grant different rules (diff above)"
grep -q '\*' "$tmp/deploy.rules" && fail "a wildcard in the RBAC rules: $(grep '\*' "$tmp/deploy.rules")"
# The rules of issue 6, once, in each file (the rules lines count every rule of every object).
for rule in "imagebuild.io | imagebuilds | get,list,patch,update,watch" \
            "imagebuild.io | imagebuilds/status | patch,update" \
            "imagebuild.io | imagebuilds/finalizers | update" \
            " | pods | create,delete,get,list,watch" \
            " | nodes | get,list,watch" \
            " | configmaps | create,delete,get,list,update,watch" \
            " | secrets | get" \
            " | events | create,patch" \
            "coordination.k8s.io | leases | create,get,update"; do
  [[ $(grep -cxF -- "$rule" "$tmp/deploy.rules") == 1 ]] || fail "deploy/rbac.yaml: no single rule '$rule'"
done
[[ $(wc -l < "$tmp/deploy.rules") == 9 ]] || fail "deploy/rbac.yaml grants more than issue 6 lists: $(cat "$tmp/deploy.rules")"

# Flags: those of deploy/'s Deployment and of the chart's template, against `run --help`.
"$binary" run --help > "$tmp/help" 2>&1 || true
grep -q -- '--merge-image' "$tmp/help" || fail "$binary run --help did not list its flags: $(cat "$tmp/help")"
flags=$(grep -ohE -- '^ *- --[a-z0-9-]+' "$repo/deploy/deployment.yaml" "$chart/templates/deployment.yaml" \
        | sed 's/^ *- //' | sort -u)
[[ $(wc -w <<<"$flags") -ge 10 ]] || fail "read only these flags from the Deployments: $flags"
for flag in $flags; do
  grep -qE -- "(^|[[:space:]])$flag([[:space:]]|$)" "$tmp/help" || fail "$flag is passed to imagebuild-operator run, which does not know it"
done

# The Argo CD snippet holds health.lua as its value, indented by four spaces.
awk '/resource.customizations.health.imagebuild.io_ImageBuild: \|$/ { on = 1; next }
     on && /^[^ ]/ { on = 0 } on { sub(/^    /, ""); print }' "$repo/deploy/argocd/argocd-cm.yaml" > "$tmp/snippet.lua"
diff -u "$repo/deploy/argocd/health.lua" "$tmp/snippet.lua" >&2 \
  || fail "deploy/argocd/argocd-cm.yaml does not hold deploy/argocd/health.lua verbatim (diff above)"
awk '/^```lua$/ { on = 1; next } on && /^```$/ { on = 0 } on { print }' "$repo/README.md" > "$tmp/readme.lua"
diff -u "$repo/deploy/argocd/health.lua" "$tmp/readme.lua" >&2 \
  || fail "README.md's health check is not deploy/argocd/health.lua (diff above)"

# .dockerignore starts from '*': each source that the Dockerfile COPYs must be let in again.
grep -qx '\*' "$repo/.dockerignore" || fail ".dockerignore no longer starts from '*'"
sources=$(awk '/^COPY / && !/--from/ { for (i = 2; i < NF; i++) print $i }' "$repo/operator/Dockerfile")
[[ -n $sources ]] || fail "found no COPY in operator/Dockerfile"
for src in $sources; do
  grep -qxF "!$src" "$repo/.dockerignore" || fail ".dockerignore keeps out $src, which operator/Dockerfile copies"
  [[ -e $repo/$src ]] || fail "operator/Dockerfile copies $src, which does not exist"
done
echo "manifests: all checks passed"
