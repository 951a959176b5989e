-- expect: FAIL 1
-- expect-failed: no service gets a forged address
--
-- The system: a service (c-ares, rotate) spreading its lookups over two
-- resolvers. From 0.5 s r2 answers every A query with 192.0.2.66, an
-- address no version of the zone ever had (a hijacked or corrupted
-- resolver); every other query of the service goes to it.
-- Why FAIL: "no service gets a forged address" counts wrong answers, at most
-- 0; about half the lookups after 0.5 s are wrong.
-- The bound is honest: without the fault line (the runner plays the file
-- again without the lines marked "selftest: fault") no answer is wrong.
local s = scenario{ name = "selftest wrong_answers fail", duration = 2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
s:at(0.5, r2, "wrong", { address = "192.0.2.66" }) -- selftest: fault

s:client{ name = "app", stack = "c-ares", target = { r1, r2 }, rotate = true,
          names = "db-primary.internal", rate = 20, arrivals = "constant", from = 0.2, to = 1.8 }

s:expect{ "no service gets a forged address", wrong_answers{ client = "app" }, at_most = 0 }
