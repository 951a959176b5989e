-- expect: duplicate_address\.lua:4: resolver: address 127\.0\.0\.77 is already used by another object
local s = scenario{ name = "x", duration = 1 }
s:resolver{ name = "r1", address = "127.0.0.77", file = "../../../scenarios/zones/internal.v2.zone" }
s:resolver{ name = "r2", address = "127.0.0.77", file = "../../../scenarios/zones/internal.v2.zone" }
