-- expect: leak_source_option\.lua:5: zone_source: 'file' must be a string, got number
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
-- An option that raises after zone = z was taken: the reference must not leak.
s:zone_source{ zone = z, file = 5 }
