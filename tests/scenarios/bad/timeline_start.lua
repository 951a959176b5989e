-- expect: timeline_start\.lua:7: start: 'file' must be a string, got number
local s = scenario{ name = "x", duration = 2 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = z }
s:at(0.1, function()
  r1:stop()
  r1:start{ zone = z, file = 5 }
end)
