-- expect: unknown_option\.lua:3: resolver: unknown option .bot. \(did you mean .boot.\?\)
local s = scenario{ name = "x", duration = 1 }
s:resolver{ name = "r1", bot = "file", file = "../../../scenarios/zones/internal.v2.zone" }
