-- expect: INCONCLUSIVE 2
-- expect-inconclusive: the health check does not flap r2
--
-- The system: the flaky r2 of flaps_fail.lua (SERVFAIL to half the queries
-- from 0.5 s) behind a per-query VIP that has no health check at all; the
-- service meets the SERVFAILs throughout.
-- Why INCONCLUSIVE: no health probe ran, so nothing could flap, and
-- nothing was checked either: "the health check does not flap r2" must be
-- inconclusive, not 0 changes a minute.
local s = scenario{ name = "selftest flaps inconclusive", duration = 2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 }, policy = "query" }
s:at(0.5, r2, "rcode", { rcode = "SERVFAIL", fraction = 0.5 })

s:client{ name = "app", stack = "c-ares", target = vip, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 1.8, timeout = 0.3, attempts = 2 }

s:expect{ "the health check does not flap r2", flaps{ backend = r2, from = 0.5 }, at_most = 60 }
