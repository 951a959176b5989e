-- expect: unknown_method\.lua:4: .*resolver has no field or method .hnag. \(did you mean .hang.\?\)
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:at(0.5, r1, "hnag")
