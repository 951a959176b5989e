-- expect: INCONCLUSIVE 2
-- expect-inconclusive: g2 is never admitted while behind, and rejoins within 1.5 s
--
-- The system: the fixed pair of readmission_fail.lua (a serial check, and
-- resolvers that gate themselves while behind), with its service asking
-- throughout; but the patch run reboots g2 from the zone source, not from
-- its disk copy: it comes back current.
-- Why INCONCLUSIVE: g2 was never behind, so whether the VIP keeps a stale
-- backend out and takes it back once current was never put to the test:
-- "g2 is never admitted while behind, and rejoins within 1.5 s" must be
-- inconclusive.
local s = scenario{ name = "selftest readmission inconclusive", duration = 2.5, seed = 1 }
local published = s:zone("../../scenarios/zones/internal.v2.zone")
local truth = s:zone_source{ name = "truth", zone = published }
local g1 = s:resolver{ name = "g1", boot = "source", gate = { answer = "servfail", reload = true } }
local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail", reload = true } }
local gated = s:vip{ name = "gated", backends = { g1, g2 },
                     health = { check = "serial", interval = 0.2, timeout = 0.15, rise = 2,
                                fall = 1, initial = "up" } }
s:at(0.8, g2, "crash", { down = 0.4 })

s:client{ name = "app-gated", stack = "glibc", target = gated, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 2.2, timeout = 1, attempts = 1 }

s:expect{ "g2 is never admitted while behind, and rejoins within 1.5 s",
          readmission{ backend = g2, vip = gated }, at_most = 1.5 }
