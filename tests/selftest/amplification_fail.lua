-- expect: FAIL 1
-- expect-failed: no retry storm from the service
-- expect-passed: no retry storm from the service that gives up
--
-- The system: a service resolving with c-ares (4 tries) through one
-- resolver; from 0.5 s the resolver answers SERVFAIL to everything (its
-- upstream is gone). c-ares asks again on every SERVFAIL, up to its tries:
-- each lookup sends four queries where a healthy one sends one, multiplying
-- the load on a resolver that is already failing.
-- Why FAIL: "no retry storm from the service" bounds wire queries per
-- lookup at 1.5; it reads about 4 after the fault.
-- The bound is honest: a second client, the same stack asking the same
-- failing resolver with a single try, sends one query per lookup; and
-- without the SERVFAILs (the line marked "selftest: fault") so does app.
local s = scenario{ name = "selftest amplification fail", duration = 2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:at(0.5, r1, "rcode", { rcode = "SERVFAIL" }) -- selftest: fault

s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 1.8, timeout = 0.5, attempts = 4 }
s:client{ name = "app-once", stack = "c-ares", target = r1, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 1.8, timeout = 0.5, attempts = 1 }

s:expect{ "no retry storm from the service", amplification{ client = "app", from = 0.5 },
          at_most = 1.5 }
s:expect{ "no retry storm from the service that gives up",
          amplification{ client = "app-once", from = 0.5 }, at_most = 1.5 }
