-- A real unbound hung for a while: hang{ duration = S } continues it by
-- itself S seconds later (its fault heals itself, as a fake resolver's
-- does). A hang continued by hand and hung again is not continued by the
-- first one's timer. A c-ares client (one attempt, 300 ms) asks it directly.
local s = scenario{ name = "process hang duration", duration = 5, seed = 5 }
local u1 = s:process{ name = "u1", zone_file = "zones/internal.v2.zone", config = "unbound.conf.in",
                      command = { "unbound", "-d", "-p", "-c", "{config}" } }
s:client{ name = "app", stack = "c-ares", target = u1, names = "db-primary.internal",
          rate = 20, from = 0.2, to = 4.8, timeout = 0.3, attempts = 1 }

s:at(1.0, u1, "hang", { duration = 0.5 })
s:at(1.25, function() assert(u1:hung(), "u1 is not hung 0.25 s into its hang") end)
s:at(1.7, function() assert(not u1:hung(), "u1 is still hung 0.2 s after its duration") end)
s:at(3.0, function()
  u1:hang{ duration = 0.5 }
  s:sleep(0.1)
  assert(u1:continue(), "continue: u1 was not hung")
  s:sleep(0.1)
  u1:hang()            -- until continued: the first hang's timer must leave it alone
  s:sleep(0.6)
  assert(u1:hung(), "the first hang's timer continued the second hang")
  u1:continue()
end)
s:expect{ "resolves before the hang", success_rate{ client = "app", to = 0.95 }, at_least = 0.99,
          baseline = true }
-- asked before 1.2 s: timed out (300 ms) before the hang's end answers them
s:expect{ "nothing resolves while it is hung", success_rate{ client = "app", from = 1.02, to = 1.18 },
          at_most = 0 }
s:expect{ "resolves again after its duration", success_rate{ client = "app", from = 1.7, to = 2.9 },
          at_least = 0.99, baseline = true }
