-- expect: expect_baseline_not_boolean\.lua:3: s:expect\{ "p50 without faults", \.\.\. \}: 'baseline' is true or false, got string
local s = scenario{ name = "x", duration = 1 }
s:expect{ "p50 without faults", latency{ to = 1 }, at_most = 5, baseline = "yes" }
