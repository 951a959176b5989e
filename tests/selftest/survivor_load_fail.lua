-- expect: FAIL 1
-- expect-failed: r1 carries the load alone when r2 stops
-- expect-passed: t1 carries the load alone when t2 stops
--
-- The system: two resolvers behind a per-query VIP with an alive check,
-- each sized for half the service's load: r1 serves at most 30 queries a
-- second. At 0.5 s r2 stops; the check takes it out and all 60 queries a
-- second land on r1, which drops what it cannot serve (and c-ares asks
-- again, adding to it).
-- Why FAIL: "r1 carries the load alone when r2 stops" bounds r1's busiest
-- second at its capacity (1.0 x); it reads about 2 x.
-- The bound is honest: beside it, t1, sized for the whole load (150 a
-- second), meets the same stop of its partner at about 0.4 x.
local s = scenario{ name = "selftest survivor_load fail", duration = 2.5, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 }, policy = "query",
                   health = { check = "alive", interval = 0.2, timeout = 0.15, rise = 2, fall = 1,
                              initial = "up" } }
local t1 = s:resolver{ name = "t1", zone = v2 }
local t2 = s:resolver{ name = "t2", zone = v2 }
local sized = s:vip{ name = "sized", backends = { t1, t2 }, policy = "query",
                     health = { check = "alive", interval = 0.2, timeout = 0.15, rise = 2,
                                fall = 1, initial = "up" } }
s:at(0, r1, "capacity", { qps = 30, queue = 5 })
s:at(0, t1, "capacity", { qps = 150, queue = 5 })
s:at(0.5, r2, "stop")
s:at(0.5, t2, "stop")

s:client{ name = "app", stack = "c-ares", target = vip, names = "db-primary.internal",
          rate = 60, arrivals = "constant", from = 0.1, to = 2.3, timeout = 0.3, attempts = 2 }
s:client{ name = "app-sized", stack = "c-ares", target = sized, names = "db-primary.internal",
          rate = 60, arrivals = "constant", from = 0.1, to = 2.3, timeout = 0.3, attempts = 2 }

s:expect{ "r1 carries the load alone when r2 stops", survivor_load{ resolver = r1, from = 0.5 },
          at_most = 1 }
s:expect{ "t1 carries the load alone when t2 stops", survivor_load{ resolver = t1, from = 0.5 },
          at_most = 1 }
