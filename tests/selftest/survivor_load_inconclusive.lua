-- expect: INCONCLUSIVE 2
-- expect-inconclusive: r1 carries the load alone when r2 stops
--
-- The system: the service of survivor_load_fail.lua spreading its lookups
-- over two resolvers each sized for about half the load (r1 serves 45
-- queries a second); r2 stops at 1.2 s, but the service stopped asking at
-- 1.0 s.
-- Why INCONCLUSIVE: no query reached the survivor after its partner
-- stopped, so whether it carries the load alone was never tried: "r1
-- carries the load alone when r2 stops" must be inconclusive.
local s = scenario{ name = "selftest survivor_load inconclusive", duration = 2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
s:at(0, r1, "capacity", { qps = 45, queue = 5 })
s:at(1.2, r2, "stop")

s:client{ name = "app", stack = "c-ares", target = { r1, r2 }, rotate = true,
          names = "db-primary.internal", rate = 60, arrivals = "constant", from = 0.1, to = 1.0,
          timeout = 0.3, attempts = 2 }

s:expect{ "r1 carries the load alone when r2 stops", survivor_load{ resolver = r1, from = 1.2 },
          at_most = 1 }
