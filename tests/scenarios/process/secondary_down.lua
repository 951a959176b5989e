-- A secondary without a file cannot come up while its source is down: its
-- restart fails after start_timeout, saying so.
local s = scenario{ name = "process nsd secondary, source down", duration = 4, seed = 23 }
local truth = s:zone_source{ name = "truth", file = "zones/internal.v2.zone" }
local n1 = s:process{ name = "n1", source = truth, config = "nsd-secondary.conf.in",
                      command = { "nsd", "-d", "-c", "{config}" }, start_timeout = 1 }
s:at(0.3, truth, "stop")
s:at(0.5, n1, "restart")
