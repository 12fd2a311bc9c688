-- Argo CD health check for imagebuild.io/ImageBuild (key: imagebuild.io_ImageBuild).
-- Healthy: Ready=True for the current generation (status.observedGeneration == metadata.generation).
-- Degraded: Stalled=True (InvalidSpec, BuildFailed, TimedOut, MergeFailed, ...: waiting does not help).
-- Progressing: anything else, with the Ready condition's message.
local hs = {status = "Progressing", message = "Waiting for the operator to observe the ImageBuild"}
if obj.status == nil then
  return hs
end
local ready, stalled
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then ready = c end
    if c.type == "Stalled" then stalled = c end
  end
end
local current = obj.metadata.generation ~= nil and obj.status.observedGeneration == obj.metadata.generation
if ready ~= nil and ready.status == "True" and current then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  return hs
end
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message or stalled.reason or "Stalled"
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.message = "Waiting for the operator to observe generation " .. tostring(obj.metadata.generation)
elseif ready ~= nil and ready.message ~= nil and ready.message ~= "" then
  hs.message = ready.message
end
return hs
