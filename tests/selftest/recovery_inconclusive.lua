-- expect: INCONCLUSIVE 2
-- expect-inconclusive: the service recovers within 1 s of the heal
--
-- The system: a c-ares service asking its one resolver 20 names a second
-- until 1.0 s; the resolver drops every query from 1.2 s to 1.5 s, after
-- the service stopped.
-- Why INCONCLUSIVE: no lookup met the outage, and none came after it:
-- whether the service recovers was never tried. "the service recovers
-- within 1 s of the heal" must be inconclusive, neither a pass nor a
-- "never" (a metastable failure that did not happen). (Before issue 11
-- this read FAIL: no goodput after the heal looked like no recovery.)
local s = scenario{ name = "selftest recovery inconclusive", duration = 2.5, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:at(1.2, r1, "hang", { duration = 0.3 })

s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.1, to = 1.0, timeout = 0.1, attempts = 1 }

s:expect{ "the service recovers within 1 s of the heal",
          recovery{ client = "app", from = 1.5, baseline = { from = 0.2, to = 1.0 },
                    fraction = 0.5 }, at_most = 1 }
