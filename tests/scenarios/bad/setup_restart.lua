-- expect: setup_restart\.lua:6: restart: zones\[2\] must be a zone
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = z }
-- zones[1] is referenced before zones[2] is refused: it must not leak.
r1:restart{ zones = { z, "not a zone" } }
