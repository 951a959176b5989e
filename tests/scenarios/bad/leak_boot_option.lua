-- expect: leak_boot_option\.lua:6: start: 'file' must be a string, got number
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = z }
-- An option that raises after zone = z was taken: the reference must not leak.
r1:start{ zone = z, file = 5 }
