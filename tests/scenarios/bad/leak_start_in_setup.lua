-- expect: leak_start_in_setup\.lua:6: r1:start happens during the run
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = z }
-- The boot plan is parsed (a reference on z) before start refuses: none may leak.
r1:start{ zone = z }
