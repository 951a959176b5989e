-- expect: client_rate_and_concurrency\.lua:4: client app: give 'rate' \(open loop\) or 'concurrency' \(closed loop\), not both
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", stack = "c-ares", target = r1, names = "a.internal", rate = 10, concurrency = 2 }
