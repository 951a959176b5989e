-- What --live and --metrics watch (tests/e2e/live_metrics.py, live_screen.py):
-- a VIP with a health check in front of r1 and r2, r2 hung for 1.5 s (the
-- check takes it out, then lets it back), r3 asked directly under a
-- capacity limit that queues and drops, and two clients that stop asking
-- at 4.5 s, so the last second of the run has no lookup.
local s = scenario{ name = "live views", duration = 6, seed = 3 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local r3 = s:resolver{ name = "r3", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 }, on_down = "flush",
                   -- slow enough that app's lookups meet the hang for about a
                   -- second before the check takes r2 out (a quick check took it
                   -- out first on a loaded machine: the hang untouched, INCONCLUSIVE)
                   health = { check = "alive", interval = 0.5, timeout = 0.25, rise = 1, fall = 2,
                              initial = "up" } }
s:client{ name = "app", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 40, from = 0.5, to = 4.5, timeout = 0.5, attempts = 2 }
s:client{ name = "direct", stack = "c-ares", target = r3, names = "web.internal",
          rate = 60, from = 0.5, to = 4.5, timeout = 0.5, attempts = 1 }
s:at(2.0, r2, "hang", { duration = 1.5 })
s:at(1.5, r3, "capacity", { qps = 30, queue = 5, duration = 2.5 })
s:expect{ "app keeps resolving", success_rate{ client = "app" }, at_least = 0.5 }
