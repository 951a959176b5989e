-- Suite test: an unknown fault name (bad input, exit 3).
local s = scenario{ name = "suite bad", duration = 1.5, seed = 4 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:at(0.5, r1, "explode")
