-- expect: missing_zone_file\.lua:3: .*zones/nope\.zone: cannot open: No such file or directory
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("zones/nope.zone")
