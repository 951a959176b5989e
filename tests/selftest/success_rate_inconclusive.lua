-- expect: INCONCLUSIVE 2
-- expect-inconclusive: lookups through the VIP keep succeeding
--
-- The system: the half-dead VIP of success_rate_fail.lua (two resolvers
-- behind a flow-pinned VIP, no health check), but the service stopped
-- asking at 1.0 s and r2 wedged only at 1.5 s.
-- Why INCONCLUSIVE: every lookup succeeded, yet none of them met the hang,
-- so the success rate says nothing about how the service lives through it.
-- "lookups through the VIP keep succeeding" (no window: the whole run)
-- must be inconclusive ("no lookup of app met a fault"), never a pass.
local s = scenario{ name = "selftest success_rate inconclusive", duration = 2.5, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 } }
s:at(1.5, r2, "hang")

s:client{ name = "app", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 1, timeout = 1, attempts = 1 }

s:expect{ "lookups through the VIP keep succeeding", success_rate{ client = "app" },
          at_least = 0.9 }
