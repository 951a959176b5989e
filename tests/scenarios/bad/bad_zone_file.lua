-- expect: bad_zone_file\.lua:3: .*broken\.zone:4: 
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("zones/broken.zone")
