-- expect: timeline_crash\.lua:6: crash: 'zones' must be a list of zones
local s = scenario{ name = "x", duration = 2 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = z }
s:at(0.1, function()
  r1:crash{ down = 0.1, zone = z, zones = 5 }
end)
