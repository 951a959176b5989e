-- expect: FAIL 1
-- expect-failed: the ldns service recovers within 1 s of the heal
-- expect-passed: the c-ares service recovers within 1 s of the heal
--
-- The system: a service that keeps one ldns resolver object per worker
-- thread, as applications do, asking its one resolver 20 names a second.
-- From 0.8 s to 1.5 s the resolver drops every query. Each worker then has
-- a lookup in which every try failed, and ldns blacklists the resolver for
-- the life of that object: after the heal every lookup fails at once,
-- without a query. The trigger is gone but the service never comes back.
-- Why FAIL: "the ldns service recovers within 1 s of the heal" reads never
-- (goodput stays at 0 against a baseline of 20 a second).
-- The bound is honest: beside it a c-ares service meets the same outage
-- and is back to full goodput in the first second after the heal; without
-- the outage (the line marked "selftest: fault") the ldns service is too.
local s = scenario{ name = "selftest recovery fail", duration = 3.5, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:at(0.8, r1, "hang", { duration = 0.7 }) -- selftest: fault

s:client{ name = "app", stack = "ldns", target = r1, names = "db-primary.internal",
          rate = 20, arrivals = "constant", threads = 2, from = 0.1, to = 3.4, timeout = 0.1,
          attempts = 1 }
s:client{ name = "app-cares", stack = "c-ares", target = r1, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.1, to = 3.4, timeout = 0.1, attempts = 1 }

s:expect{ "the ldns service recovers within 1 s of the heal",
          recovery{ client = "app", from = 1.5, to = 3.4, baseline = { from = 0.2, to = 0.8 },
                    fraction = 0.5 }, at_most = 1 }
s:expect{ "the c-ares service recovers within 1 s of the heal",
          recovery{ client = "app-cares", from = 1.5, to = 3.4,
                    baseline = { from = 0.2, to = 0.8 }, fraction = 0.5 }, at_most = 1 }
