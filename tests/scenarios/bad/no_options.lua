-- expect: no_options\.lua:4: .*stop: unknown option .x. \(stop takes no options\)
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:at(0.5, r1, "stop", { x = 1 })
