-- nsd as a secondary of the run's zone source: no zone file of its own, it
-- transfers the zone at start (before the run's clock starts); the source
-- publishes a new version and a restart transfers that one.
local s = scenario{ name = "process nsd secondary", duration = 5, seed = 17 }
local truth = s:zone_source{ name = "truth", file = "zones/internal.v2.zone" }
local n1 = s:process{ name = "n1", source = truth, config = "nsd-secondary.conf.in",
                      command = { "nsd", "-d", "-c", "{config}" } }
s:client{ name = "app", stack = "c-ares", target = n1, names = "db-primary.internal",
          rate = 20, from = 0.1, to = 4.9, timeout = 0.5, attempts = 2 }
s:at(0.3, function()
  print("serial", n1:serial(), s:query(n1, "db-primary.internal", "A").answers[1])
end)
s:at(1.0, truth, "publish", { file = "../zones/internal.v3.zone" })
s:at(1.2, function()
  n1:restart()
  assert(s:wait(n1, "booted", 3.5), "n1 did not come back within 3.5 s")
  print("serial", n1:serial(), s:query(n1, "db-primary.internal", "A").answers[1])
end)
