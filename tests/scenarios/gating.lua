-- Health gating, external and self: a backend booted stale is never admitted
-- while its serial is behind; a backend that falls behind after a publish
-- goes down within fall x interval + timeout; re-admitted within about
-- rise x interval once current. Checked with the VIP's own probes and with
-- real queries through the VIP.
local s = scenario{ name = "gating", duration = 9, seed = 3 }
local v1 = s:zone("../../scenarios/zones/internal.v1.zone")   -- 2026110301
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")   -- 2026112502
local v3 = s:zone("zones/internal.v3.zone")                    -- 2026112601
local truth = s:zone_source{ name = "truth", zone = v2 }

local INTERVAL, TIMEOUT, RISE, FALL = 0.2, 0.1, 2, 1
local SLACK = 0.6 -- a loaded 2-core machine

-- External checks: serial (the fix) and a real dig-based exec script.
local r1 = s:resolver{ name = "r1", boot = "source" }
local r2 = s:resolver{ name = "r2", zone = v1 }                -- boots stale
local vip = s:vip{ name = "vip", backends = { r1, r2 }, policy = "query",
                   health = { check = "serial", interval = INTERVAL, timeout = TIMEOUT,
                              rise = RISE, fall = FALL, initial = "down" } }
local e1 = s:resolver{ name = "e1", boot = "source" }
local e2 = s:resolver{ name = "e2", zone = v1 }
local evip = s:vip{ name = "evip", backends = { e1, e2 },
                    health = { check = "exec", command = "./check_serial.sh",
                               interval = 0.5, timeout = 0.45, rise = 1, fall = 1 } }

-- Self-gating: g1 answers SOA probes with SERVFAIL while behind; an rcode
-- check (NOERROR required, like keepalived's DNS_CHECK) sees it.
local g1 = s:resolver{ name = "g1", zone = v1, gate = { answer = "servfail" } }
local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "refused", reload = true } }
local gvip = s:vip{ name = "gvip", backends = { g1, g2 },
                    health = { check = "rcode", interval = INTERVAL, timeout = TIMEOUT,
                               rise = RISE, fall = FALL } }

local admitted_while_behind = 0
s:on(r2, "healthy", function()
  if r2:serial() ~= truth:serial() then admitted_while_behind = admitted_while_behind + 1 end
end)

s:at(1.5, function()
  assert(vip:up(r1), "r1 (current) must be admitted")
  assert(not vip:up(r2), "r2 (stale) must not be admitted")
  assert(evip:up(e1) and not evip:up(e2), "exec check: e1 up, e2 down")
  assert(g1:gated() and not g2:gated(), "g1 gates itself, g2 is current")
  assert(not gvip:up(g1) and gvip:up(g2), "rcode check follows the self-gate")
  -- Through the VIP every answer is fresh: r2 gets no traffic.
  for _ = 1, 10 do
    local res = s:query(vip, "db-primary.internal", "A")
    assert(res.answers[1] == "10.20.0.42", "a stale answer came through the VIP")
  end

  -- r2 catches up: reload from the source; admitted after RISE probes.
  local t0 = s:now()
  r2:reload{ boot = "source" }
  assert(s:wait(r2, "healthy", RISE * INTERVAL + TIMEOUT + SLACK), "r2 not re-admitted in time")
  print(string.format("re-admitted %.3f s after its reload (bound %.1f + slack)", s:now() - t0, RISE * INTERVAL))

  -- A publish leaves everybody behind: down within FALL x INTERVAL + TIMEOUT.
  s:sleep(0.05) -- let the "healthy" listeners see this moment first
  t0 = s:now()
  truth:publish{ zone = v3 }
  assert(s:wait(r1, "unhealthy", FALL * INTERVAL + TIMEOUT + SLACK), "r1 not gated after the publish")
  print(string.format("r1 down %.3f s after the publish (bound %.1f)", s:now() - t0, FALL * INTERVAL + TIMEOUT))
  -- g2 gates itself, reloads from the source and rejoins by itself (maybe
  -- faster than a probe notices: so look at the gate, then at the VIP).
  local deadline = s:now() + 3
  while (g2:gated() or g2:serial() ~= v3.serial) and s:now() < deadline do s:sleep(0.05) end
  assert(not g2:gated() and g2:serial() == v3.serial, "g2 did not reload and lift its gate")
  s:sleep(RISE * INTERVAL + TIMEOUT + SLACK)
  assert(gvip:up(g2), "g2 not admitted after it caught up")
  assert(g1:gated(), "g1 stays gated: it has no reload")
end)

s:at(8.5, function()
  assert(admitted_while_behind == 0, "r2 admitted while behind: " .. admitted_while_behind)
  assert(not vip:up(r1) and not vip:up(r2), "both behind v3: nobody admitted")
  local res = s:query(vip, "db-primary.internal", "A", { timeout = 0.3 })
  assert(res.status == "timeout", "with no backend up the VIP drops: got " .. res.status)
  print("gating ok")
end)
