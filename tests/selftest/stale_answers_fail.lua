-- expect: FAIL 1
-- expect-failed: no service gets the decommissioned address
-- expect-passed: no stale answer through the gated VIP
--
-- The system: the incident. Two resolvers behind a flow VIP whose health
-- check only asks for NOERROR (it cannot read a serial); at 0.9 s a patch
-- run crashes p2, which comes back at 2.1 s from a zone file cached on its
-- disk weeks ago (serial 2026110301: db-primary is the decommissioned
-- 10.20.0.15). The check passes it, and every other new flow gets the stale
-- address.
-- Why FAIL: "no service gets the decommissioned address" counts stale
-- answers for app, at most 0; several come through.
-- The bound is honest: beside it the fix (a serial check, and resolvers that
-- gate themselves while behind and fetch the published zone) meets the same
-- crash: its lookups reach g2 while it is down, and none gets a stale answer.
local s = scenario{ name = "selftest stale_answers fail", duration = 3.6, seed = 1 }
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
                     health = { check = "serial", interval = 0.5, timeout = 0.25, rise = 2,
                                fall = 2, initial = "up" } }

s:at(0.9, p2, "crash", { down = 1.2, zone = on_disk })
s:at(0.9, g2, "crash", { down = 1.2, zone = on_disk })

s:client{ name = "app", stack = "glibc", target = unprotected, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 3.3, timeout = 1, attempts = 1 }
s:client{ name = "app-gated", stack = "glibc", target = gated, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.3, to = 3.3, timeout = 1, attempts = 1 }

s:expect{ "no service gets the decommissioned address", stale_answers{ client = "app" },
          at_most = 0 }
s:expect{ "no stale answer through the gated VIP", stale_answers{ client = "app-gated" },
          at_most = 0 }
