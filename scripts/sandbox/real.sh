# shellcheck shell=bash
# The sandbox for real (scripts/sandbox.sh, sourced by it): the real-node rig (tests/infra/rig.sh),
# the operator as deploy/'s Deployment from its image (tests/infra/rig-operator.sh), and the two
# examples built by buildah on nodes ibo-amd64 and ibo-arm64 from a git repository that the sandbox
# pushes to the rig's git server. Then, per example and platform: the node, the architecture in the
# pushed image's config, and what the RUN step wrote, read from the image's layer.

real_rig() {  # starts the rig in $rig and the operator on it; sources rig.env
  [[ ${IBO_SANDBOX_SETUP:-1} == 0 ]] || { step "setup (scripts/setup.sh)"; "$repo/scripts/setup.sh" >/dev/null; }
  step "the real-node rig: control plane, registry, git server, nodes ibo-amd64 and ibo-arm64 (tests/infra/rig.sh)"
  local s; s=$(date +%s)
  IBO_RIG_SERVICE_ACCOUNTS=1 "$infra/rig.sh" start "$rig" >"$state/rig-start.log" 2>&1 ||
    { tail -n 30 "$state/rig-start.log" >&2; fail "the rig did not start (its log: $state/rig-start.log)"; }
  echo "    up in $(( $(date +%s) - s )) s (phases: $state/rig-start.log)"
  # shellcheck disable=SC1091
  source "$rig/rig.env"
  step "the operator as deploy/'s Deployment, from $RIG_IMAGE_OPERATOR"
  s=$(date +%s)
  "$infra/rig-operator.sh" deploy "$rig" --retry-backoff=2 || fail "the operator did not come up"
  echo "    Ready in $(( $(date +%s) - s )) s"
}

real_sources() {  # scripts/sandbox/src as a git repository, pushed over smart HTTP with basic auth
  local src=$state/src repo_url=$RIG_GIT_URL/shop.git
  step "the examples' sources (scripts/sandbox/src), pushed to $repo_url"
  rm -rf "$src"
  cp -r "$repo/scripts/sandbox/src" "$src"
  git init -q -b main "$src"
  git -C "$src" add -A
  git -C "$src" -c user.name=sandbox -c user.email=sandbox@localhost commit -q -m "the sandbox's examples, $version"
  git -C "$src" tag "$version"
  # The server's side: an empty repository that accepts pushes (git-http-backend creates none).
  git init -q --bare "$RIG_GIT_ROOT/shop.git"
  git -C "$RIG_GIT_ROOT/shop.git" config http.receivepack true
  # The credentials from a file, not the command line or the URL.
  local creds=$state/git-credentials
  (umask 077; printf 'http://%s:%s@%s\n' "$RIG_GIT_USER" "$RIG_GIT_PASSWORD" "$(cut -d/ -f3 <<<"$RIG_GIT_URL")" >"$creds")
  "$RIG_EXEC" git -C "$src" -c credential.helper="store --file=$creds" push -q "$repo_url" main "$version" ||
    fail "git push to $repo_url failed"
  git_url=$repo_url
}

# file_in_layers DIR PATH: PATH as the image in DIR (skopeo's dir: layout) holds it (its last layer's copy)
file_in_layers() {
  local d=$1 f=$2 out="" l got
  for l in $(jq -r '.layers[].digest' "$d/manifest.json"); do
    if got=$(tar -xzOf "$d/${l#sha256:}" "$f" 2>/dev/null); then out=$got; fi
  done
  printf '%s' "$out"
}

# real_show_example NAME: the pushed index, its tags, and each platform as built
real_show_example() {
  local f=$1 ref=$RIG_REGISTRY/sandbox/$1 index digest tags p node attempt pdigest arch d cfg config written
  local auth=(--tls-verify=false --authfile "$RIG_REGISTRY_AUTH_FILE")
  index=$("$RIG_EXEC" skopeo inspect --raw "${auth[@]}" "docker://$ref:$version") || fail "no $ref:$version in the registry"
  digest=sha256:$(printf '%s' "$index" | sha256sum | cut -d' ' -f1)
  tags=$("$RIG_EXEC" skopeo list-tags "${auth[@]}" "docker://$ref" | jq -r '.Tags | sort | join(" ")')
  echo "$f: $ref@$digest"
  echo "  tags: $tags"
  [[ $("$RIG_KUBECTL" get imagebuild "$f" -n "$ns" -o jsonpath='{.status.manifest.digest}') == "$digest" ]] ||
    fail "$f: status.manifest.digest is not the pushed index's $digest"
  while read -r p node attempt pdigest; do
    arch=${p#linux/}
    d=$state/images/$f-$arch
    rm -rf "$d"; mkdir -p "$d"
    "$RIG_EXEC" skopeo copy -q --src-tls-verify=false --src-authfile "$RIG_REGISTRY_AUTH_FILE" \
      "docker://$ref@$pdigest" "dir:$d" || fail "cannot copy $ref@$pdigest"
    cfg=$(jq -r .config.digest "$d/manifest.json")
    config=$(jq -r '.os + "/" + .architecture + (if .variant then "/" + .variant else "" end)' "$d/${cfg#sha256:}")
    written=$(file_in_layers "$d" arch)
    jq -e --arg d "$pdigest" '.manifests[] | select(.digest == $d)' <<<"$index" >/dev/null ||
      fail "$f: the index has no entry $pdigest for $p"
    printf '  %-12s node %-10s image config %-14s RUN wrote %-8s %s (attempt %s)\n' \
      "$p" "$node" "$config" "$written" "$pdigest" "$attempt"
  done < <("$RIG_KUBECTL" get imagebuild "$f" -n "$ns" \
    -o jsonpath='{range .status.platforms[*]}{.platform} {.nodeName} {.attempt} {.digest}{"\n"}{end}')
}

real_check_access() {  # kubectl from the user's shell: the rig's wrapper, which enters the namespace
  access=$(env PATH="$rig/bin:$PATH" kubectl get nodes --no-headers 2>&1 | awk '{print $1 " " $2}' | paste -sd, -) ||
    fail "kubectl through $rig/bin/kubectl does not work: $access"
  [[ $access == *"ibo-amd64 Ready"* && $access == *"ibo-arm64 Ready"* ]] || fail "kubectl through $rig/bin/kubectl: $access"
  echo "kubectl from your shell: $rig/bin/kubectl (checked: $access)"
}

real_access() {  # how to reach the sandbox from the user's shell
  cat <<MSG

The sandbox stays up. Everything runs inside the network namespace $RIG_NETNS; these wrappers
enter it:
  export PATH=$rig/bin:\$PATH       # kubectl and rig-exec (any command, inside the namespace)
  kubectl get imagebuilds -A; kubectl describe imagebuild worker -n $ns; kubectl get pods -A -o wide
  (or: alias kubectl=$rig/bin/kubectl)
  rig-exec env KUBECONFIG=$rig/kubeconfig <tool>   # any other Kubernetes client
registry ($RIG_REGISTRY, plain HTTP, htpasswd; its credentials in $RIG_REGISTRY_AUTH_FILE):
  rig-exec skopeo inspect --raw --tls-verify=false --authfile $RIG_REGISTRY_AUTH_FILE docker://$RIG_REGISTRY/sandbox/api:$version
git: $git_url (user $RIG_GIT_USER; the password is in Secret git-cred in namespace $ns), sources in $state/src
logs: kubectl logs -n imagebuild-system deploy/imagebuild-operator; kubectl logs -n $ns -l imagebuild.io/role=build --all-containers
      the rig's own: $rig/logs
Stop it with: $stop_command
MSG
}

real_sandbox() {
  real_rig
  real_sources
  step "the examples: api and worker $version for linux/amd64 and linux/arm64, built with buildah, pushed to $RIG_REGISTRY"
  local s; s=$(date +%s)
  apply_examples "$RIG_KUBECTL" buildah "$RIG_REGISTRY" "$git_url" "$RIG_IMAGE_BASE" \
    "$RIG_GIT_USER" "$RIG_GIT_PASSWORD" "$RIG_REGISTRY_AUTH_FILE"
  wait_examples "$RIG_KUBECTL" 420
  echo "    both Ready in $(( $(date +%s) - s )) s"
  echo
  "$RIG_KUBECTL" get imagebuilds -n "$ns"
  echo
  local f
  for f in "${examples[@]}"; do real_show_example "$f"; done
  real_check_access
  echo "sandbox: up and both examples built in $(elapsed)"
  ((once)) && return 0
  real_access
}
