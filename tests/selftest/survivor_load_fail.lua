-- expect: FAIL 1
-- expect-failed: r1 carries the load alone when r2 stops
-- expect-passed: t1 carries the load alone when t2 stops
--
-- The system: a service (c-ares, rotate) spreading 60 lookups a second over
-- its two resolvers, each sized with some headroom over half the load: r1
-- serves at most 45 queries a second. At 0.5 s r2 stops; every query sent
-- to it is refused and asked of r1 at once, so all 60 a second land on r1,
-- which drops what it cannot serve (and c-ares asks again, adding to it).
-- Why FAIL: "r1 carries the load alone when r2 stops" bounds r1's busiest
-- second at its capacity (1.0 x); it reads about 1.6 x.
-- The bound is honest: beside it, t1, sized for the whole load (150 a
-- second), meets the same stop of its partner at about 0.4 x; and without
-- the stop (the lines marked "selftest: fault") r1 reads about 0.7 x.
local s = scenario{ name = "selftest survivor_load fail", duration = 3.2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local t1 = s:resolver{ name = "t1", zone = v2 }
local t2 = s:resolver{ name = "t2", zone = v2 }
s:at(0, r1, "capacity", { qps = 45, queue = 5 })
s:at(0, t1, "capacity", { qps = 150, queue = 5 })
s:at(0.5, r2, "stop") -- selftest: fault
s:at(0.5, t2, "stop") -- selftest: fault

s:client{ name = "app", stack = "c-ares", target = { r1, r2 }, rotate = true,
          names = "db-primary.internal", rate = 60, arrivals = "constant", from = 0.1, to = 3.0,
          timeout = 0.3, attempts = 2 }
s:client{ name = "app-sized", stack = "c-ares", target = { t1, t2 }, rotate = true,
          names = "db-primary.internal", rate = 60, arrivals = "constant", from = 0.1, to = 3.0,
          timeout = 0.3, attempts = 2 }

s:expect{ "r1 carries the load alone when r2 stops", survivor_load{ resolver = r1, from = 0.5 },
          at_most = 1 }
s:expect{ "t1 carries the load alone when t2 stops", survivor_load{ resolver = t1, from = 0.5 },
          at_most = 1 }
