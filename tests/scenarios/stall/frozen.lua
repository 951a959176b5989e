-- A run the test freezes (SIGSTOP, then SIGCONT 1.5 s later): a stall of the harness, not of the system.
-- tests/e2e/stall.sh plays it twice: left alone it passes (every lookup
-- about 300 ms); frozen mid-run, the lookups in flight when it stopped come
-- back 1.5 s late and the latency bound fails, which the history's stall
-- line makes inconclusive: the failure is the harness's.
local s = scenario{ name = "frozen harness", duration = 5, seed = 3 }
local zone = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
s:at(0.3, r1, "delay", { ms = 300 })
s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal",
          rate = 20, from = 0.5, to = 4.5, timeout = 4, attempts = 1 }
s:expect{ "every lookup within a second", latency{ client = "app", p = "max" }, at_most = 1000 }
