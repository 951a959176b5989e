-- expect: INCONCLUSIVE 2
-- expect-inconclusive: no service gets the decommissioned address
--
-- The system: the unprotected VIP of stale_answers_fail.lua (an rcode check
-- that cannot read a serial); p2 crashes at 1.0 s and comes back at 1.4 s
-- from its stale disk copy, and the check lets it in. But the service
-- stopped asking at 0.8 s: only health probes met the stale p2.
-- Why INCONCLUSIVE: no lookup of app met the fault, so "no service gets the
-- decommissioned address" (0 stale answers) says nothing about the reboot
-- and must be inconclusive. (Before issue 11 this read PASS, exit 0: the
-- health probes reaching p2 after the crash counted as touching it.)
local s = scenario{ name = "selftest stale_answers inconclusive", duration = 2.5, seed = 1 }
local published = s:zone("../../scenarios/zones/internal.v2.zone")
local on_disk = s:zone("../../scenarios/zones/internal.v1.zone")
local truth = s:zone_source{ name = "truth", zone = published }
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local unprotected = s:vip{ name = "unprotected", backends = { p1, p2 },
                           health = { check = "rcode", interval = 0.2, timeout = 0.15, rise = 1,
                                      fall = 1, initial = "up" } }
s:at(1.0, p2, "crash", { down = 0.4, zone = on_disk })

s:client{ name = "app", stack = "glibc", target = unprotected, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 0.8, timeout = 1, attempts = 1 }

s:expect{ "no service gets the decommissioned address", stale_answers{ client = "app" },
          at_most = 0 }
