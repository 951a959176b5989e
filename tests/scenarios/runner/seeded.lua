-- Random fault decisions from the run's seed: run twice with the same --seed,
-- the per-query decisions in the history must be identical (tests/e2e/runner.sh).
local s = scenario{ name = "seeded decisions", duration = 20 }
local v2 = s:zone("../../../scenarios/zones/internal.v2.zone")
local r = s:resolver{ name = "r", zone = v2 }
s:at(0.05, function()
  print("math.random", math.random(1, 1000000), math.random())
  r:hang{ fraction = 0.5, qtype = "A" }
  r:delay{ ms = 1, jitter = 1, dist = "uniform", fraction = 0.3 }
  r:rcode{ rcode = "SERVFAIL", fraction = 0.5, qtype = "AAAA" }
  for i = 1, 40 do
    s:query(r, "web.internal", (i % 2 == 0) and "A" or "AAAA", { timeout = 0.05 })
  end
  print("done")
end)
