-- The stale secondary: nsd, a secondary of the source, restarts from its
-- old copy of the zone while the source is unreachable. It serves the old
-- serial (its boot line says so) and its clients get the old answers.
local s = scenario{ name = "process nsd stale secondary", duration = 4.5, seed = 19 }
local truth = s:zone_source{ name = "truth", file = "zones/internal.v2.zone" }
local n1 = s:process{ name = "n1", source = truth, config = "nsd-secondary.conf.in",
                      command = { "nsd", "-d", "-c", "{config}" } }
s:client{ name = "app", stack = "c-ares", target = n1, names = "db-primary.internal",
          rate = 20, from = 0.1, to = 4.4, timeout = 0.5, attempts = 2 }
s:at(0.8, truth, "stop")
s:at(1.0, function()
  n1:restart{ zone_file = "zones/internal.v1.zone" }
  assert(s:wait(n1, "booted", 3), "n1 did not come back within 3 s")
  print("serial", n1:serial(), s:query(n1, "db-primary.internal", "A").answers[1])
end)
s:expect{ "the old copy's answers after the restart", stale_answers{ client = "app", from = 3.0 },
          at_least = 1, baseline = true }
