-- Suite test: a healthy resolver, every expectation holds (PASS, exit 0).
local s = scenario{ name = "suite pass", duration = 1.5, seed = 4 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal", rate = 100,
          from = 0.1 }
s:expect{ "lookups succeed", success_rate{}, at_least = 0.99 }
s:expect{ "answers are fresh", stale_answers{}, at_most = 0 }
