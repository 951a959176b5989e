-- expect: out_of_range\.lua:4: s:at\(0\.5, resolver r1, .hang.\): hang: .fraction. must be between 0(\.0)? and 1(\.0)? \(got 1\.5\)
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:at(0.5, r1, "hang", { fraction = 1.5 })
