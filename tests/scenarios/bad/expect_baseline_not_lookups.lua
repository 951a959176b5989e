-- expect: expect_baseline_not_lookups\.lua:4: s:expect\{ "readmitted", \.\.\. \}: baseline = true is for the metrics over lookups .*not readmission
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:expect{ "readmitted", readmission{ backend = r1 }, at_most = 1, baseline = true }
