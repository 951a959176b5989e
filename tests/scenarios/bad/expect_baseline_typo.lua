-- expect: expect_baseline_typo\.lua:3: s:expect: unknown option .basline. \(did you mean .baseline.\?\)
local s = scenario{ name = "x", duration = 1 }
s:expect{ "p50 without faults", latency{ to = 1 }, at_most = 5, basline = true }
