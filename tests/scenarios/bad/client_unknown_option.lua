-- expect: client_unknown_option\.lua:4: client app: unknown option 'timout' \(did you mean 'timeout'\?\)
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", stack = "glibc", target = r1, names = "a.internal", timout = 1 }
