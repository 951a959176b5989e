-- Suite test: the fault is on a resolver no client asks (INCONCLUSIVE, exit 2).
local s = scenario{ name = "suite inconclusive", duration = 1.5, seed = 4 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local idle = s:resolver{ name = "idle", zone = v2 }
s:at(0.5, idle, "hang")
s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal", rate = 100,
          from = 0.1 }
s:expect{ "lookups succeed", success_rate{}, at_least = 0.99 }
