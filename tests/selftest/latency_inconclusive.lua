-- expect: INCONCLUSIVE 2
-- expect-inconclusive: p99 latency through the VIP
--
-- The system: the VIP of latency_fail.lua, whose r2 answers 1.5 s late, but
-- from 1.5 s on; the service asked only until 1.0 s.
-- Why INCONCLUSIVE: no lookup met the delay, so the fast p99 measured the
-- system before the fault. "p99 latency through the VIP" must be
-- inconclusive ("no lookup of app met a fault"), never a pass.
local s = scenario{ name = "selftest latency inconclusive", duration = 2.5, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 }, policy = "query" }
s:at(1.5, r2, "delay", { ms = 1500 })

s:client{ name = "app", stack = "c-ares", target = vip, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 1, timeout = 3, attempts = 1 }

s:expect{ "p99 latency through the VIP", latency{ client = "app", p = 99 }, at_most = 700 }
