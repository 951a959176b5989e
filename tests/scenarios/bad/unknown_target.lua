-- expect: unknown_target\.lua:4: unknown target .r3. \(known: r1\)
local s = scenario{ name = "x", duration = 1 }
s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:at(0.5, "r3", "hang")
