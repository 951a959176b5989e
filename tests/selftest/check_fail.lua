-- expect: FAIL 1
-- expect-failed: no lookup of app is handed the decommissioned 10.20.0.15
-- expect-passed: no lookup of app-gated is handed the decommissioned 10.20.0.15
--
-- The system: the incident, as in stale_answers_fail.lua: p2 crashes at
-- 0.9 s and comes back at 2.1 s from its stale disk copy behind a VIP whose
-- rcode check lets it in; db-primary resolves to the decommissioned
-- 10.20.0.15 for every other new flow.
-- Why FAIL: the escape hatch, check(fn), counts by hand in the history the
-- lookups of app whose answers hold 10.20.0.15: "no lookup of app is handed
-- the decommissioned 10.20.0.15" allows 0, and several are.
-- The bound is honest: the same function over the fixed pair (a serial
-- check and self-gating resolvers, the same crash) counts 0.
local s = scenario{ name = "selftest check fail", duration = 3.6, seed = 1 }
local published = s:zone("../../scenarios/zones/internal.v2.zone")
local on_disk = s:zone("../../scenarios/zones/internal.v1.zone")
local truth = s:zone_source{ name = "truth", zone = published }
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local unprotected = s:vip{ name = "unprotected", backends = { p1, p2 },
                           health = { check = "rcode", interval = 0.2, timeout = 0.15, rise = 1,
                                      fall = 1, initial = "up" } }
local g1 = s:resolver{ name = "g1", boot = "source", gate = { answer = "servfail", reload = true } }
local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail", reload = true } }
local gated = s:vip{ name = "gated", backends = { g1, g2 },
                     health = { check = "serial", interval = 0.5, timeout = 0.25, rise = 2,
                                fall = 2, initial = "up" } }
s:at(0.9, p2, "crash", { down = 1.2, zone = on_disk })
s:at(0.9, g2, "crash", { down = 1.2, zone = on_disk })

s:client{ name = "app", stack = "glibc", target = unprotected, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 3.3, timeout = 1, attempts = 1 }
s:client{ name = "app-gated", stack = "glibc", target = gated, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 3.3, timeout = 1, attempts = 1 }

-- How many completed lookups of a client were handed an address.
local function handed(client, address)
  return check(function(h)
    local n = 0
    h:each("lookup", function(e)
      if e.client == client and e.event == "ok" then
        for _, a in ipairs(e.answers or {}) do
          if a == address then n = n + 1 end
        end
      end
    end)
    return n
  end)
end
s:expect{ "no lookup of app is handed the decommissioned 10.20.0.15",
          handed("app", "10.20.0.15"), at_most = 0 }
s:expect{ "no lookup of app-gated is handed the decommissioned 10.20.0.15",
          handed("app-gated", "10.20.0.15"), at_most = 0 }
