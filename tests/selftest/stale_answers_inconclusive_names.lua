-- expect: INCONCLUSIVE 2
-- expect-inconclusive: no service gets a stale address
--
-- The system: the unprotected VIP of stale_answers_fail.lua; p2 crashes at
-- 0.8 s and comes back at 1.2 s from its stale disk copy, and the check lets
-- it in. The service keeps asking through the VIP, half its lookups reach
-- the stale p2, but it asks only web.internal, which is the same in the
-- stale copy and the published zone (only db-primary moved).
-- Why INCONCLUSIVE: no lookup could have got a stale answer: "no service
-- gets a stale address" (0 stale answers) tested nothing of the stale
-- reboot and must be inconclusive, not a pass.
local s = scenario{ name = "selftest stale_answers inconclusive names", duration = 2.5, seed = 1 }
local published = s:zone("../../scenarios/zones/internal.v2.zone")
local on_disk = s:zone("../../scenarios/zones/internal.v1.zone")
local truth = s:zone_source{ name = "truth", zone = published }
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local unprotected = s:vip{ name = "unprotected", backends = { p1, p2 },
                           health = { check = "rcode", interval = 0.2, timeout = 0.15, rise = 1,
                                      fall = 1, initial = "up" } }
s:at(0.8, p2, "crash", { down = 0.4, zone = on_disk })

s:client{ name = "app", stack = "glibc", target = unprotected, names = "web.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 2.2, timeout = 1, attempts = 1 }

s:expect{ "no service gets a stale address", stale_answers{ client = "app" }, at_most = 0 }
