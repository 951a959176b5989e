-- A window with no lookup in it cannot pass.
local s = scenario{ name = "verdict empty window", duration = 1.5, seed = 4 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal", rate = 100,
          from = 0.1, to = 0.5 }
s:expect{ "lookups succeed late", success_rate{ from = 1 }, at_least = 0.99 }
