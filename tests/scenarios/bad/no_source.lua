-- expect: no_source\.lua:3: resolver: boot = .source. needs source = <zone source> \(there are 0\)
local s = scenario{ name = "x", duration = 1 }
s:resolver{ name = "r1", boot = "source" }
