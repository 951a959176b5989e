-- expect: INCONCLUSIVE 2
-- expect-inconclusive: no service gets a forged address
--
-- The system: the service of wrong_answers_fail.lua spreading its lookups
-- over two resolvers, of which r2 forges every A answer, but only from
-- 1.2 s on; the service asked until 1.0 s.
-- Why INCONCLUSIVE: no lookup met the forging resolver, so 0 wrong answers
-- says nothing about it: "no service gets a forged address" must be
-- inconclusive ("no lookup of app met a fault").
local s = scenario{ name = "selftest wrong_answers inconclusive", duration = 2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
s:at(1.2, r2, "wrong", { address = "192.0.2.66" })

s:client{ name = "app", stack = "c-ares", target = { r1, r2 }, rotate = true,
          names = "db-primary.internal", rate = 20, arrivals = "constant", from = 0.2, to = 1.0 }

s:expect{ "no service gets a forged address", wrong_answers{ client = "app" }, at_most = 0 }
