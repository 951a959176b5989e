-- expect: INCONCLUSIVE 2
-- expect-inconclusive: no lookup of app is handed the decommissioned 10.20.0.15
--
-- The system: the unprotected VIP of check_fail.lua; p2 crashes at 1.0 s
-- and comes back at 1.4 s from its stale disk copy, but the service
-- stopped asking at 0.8 s.
-- Why INCONCLUSIVE: the check function counts the lookups handed
-- 10.20.0.15, and says it cannot tell (returns nil and why) when no lookup
-- of app was routed to p2 after it came back stale: a count of 0 would
-- prove nothing. The check(fn) metric must turn that into inconclusive.
local s = scenario{ name = "selftest check inconclusive", duration = 2.2, seed = 1 }
local published = s:zone("../../scenarios/zones/internal.v2.zone")
local on_disk = s:zone("../../scenarios/zones/internal.v1.zone")
local truth = s:zone_source{ name = "truth", zone = published }
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local unprotected = s:vip{ name = "unprotected", backends = { p1, p2 },
                           health = { check = "rcode", interval = 0.2, timeout = 0.15, rise = 1,
                                      fall = 1, initial = "up" } }
s:at(1.0, p2, "crash", { down = 0.4, zone = on_disk })

s:client{ name = "app", stack = "glibc", target = unprotected, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 0.8, timeout = 1, attempts = 1 }

s:expect{ "no lookup of app is handed the decommissioned 10.20.0.15",
          check(function(h)
            local stale_from
            h:each("boot", function(b)
              if b.resolver == "p2" and b.from == "file" then stale_from = stale_from or b.t end
            end)
            local reached, handed = 0, 0
            h:each("route", function(r)
              if stale_from and r.backend == "p2" and r.client == "app" and r.t >= stale_from then
                reached = reached + 1
              end
            end)
            if reached == 0 then return nil, "no lookup of app reached p2 after it came back stale" end
            h:each("lookup", function(e)
              if e.client == "app" and e.event == "ok" then
                for _, a in ipairs(e.answers or {}) do
                  if a == "10.20.0.15" then handed = handed + 1 end
                end
              end
            end)
            return handed
          end), at_most = 0 }
