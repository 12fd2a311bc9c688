# shellcheck shell=bash
# The sandbox's simulated mode (scripts/sandbox.sh --simulated, sourced by it): a real control plane
# and registry on loopback, two simulated nodes (amd64, arm64) run by imagebuild-node-simulator, and
# the operator as a process with deploy/'s ServiceAccount token. No build runs: a build pod pushes
# a small stand-in image; the merge pod runs for real. A quick look at the controller's flow.

simulated_build() {  # the binaries, unless the test suite passes those it built
  operator=${IBO_OPERATOR_BINARY:-$build/operator/imagebuild-operator}
  simulator=${IBO_SIMULATOR_BINARY:-$build/tests/sim/imagebuild-node-simulator}
  [[ -z ${IBO_OPERATOR_BINARY:-} ]] || return 0
  step "setup and build"
  [[ ${IBO_SANDBOX_SETUP:-1} == 0 ]] || "$repo/scripts/setup.sh" >/dev/null
  cmake -S "$repo" -B "$build" -G Ninja >/dev/null
  cmake --build "$build" --target imagebuild-operator imagebuild-node-simulator >/dev/null
}

without_workloads() {  # drops the Deployment and Service documents of a YAML stream
  local doc="" line
  flush() { [[ -n $doc ]] && ! grep -Eq '^kind: (Deployment|Service)$' <<<"$doc" && printf '%s---\n' "$doc"; doc=""; }
  while IFS= read -r line; do
    if [[ $line == --- ]]; then flush || true; else doc+="$line"$'\n'; fi
  done
  flush || true
}

# Everything deploy/ holds except the Deployment and its Service: the operator runs here, as a
# process, with the same ServiceAccount and rights. Writes $state/operator.kubeconfig.
simulated_rbac() {
  kubectl kustomize "$repo/deploy" | without_workloads | kubectl apply -f - >/dev/null
  kubectl wait --for=condition=Established crd/imagebuilds.imagebuild.io --timeout=30s >/dev/null
  operator_ns=imagebuild-system
  local secret="" token server
  for _ in $(seq 1 100); do
    secret=$(kubectl get serviceaccount imagebuild-operator -n "$operator_ns" -o jsonpath='{.secrets[0].name}' 2>/dev/null || true)
    [[ -n $secret ]] && break; sleep 0.1
  done
  [[ -n $secret ]] || fail "no token for the operator's ServiceAccount"
  token=$(kubectl get secret "$secret" -n "$operator_ns" -o jsonpath='{.data.token}' | base64 -d)
  server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  cat >"$state/operator.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: sandbox, cluster: {server: "$server", certificate-authority: "$state/cluster/pki/ca.crt"}}]
users: [{name: imagebuild-operator, user: {token: "$token"}}]
contexts: [{name: sandbox, context: {cluster: sandbox, user: imagebuild-operator, namespace: $operator_ns}}]
current-context: sandbox
KC
  chmod 600 "$state/operator.kubeconfig"
}

simulated_nodes_and_operator() {
  step "simulated nodes (imagebuild-node-simulator stands in for their kubelets)"
  # shellcheck disable=SC2086
  "$simulator" --kubeconfig "$KUBECONFIG" --node sandbox-amd64=amd64 --node sandbox-arm64=arm64 \
    --operator-binary "$operator" --insecure-registry "$registry" --work-dir "$state/simulator" \
    ${IBO_SANDBOX_SIMULATOR_ARGS:-} >"$state/node-simulator.log" 2>&1 &
  echo $! >"$state/node-simulator.pid"
  for _ in $(seq 1 100); do
    [[ $(kubectl get nodes -l kubernetes.io/arch --no-headers 2>/dev/null | grep -c ' Ready') -ge 2 ]] && break; sleep 0.1
  done

  step "the operator, with deploy/'s ServiceAccount token"
  # shellcheck source=../../tests/infra/free-port.sh
  source "$infra/free-port.sh"
  metrics_port=$(free_port); probe_port=$(free_port)
  cat >"$state/operator.cmd" <<CMD
$operator run --kubeconfig $state/operator.kubeconfig --leader-elect --leader-election-namespace $operator_ns --insecure-registry $registry --merge-image imagebuild-operator:sandbox --retry-backoff 2 --metrics-bind-address 127.0.0.1:$metrics_port --health-probe-bind-address 127.0.0.1:$probe_port
CMD
  echo "metrics=127.0.0.1:$metrics_port probes=127.0.0.1:$probe_port" >"$state/operator.addresses"
  # shellcheck disable=SC2046
  $(cat "$state/operator.cmd") >>"$state/operator.log" 2>&1 &
  echo $! >"$state/operator.pid"
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$probe_port/readyz" >/dev/null && break
    kill -0 "$(cat "$state/operator.pid")" 2>/dev/null ||
      { tail -n 20 "$state/operator.log" >&2; fail "the operator exited at start (log: $state/operator.log)"; }
    sleep 0.1
  done
}

simulated_show() {
  echo
  kubectl get imagebuilds -n "$ns"
  echo
  kubectl get imagebuilds -n "$ns" -o jsonpath='{range .items[*]}{.metadata.name}:{"\n"}{range .status.platforms[*]}  {.platform}  {.digest}  on {.nodeName} (attempt {.attempt}){"\n"}{end}{end}'
  echo
  local f
  for f in "${examples[@]}"; do
    echo "skopeo inspect --raw docker://$registry/sandbox/$f:$version"
    skopeo inspect --raw --tls-verify=false "docker://$registry/sandbox/$f:$version"; echo
    echo "tags: $(skopeo list-tags --tls-verify=false "docker://$registry/sandbox/$f" | tr -d ' \n')"
  done
}

simulated_sandbox() {
  simulated_build
  step "control plane and registry"
  "$infra/control-plane.sh" start "$state/cluster" >/dev/null
  registry=$("$infra/registry.sh" start "$state/registry")
  export KUBECONFIG=$state/cluster/kubeconfig
  step "CRD and deploy/'s RBAC"
  simulated_rbac
  simulated_nodes_and_operator

  step "the examples: api and worker $version, pushed to $registry (simulated builds)"
  # The simulator stands in for BuildKit pods only, and fetches no sources (the git URL is never
  # contacted); the registry has no authentication (the push Secret's credentials go unused).
  printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$registry" "$(printf 'sandbox:unused' | base64 -w0)" >"$state/registry-auth.json"
  apply_examples kubectl buildkit "$registry" https://github.com/example/shop.git "$registry/sandbox/base:simulated" \
    sandbox unused "$state/registry-auth.json"
  wait_examples kubectl 180
  simulated_show

  ((once)) && return 0
  cat <<MSG

The sandbox (simulated) stays up:
  export KUBECONFIG=$KUBECONFIG
  kubectl get imagebuilds -A; kubectl describe imagebuild worker -n $ns
  registry: http://$registry   metrics: http://127.0.0.1:$metrics_port/metrics
  logs: $state/operator.log, $state/node-simulator.log
Stop it with: $stop_command
MSG
}
