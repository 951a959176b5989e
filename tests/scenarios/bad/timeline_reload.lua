-- expect: timeline_reload\.lua:7: s:at\(0\.2, resolver r1, 'reload'\): reload: r1 is down: start it instead of reloading
local s = scenario{ name = "x", duration = 2 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = z }
s:at(0.1, r1, "stop")
-- Parsed at setup (a reference on z), refused when due: the timeline holds the reference till the end.
s:at(0.2, r1, "reload", { zone = z })
