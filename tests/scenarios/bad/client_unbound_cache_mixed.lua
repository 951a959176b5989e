-- expect: client_unbound_cache_mixed\.lua:5: client b: every libunbound client of a run must have the same 'cache'
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "a", stack = "libunbound", target = r1, names = "a.internal" }
s:client{ name = "b", stack = "libunbound", target = r1, names = "a.internal", cache = false }
