-- expect: no_boot\.lua:3: resolver .r1.: say how it boots
local s = scenario{ name = "x", duration = 1 }
s:resolver{ name = "r1" }
