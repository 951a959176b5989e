-- A real unbound's process faults: hang (SIGSTOP) and continue (SIGCONT),
-- kill and start, a plain restart. A c-ares client (its timeout in ms) asks
-- it directly. Windows leave a loaded machine room for a slow restart.
local s = scenario{ name = "process faults", duration = 10, seed = 5 }
local u1 = s:process{ name = "u1", zone_file = "zones/internal.v2.zone", config = "unbound.conf.in",
                      command = { "unbound", "-d", "-p", "-c", "{config}" } }
s:client{ name = "app", stack = "c-ares", target = u1, names = "db-primary.internal",
          rate = 20, from = 0.2, to = 9.8, timeout = 0.3, attempts = 1 }

-- Waits (bounded) until u1 answers again.
local function up_within(seconds)
  local deadline = s:now() + seconds
  while u1:state() ~= "up" and s:now() < deadline do s:sleep(0.05) end
  return u1:state() == "up"
end

s:at(1.0, u1, "hang")
s:at(2.5, u1, "continue")
s:at(4.0, u1, "kill")
s:at(5.0, u1, "start")
s:at(6.5, function()
  assert(up_within(1.5), "u1 is " .. u1:state() .. " 3 s after its start")
  u1:restart()
  assert(up_within(2), "u1 is " .. u1:state() .. " 2 s after its restart")
  assert(u1:serial() == 2026112502)
end)
s:expect{ "resolves before the faults", success_rate{ client = "app", to = 0.95 }, at_least = 0.99,
          baseline = true }
s:expect{ "nothing resolves while it is stopped", success_rate{ client = "app", from = 1.1, to = 2.1 },
          at_most = 0 }
s:expect{ "resolves again after continue", success_rate{ client = "app", from = 3.0, to = 3.95 },
          at_least = 0.99, baseline = true }
s:expect{ "nothing resolves while it is killed", success_rate{ client = "app", from = 4.1, to = 4.9 },
          at_most = 0 }
s:expect{ "resolves after the restart", success_rate{ client = "app", from = 9.0 }, at_least = 0.99,
          baseline = true }
