-- expect: setup_crash\.lua:6: r1:crash happens during the run: use s:at\(t, r1, .crash., \{\.\.\.\}\)
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = z }
-- The boot plan is parsed into an action (a reference on z) before crash refuses: none may leak.
r1:crash{ down = 1, zone = z }
