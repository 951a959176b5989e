-- expect: FAIL 1
-- expect-failed: stale answers stop soon after a publish
-- expect-passed: stale answers through the gated VIP stop soon after a publish
--
-- The system: two resolvers that loaded the zone from the source at start
-- and are never told about a publish (no NOTIFY, no refresh), behind a VIP
-- whose rcode check cannot read a serial. At 1.0 s the source publishes a
-- new version (db-primary moves to 10.20.0.44); the resolvers keep
-- answering with the old address to the end of the run.
-- Why FAIL: "stale answers stop soon after a publish" measures how long the
-- service still got the replaced address after the publish: about 1.4 s
-- (to the end of the run), against a bound of 0.5 s.
-- The bound is honest: beside it, resolvers that gate themselves when the
-- publish leaves them behind and fetch the new version at once, behind a
-- serial check, stop serving the old address within milliseconds.
local s = scenario{ name = "selftest stale_stretch fail", duration = 2.6, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local v3 = s:zone("../scenarios/zones/internal.v3.zone")   -- db-primary 10.20.0.44
local truth = s:zone_source{ name = "truth", zone = v2 }
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local plain = s:vip{ name = "plain", backends = { p1, p2 },
                     health = { check = "rcode", interval = 0.2, timeout = 0.15, rise = 1,
                                fall = 1, initial = "up" } }
local g1 = s:resolver{ name = "g1", boot = "source", gate = { answer = "servfail", reload = true } }
local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail", reload = true } }
local gated = s:vip{ name = "gated", backends = { g1, g2 },
                     health = { check = "serial", interval = 0.2, timeout = 0.15, rise = 2,
                                fall = 1, initial = "up" } }
s:at(1.0, truth, "publish", { zone = v3 })

s:client{ name = "app", stack = "glibc", target = plain, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 2.4, timeout = 1, attempts = 1 }
s:client{ name = "app-gated", stack = "glibc", target = gated, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 2.4, timeout = 1, attempts = 1 }

s:expect{ "stale answers stop soon after a publish", stale_stretch{ client = "app" },
          at_most = 0.5 }
s:expect{ "stale answers through the gated VIP stop soon after a publish",
          stale_stretch{ client = "app-gated" }, at_most = 0.5 }
