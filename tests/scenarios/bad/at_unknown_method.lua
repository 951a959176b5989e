-- expect: ^dnschaos: [^ ]*/at_unknown_method\.lua:6: s:at\(1\.0, resolver r1, 'dleay'\): resolver has no field or method 'dleay' \(did you mean 'delay'\?\)
-- A declared action's unknown method: its file:line once, and the closest method.
local s = scenario{ name = "unknown method in a declared action", duration = 2 }
local truth = s:zone_source{ name = "truth", file = "../zones/internal.v3.zone" }
local r1 = s:resolver{ name = "r1", boot = "source" }
s:at(1.0, r1, "dleay", { ms = 5 })
