-- expect: duplicate_name\.lua:4: resolver: the name .r1. is already taken
local s = scenario{ name = "x", duration = 1 }
s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
