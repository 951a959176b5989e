-- expect: INCONCLUSIVE 2
-- expect-inconclusive: p99 latency of the service
--
-- The system: a service resolving through r1 alone; r2, a second resolver
-- the service does not use, answers 1.5 s late from 0.5 s on. The
-- scenario's own monitoring query (s:query) meets the delay every 0.3 s.
-- Why INCONCLUSIVE: s:query is not a client lookup; no lookup of the
-- service met the fault, so "p99 latency of the service" must be
-- inconclusive. (Before issue 11 this read PASS, exit 0: the monitoring
-- queries counted as the fault touching the system.)
local s = scenario{ name = "selftest latency inconclusive squery", duration = 2.5, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
s:at(0.5, r2, "delay", { ms = 1500 })
s:every(0.3, function()
  s:query(r2, "db-primary.internal", "A", { timeout = 0.2 })
end, { from = 0.6, to = 2 })

s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2.2, timeout = 3, attempts = 1 }

s:expect{ "p99 latency of the service", latency{ client = "app", p = 99 }, at_most = 700 }
