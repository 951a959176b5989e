-- expect: unknown_event\.lua:4: s:on: unknown event .boot. \(did you mean .booted.
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:on(r1, "boot", function() end)
