-- The first health probe waits for the backend's boot. r1 and r2 boot by a
-- transfer from the zone source, which takes a few turns of the loop; a
-- probe sent before it completes gets REFUSED, and with fall = 1 the VIP
-- took the backend down for a whole interval at the start of every run
-- (2 s here). Now no probe reaches a backend before its boot line, and
-- neither backend goes down.
local s = scenario{ name = "health boot", duration = 1.5, seed = 5 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
s:zone_source{ name = "truth", zone = v2 }
local r1 = s:resolver{ name = "r1", boot = "source" }
local r2 = s:resolver{ name = "r2", boot = "source" }
local vip = s:vip{ name = "vip", backends = { r1, r2 },
                   health = { check = "rcode", interval = 2, timeout = 0.5, rise = 1, fall = 1,
                              initial = "up" } }
s:client{ name = "app", stack = "c-ares", target = vip, names = "db-primary.internal",
          rate = 20, from = 0.2 }

s:expect{ "no backend goes down while it boots",
          check(function(h)
            local downs = 0
            h:each("health", function(e) if e.event == "down" then downs = downs + 1 end end)
            return downs
          end), at_most = 0 }

s:expect{ "no probe before the backend's boot is complete",
          check(function(h)
            local booted, early, probes = {}, 0, 0
            h:each(nil, function(e)
              if e.type == "boot" then booted[e.resolver] = true end
              if e.type == "health" and e.event == "probe" then
                probes = probes + 1
                if not booted[e.backend] then early = early + 1 end
              end
            end)
            if probes == 0 then return nil, "no probe ran" end
            return early
          end), at_most = 0 }

s:expect{ "lookups through the VIP succeed from the start", success_rate{ client = "app" },
          at_least = 0.99 }
