#!/usr/bin/env bash
# `kubectl apply -f FILE` for objects that several tests apply to one control plane: when two first
# creations race, the loser's AlreadyExists is retried (the next apply patches). Prints the last
# error and fails after five attempts.
#   apply.sh FILE     (uses $KUBECONFIG)
set -uo pipefail
file=${1:?usage: apply.sh FILE}
for attempt in 1 2 3 4 5; do
  out=$(kubectl apply -f "$file" 2>&1) && exit 0
  ((attempt < 5)) && sleep 1
done
echo "$out" >&2
exit 1
