-- expect: fault_in_setup\.lua:4: r1:hang happens during the run: use s:at\(t, r1, .hang., \{\.\.\.\}\)
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
r1:hang{}
