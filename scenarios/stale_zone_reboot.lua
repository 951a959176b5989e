-- The incident: two resolvers behind one virtual IP. A patch run reboots r2,
-- which comes back from a zone file cached on its disk weeks ago and
-- confidently answers with a decommissioned host's address (10.20.0.15).
--
-- Two VIPs side by side, each in front of its own pair:
--   "unprotected": what production had: no health check that reads a serial
--                  (dnsdist's and keepalived's checks pass on any answer)
--   "gated":       the fix: a serial check against the published zone, and
--                  resolvers that refuse to come up healthy while behind
-- A client asks through each VIP, and every answer is counted as fresh,
-- stale or failed.
--
-- Run: dnschaos run scenarios/stale_zone_reboot.lua -v --history run.jsonl
local s = scenario{ name = "stale zone reboot", duration = 10, seed = 7 }

local published = s:zone("zones/internal.v2.zone") -- serial 2026112502: db-primary 10.20.0.42
local on_disk = s:zone("zones/internal.v1.zone")   -- serial 2026110301: db-primary 10.20.0.15

local truth = s:zone_source{ name = "truth", zone = published }

-- Production as it was.
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local unprotected = s:vip{ name = "unprotected", backends = { p1, p2 }, policy = "flow",
                           health = { check = "rcode", interval = 0.5, rise = 1, fall = 1,
                                      initial = "up" } }

-- The fix.
local g1 = s:resolver{ name = "g1", boot = "source", gate = { answer = "servfail" } }
local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail" } }
local gated = s:vip{ name = "gated", backends = { g1, g2 }, policy = "flow",
                     health = { check = "serial", interval = 0.5, timeout = 0.25,
                                rise = 2, fall = 1 } }

-- The patch run: the second resolver of each pair reboots from its stale disk copy.
s:at(3, p2, "crash", { down = 1, zone = on_disk })
s:at(3, g2, "crash", { down = 1, zone = on_disk })

local counts = {}
for _, name in ipairs{ "unprotected", "gated" } do
  counts[name] = { fresh = 0, stale = 0, failed = 0 }
end
local function ask(vip)
  local c = counts[vip.name]
  local res = s:query(vip, "db-primary.internal", "A", { timeout = 0.3 })
  local addr = res.answers and res.answers[1]
  if addr == "10.20.0.42" then
    c.fresh = c.fresh + 1
  elseif addr == "10.20.0.15" then
    c.stale = c.stale + 1
    c.first_stale = c.first_stale or s:now()
  else
    c.failed = c.failed + 1
  end
end
s:every(0.05, function() ask(unprotected) end, { from = 1, to = 9.5 })
s:every(0.05, function() ask(gated) end, { from = 1, to = 9.5 })

s:at(9.8, function()
  for _, name in ipairs{ "unprotected", "gated" } do
    local c = counts[name]
    print(string.format("%-12s %4d fresh, %4d stale (decommissioned 10.20.0.15), %3d failed%s",
                        name, c.fresh, c.stale, c.failed,
                        c.first_stale and string.format("; stale from %.2f s on", c.first_stale) or ""))
  end
  print(string.format("p2 and g2 serve serial %d, published %d: p2 answers anyway; g2 is gated",
                      p2:serial(), truth:serial()))
end)
