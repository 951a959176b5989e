-- Long enough to be interrupted.
local s = scenario{ name = "verdict long", duration = 30, seed = 4 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal", rate = 100 }
s:expect{ "lookups succeed", success_rate{}, at_least = 0.99 }
