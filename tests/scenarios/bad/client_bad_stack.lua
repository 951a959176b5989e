-- expect: client_bad_stack\.lua:4: client app: 'stack' must be one of .*did you mean .c-ares.
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", stack = "cares", target = r1, names = "db-primary.internal" }
