-- expect: client_no_stack\.lua:4: client app: 'stack' is required: glibc, glibc-res, c-ares, ldns, libunbound or exec
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", target = r1, names = "db-primary.internal" }
