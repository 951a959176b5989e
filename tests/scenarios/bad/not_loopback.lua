-- expect: not_loopback\.lua:3: resolver: address 10\.0\.0\.1 is not on loopback
local s = scenario{ name = "x", duration = 1 }
s:resolver{ name = "r1", address = "10.0.0.1", file = "../../../scenarios/zones/internal.v2.zone" }
