-- expect: INCONCLUSIVE 2
-- expect-inconclusive: stale answers stop soon after a publish
--
-- The system: the resolvers of stale_stretch_fail.lua that never learn of
-- a publish, behind a VIP; the source publishes at 1.2 s, but the
-- service stopped asking at 1.0 s.
-- Why INCONCLUSIVE: no lookup came after the publish, so nothing could have
-- been stale: "stale answers stop soon after a publish" must be
-- inconclusive, not a stretch of 0 s.
local s = scenario{ name = "selftest stale_stretch inconclusive", duration = 2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local v3 = s:zone("../scenarios/zones/internal.v3.zone")
local truth = s:zone_source{ name = "truth", zone = v2 }
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local plain = s:vip{ name = "plain", backends = { p1, p2 } }
s:at(1.2, truth, "publish", { zone = v3 })

s:client{ name = "app", stack = "glibc", target = plain, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 1.0, timeout = 1, attempts = 1 }

s:expect{ "stale answers stop soon after a publish", stale_stretch{ client = "app" },
          at_most = 0.5 }
