-- expect: FAIL 1
-- expect-failed: lookups through r2 stop failing within 2 s
-- expect-passed: lookups through c2 stop failing within 2 s
--
-- The system: two resolvers behind a flow VIP with no health check; from
-- 0.5 s to 2.5 s r2 drops every query. New flows keep landing on it, so the
-- service's lookups keep timing out (glibc, timeout 1 s) as long as the
-- fault lasts: about 2.9 s from the injection to the last failed lookup.
-- Why FAIL: "lookups through r2 stop failing within 2 s" reads about 2.9 s.
-- The bound is honest: beside it, a VIP with an alive check (every 0.2 s,
-- one miss takes a backend out) meets the same fault; only the lookups sent
-- to c2 before the check took it out fail: about 0.35 s + the client's 1 s
-- timeout.
local s = scenario{ name = "selftest failure_span fail", duration = 3.6, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local plain = s:vip{ name = "plain", backends = { r1, r2 } }
local c1 = s:resolver{ name = "c1", zone = v2 }
local c2 = s:resolver{ name = "c2", zone = v2 }
local checked = s:vip{ name = "checked", backends = { c1, c2 },
                       health = { check = "alive", interval = 0.2, timeout = 0.15, rise = 2,
                                  fall = 1, initial = "up" } }
s:at(0.5, r2, "hang", { duration = 2 })
s:at(0.5, c2, "hang", { duration = 2 })

s:client{ name = "app", stack = "glibc", target = plain, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2.4, timeout = 1, attempts = 1,
          threads = 32 }
s:client{ name = "app-checked", stack = "glibc", target = checked, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2.4, timeout = 1, attempts = 1,
          threads = 32 }

s:expect{ "lookups through r2 stop failing within 2 s",
          failure_span{ backend = r2, vip = plain }, at_most = 2 }
s:expect{ "lookups through c2 stop failing within 2 s",
          failure_span{ backend = c2, vip = checked }, at_most = 2 }
