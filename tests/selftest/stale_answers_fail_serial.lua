-- expect: FAIL 1
-- expect-failed: no service gets the decommissioned address
--
-- The system: two resolvers behind a flow VIP with a serial health check
-- (the fix of the incident). At 0.8 s p2 crashes and comes back at 1.2 s
-- from a disk copy whose serial someone set by hand from a date
-- (2026120101, above the published 2026112502) but whose data is old:
-- db-primary is the decommissioned 10.20.0.15. The serial check admits it,
-- and every other new flow gets the old address.
-- Why FAIL: stale means "not what the published version answers", whatever
-- the serial says: "no service gets the decommissioned address" counts
-- those answers as stale, at most 0. (Before issue 11 they read as wrong,
-- and this expectation passed.)
local s = scenario{ name = "selftest stale_answers fail serial", duration = 2.5, seed = 1 }
local published = s:zone("../../scenarios/zones/internal.v2.zone")
local on_disk = s:zone("zones/internal.stale-high-serial.zone")
local truth = s:zone_source{ name = "truth", zone = published }
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local vip = s:vip{ name = "vip", backends = { p1, p2 },
                   health = { check = "serial", interval = 0.2, timeout = 0.15, rise = 1, fall = 1,
                              initial = "up" } }
s:at(0.8, p2, "crash", { down = 0.4, zone = on_disk }) -- selftest: fault

s:client{ name = "app", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 2.2, timeout = 1, attempts = 1 }

s:expect{ "no service gets the decommissioned address", stale_answers{ client = "app" },
          at_most = 0 }
