-- expect: INCONCLUSIVE 2
-- expect-inconclusive: no retry storm from the service
--
-- The system: the c-ares service of amplification_fail.lua, four tries,
-- through one resolver that starts answering SERVFAIL at 1.2 s; the
-- service asked only until 1.0 s.
-- Why INCONCLUSIVE: one query per lookup is what a healthy resolver gets;
-- no lookup met the SERVFAILs that make c-ares retry, so "no retry storm
-- from the service" must be inconclusive, not a pass at 1.0.
local s = scenario{ name = "selftest amplification inconclusive", duration = 2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:at(1.2, r1, "rcode", { rcode = "SERVFAIL" })

s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 1.0, timeout = 0.5, attempts = 4 }

s:expect{ "no retry storm from the service", amplification{ client = "app" }, at_most = 1.5 }
