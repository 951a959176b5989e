-- expect: FAIL 1
-- expect-failed: the health check does not flap r2
-- expect-passed: the patient health check does not flap c2
--
-- The system: two resolvers behind a per-query VIP whose rcode check runs
-- every 0.1 s and takes a backend out after one bad answer and back after
-- one good one. From 0.5 s r2 answers SERVFAIL to half the queries (a
-- flaky upstream): the check takes it out and back again and again, and
-- the service's traffic sloshes with it.
-- Why FAIL: "the health check does not flap r2" bounds up/down changes at
-- 60 a minute; it reads about 300.
-- The bound is honest: beside it, the same fault behind a check that wants
-- ten bad answers in a row (1 s) before it takes a backend out changes its
-- mind at most once or twice in the run; without the SERVFAILs (the lines
-- marked "selftest: fault") the eager check does not flap either.
local s = scenario{ name = "selftest flaps fail", duration = 3, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local flappy = s:vip{ name = "flappy", backends = { r1, r2 }, policy = "query",
                      health = { check = "rcode", name = "internal", interval = 0.1,
                                 timeout = 0.1, rise = 1, fall = 1, initial = "up" } }
local c1 = s:resolver{ name = "c1", zone = v2 }
local c2 = s:resolver{ name = "c2", zone = v2 }
local patient = s:vip{ name = "patient", backends = { c1, c2 }, policy = "query",
                       health = { check = "rcode", name = "internal", interval = 0.1,
                                  timeout = 0.1, rise = 1, fall = 10, initial = "up" } }
s:at(0.5, r2, "rcode", { rcode = "SERVFAIL", fraction = 0.5 }) -- selftest: fault
s:at(0.5, c2, "rcode", { rcode = "SERVFAIL", fraction = 0.5 }) -- selftest: fault

s:client{ name = "app", stack = "c-ares", target = flappy, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2.8, timeout = 0.3, attempts = 2 }
s:client{ name = "app-patient", stack = "c-ares", target = patient, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2.8, timeout = 0.3, attempts = 2 }

s:expect{ "the health check does not flap r2", flaps{ vip = flappy, backend = r2, from = 0.5 },
          at_most = 60 }
s:expect{ "the patient health check does not flap c2",
          flaps{ vip = patient, backend = c2, from = 0.5 }, at_most = 60 }
