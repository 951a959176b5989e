-- Suite test: lasts 60 s, for the suite's --timeout and SIGINT (not in the directory's list).
local s = scenario{ name = "suite long", duration = 60, seed = 4 }
local v2 = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal", rate = 20 }
s:expect{ "lookups succeed", success_rate{}, at_least = 0.99 }
