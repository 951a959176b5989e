-- expect: FAIL 1
-- expect-failed: p2 is never admitted while behind
-- expect-passed: g2 is never admitted while behind, and rejoins within 1.5 s
--
-- The system: two resolvers behind a flow VIP with no health check at all;
-- at 0.83 s p2 crashes and comes back at 2.03 s from its stale disk copy,
-- and stays behind to the end. Nothing can keep it out: every other new
-- flow reaches it.
-- Why FAIL: readmission judges from routing: a lookup routed to a backend
-- while it serves an unpublished version fails "p2 is never admitted while
-- behind", and a VIP without health checks fails it with that reason.
-- (Before issue 11 this read inconclusive, "p2 never caught up", as if a
-- VIP that admits everything had never admitted a stale backend.)
-- The bound is honest: beside it, g2 meets the same crash behind a serial
-- check, gates itself, fetches the published zone and rejoins in time.
local s = scenario{ name = "selftest readmission fail nocheck", duration = 3, seed = 1 }
local published = s:zone("../../scenarios/zones/internal.v2.zone")
local on_disk = s:zone("../../scenarios/zones/internal.v1.zone")
local truth = s:zone_source{ name = "truth", zone = published }
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local plain = s:vip{ name = "plain", backends = { p1, p2 } }
local g1 = s:resolver{ name = "g1", boot = "source", gate = { answer = "servfail", reload = true } }
local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail", reload = true } }
local gated = s:vip{ name = "gated", backends = { g1, g2 },
                     health = { check = "serial", interval = 0.5, timeout = 0.25, rise = 1,
                                fall = 2, initial = "up" } }
s:at(0.83, p2, "crash", { down = 1.2, zone = on_disk })
s:at(0.83, g2, "crash", { down = 1.2, zone = on_disk })

s:client{ name = "app", stack = "glibc", target = plain, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 2.7, timeout = 1, attempts = 1 }
s:client{ name = "app-gated", stack = "glibc", target = gated, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 2.7, timeout = 1, attempts = 1 }

s:expect{ "p2 is never admitted while behind", readmission{ backend = p2, vip = plain },
          at_most = 1.5 }
s:expect{ "g2 is never admitted while behind, and rejoins within 1.5 s",
          readmission{ backend = g2, vip = gated }, at_most = 1.5 }
