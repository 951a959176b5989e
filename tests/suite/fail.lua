-- Suite test: a resolver answers a wrong address from 0.5 s (FAIL, exit 1).
local s = scenario{ name = "suite fail", duration = 1.5, seed = 4 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:at(0.5, r1, "wrong", { address = "192.0.2.66" })
s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal", rate = 100,
          from = 0.1 }
s:expect{ "no wrong answer", wrong_answers{}, at_most = 0 }
s:expect{ "lookups succeed", success_rate{}, at_least = 0.5 }
