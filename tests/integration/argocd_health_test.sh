#!/usr/bin/env bash
# Runs deploy/argocd/health.lua as Argo CD does (a Lua 5.1 chunk reading the global `obj`) on the
# status shapes the operator writes, and checks the health it reports.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
command -v lua5.1 >/dev/null || { echo "FAIL: lua5.1 is not installed: run scripts/setup.sh" >&2; exit 1; }
lua5.1 - "$repo/deploy/argocd/health.lua" <<'LUA'
local check = assert(loadfile(arg[1]))
local function health(o) obj = o; return check() end
local function expect(name, o, status, message_part)
  local hs = health(o)
  if hs.status ~= status or (message_part and not string.find(hs.message or "", message_part, 1, true)) then
    error(name .. ": got " .. tostring(hs.status) .. " '" .. tostring(hs.message) .. "', expected " .. status ..
          (message_part and (" with '" .. message_part .. "'") or ""))
  end
end
local function ib(generation, observed, conditions)
  return {metadata = {generation = generation}, status = {observedGeneration = observed, conditions = conditions}}
end
local ready = {type = "Ready", status = "True", reason = "Succeeded", message = "pushed registry/app@sha256:abc"}
local building = {type = "Ready", status = "False", reason = "Building", message = "building: linux/arm64 Pending"}
local stalled = {type = "Stalled", status = "True", reason = "InvalidSpec", message = "spec.version: \"v1.4\" is not a semantic version"}

expect("no status yet", {metadata = {generation = 1}}, "Progressing", "Waiting for the operator")
expect("ready for this generation", ib(2, 2, {ready, {type = "Stalled", status = "False"}}), "Healthy", "pushed")
expect("ready for an older generation", ib(3, 2, {ready}), "Progressing", "generation 3")
expect("building", ib(1, 1, {building, {type = "Reconciling", status = "True"}}), "Progressing", "linux/arm64")
expect("stalled", ib(1, 1, {{type = "Ready", status = "False", reason = "InvalidSpec"}, stalled}), "Degraded", "semantic version")
expect("partially succeeded is healthy", ib(1, 1, {{type = "Ready", status = "True", reason = "PartiallySucceeded",
  message = "pushed without linux/arm64"}}), "Healthy", "without linux/arm64")
print("argocd health: all checks passed")
LUA
