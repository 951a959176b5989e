-- expect: FAIL 1
-- expect-failed: p2 is never admitted while behind
-- expect-passed: g2 is never admitted while behind, and rejoins within 1.5 s
--
-- The system: the incident. Two resolvers behind a flow VIP whose health
-- check only asks for NOERROR; at 0.83 s p2 crashes and comes back at 2.03 s
-- from its stale disk copy (serial 2026110301, behind the published
-- 2026112502). The check admits it at once, behind, and the service's new
-- flows reach it.
-- Why FAIL: readmission fails outright when the VIP admits (or routes a
-- lookup to) a backend serving an unpublished version: "p2 is never
-- admitted while behind".
-- The bound is honest: beside it, a serial check and a resolver that gates
-- itself and fetches the published zone (g2, the same crash) rejoin
-- current within rise x interval (0.5 s), under the bound of 1.5 s; its
-- service's lookups meet the crash too (routed to g2 before the check, which
-- wants two misses 0.5 s apart, takes it out).
local s = scenario{ name = "selftest readmission fail", duration = 3, seed = 1 }
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
                     health = { check = "serial", interval = 0.5, timeout = 0.25, rise = 1,
                                fall = 2, initial = "up" } }
s:at(0.83, p2, "crash", { down = 1.2, zone = on_disk })
s:at(0.83, g2, "crash", { down = 1.2, zone = on_disk })

s:client{ name = "app", stack = "glibc", target = unprotected, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 2.7, timeout = 1, attempts = 1 }
s:client{ name = "app-gated", stack = "glibc", target = gated, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 2.7, timeout = 1, attempts = 1 }

s:expect{ "p2 is never admitted while behind", readmission{ backend = p2, vip = unprotected },
          at_most = 1.5 }
s:expect{ "g2 is never admitted while behind, and rejoins within 1.5 s",
          readmission{ backend = g2, vip = gated }, at_most = 1.5 }
