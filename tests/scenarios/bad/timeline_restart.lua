-- expect: timeline_restart\.lua:6: restart: zones\[3\] must be a zone
local s = scenario{ name = "x", duration = 2 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = z }
s:at(0.1, function()
  r1:restart{ zones = { z, z, 5 } }
end)
