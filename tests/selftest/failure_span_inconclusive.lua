-- expect: INCONCLUSIVE 2
-- expect-inconclusive: lookups through r2 stop failing within 2 s
--
-- The system: two resolvers behind a VIP with an alive health check; r2
-- wedges at 1.2 s and the check takes it out, but the service stopped
-- asking at 1.0 s: only health probes met the fault.
-- Why INCONCLUSIVE: no lookup reached r2 while it was wedged, so how long
-- lookups kept failing was never measured: "lookups through r2 stop failing
-- within 2 s" must be inconclusive, not 0 s.
local s = scenario{ name = "selftest failure_span inconclusive", duration = 2.2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 },
                   health = { check = "alive", interval = 0.2, timeout = 0.15, rise = 2, fall = 1,
                              initial = "up" } }
s:at(1.2, r2, "hang")

s:client{ name = "app", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 1.0, timeout = 1, attempts = 1 }

s:expect{ "lookups through r2 stop failing within 2 s", failure_span{ backend = r2, vip = vip },
          at_most = 2 }
