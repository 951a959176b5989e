-- expect: setup_reload\.lua:6: r1:reload happens during the run
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = z }
-- A file is loaded (a new zone version) before reload refuses: it must not leak.
r1:reload{ file = "../../../scenarios/zones/internal.v2.zone" }
