-- expect: client_bad_name\.lua:4: client app: names\[2\] 'a\.\.b' is not a domain name
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", stack = "ldns", target = r1, names = { "ok.internal", "a..b" } }
