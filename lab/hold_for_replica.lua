-- Scale from zero (python -m lab --min-replicas 0): a request that arrives while no replica is in rotation
-- waits here, as behind the KEDA HTTP add-on's interceptor, until the lab has started one, or answers
-- 503 with Retry-After once the cold-start timeout has passed. It never hangs and never reaches a
-- replica that is not ready. core.msleep yields, so held requests cost HAProxy no thread.
local HOLD_MS = tonumber("@HOLD_MS@")
local BACKEND = "@BACKEND@"

local function now_ms()
  local t = core.now()
  return t.sec * 1000 + t.usec / 1000
end

core.register_action("hold_for_replica", {"http-req"}, function(txn)
  local deadline = now_ms() + HOLD_MS
  while txn.f:nbsrv(BACKEND) == 0 do
    if now_ms() >= deadline then
      txn:done(txn:reply({
        status = 503,
        reason = "Service Unavailable",
        headers = {["content-type"] = {"application/json"}, ["retry-after"] = {"1"}},
        body = '{"error":"no replica became ready within the cold-start timeout; retry shortly"}\n',
      }))
      return
    end
    core.msleep(50)
  end
end, 0)
