-- expect: declared_start\.lua:6: s:at\(0\.5, resolver r1, 'start'\): start: 'file' must be a string, got number
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = z }
-- A declared action is parsed at its s:at line, with the method's own parser.
s:at(0.5, r1, "start", { zone = z, file = 5 })
