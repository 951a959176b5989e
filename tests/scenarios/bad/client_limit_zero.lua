-- expect: client_limit_zero\.lua:4: client app: 'limit' must be at least 1 \(lookups\); leave it out for no limit
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", stack = "c-ares", target = r1, names = "a.internal", rate = 10, limit = 0 }
