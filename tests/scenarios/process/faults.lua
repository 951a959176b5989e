-- A real unbound's process faults: hang (SIGSTOP) and continue (SIGCONT),
-- kill and start, a plain restart. A c-ares client (its timeout in ms) asks it directly.
local s = scenario{ name = "process faults", duration = 6, seed = 5 }
local u1 = s:process{ name = "u1", zone_file = "zones/internal.v2.zone", config = "unbound.conf.in",
                      command = { "unbound", "-d", "-p", "-c", "{config}" } }
s:client{ name = "app", stack = "c-ares", target = u1, names = "db-primary.internal",
          rate = 20, from = 0.2, to = 5.8, timeout = 0.3, attempts = 1 }
s:at(1.0, u1, "hang")
s:at(2.0, u1, "continue")
s:at(3.0, u1, "kill")
s:at(3.6, u1, "start")
s:at(4.6, function()
  assert(u1:state() == "up", "u1 is " .. u1:state())
  u1:restart()
end)
s:at(5.5, function() assert(u1:state() == "up" and u1:serial() == 2026112502) end)
s:expect{ "resolves before the faults", success_rate{ client = "app", to = 0.95 }, at_least = 0.99, baseline = true }
s:expect{ "nothing resolves while it is stopped", success_rate{ client = "app", from = 1.05, to = 1.6 },
          at_most = 0 }
s:expect{ "resolves again after continue", success_rate{ client = "app", from = 2.4, to = 2.95 },
          at_least = 0.99, baseline = true }
s:expect{ "nothing resolves while it is killed", success_rate{ client = "app", from = 3.05, to = 3.55 },
          at_most = 0 }
s:expect{ "resolves after the restart", success_rate{ client = "app", from = 5.2 }, at_least = 0.99, baseline = true }
