-- A long run to interrupt: faults are active when SIGINT arrives (tests/e2e/runner.sh).
local s = scenario{ name = "interrupt me", duration = 120 }
local v2 = s:zone("../../../scenarios/zones/internal.v2.zone")
local r = s:resolver{ name = "r", zone = v2 }
s:at(0.05, r, "hang", { name = "db-primary.internal" })
s:at(0.05, r, "capacity", { qps = 1000, queue = 10 })
s:at(0.1, function() print("faults in place") end)
