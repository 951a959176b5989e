-- A real unbound as a farm member: clients (glibc, c-ares) ask it directly,
-- its queries reach the history from the capture, joined to their lookups.
local s = scenario{ name = "process basic", duration = 3, seed = 3 }
local truth = s:zone_source{ name = "truth", zone = s:zone("zones/internal.v2.zone") }
local u1 = s:process{ name = "u1", zone_file = "zones/internal.v2.zone", config = "unbound.conf.in",
                      command = { "unbound", "-d", "-p", "-c", "{config}" } }
s:client{ name = "glibc", stack = "glibc", target = u1, names = "db-primary.internal",
          rate = 20, from = 0.2, to = 2.5, timeout = 1, attempts = 2 }
s:client{ name = "cares", stack = "c-ares", target = u1, names = "db-primary.internal",
          rate = 20, from = 0.2, to = 2.5, timeout = 1, attempts = 2 }
s:expect{ "glibc resolves through unbound", success_rate{ client = "glibc" }, at_least = 0.99 }
s:expect{ "c-ares resolves through unbound", success_rate{ client = "cares" }, at_least = 0.99 }
s:expect{ "answers are fresh", stale_answers{}, at_most = 0 }
-- One query over TCP: captured too (a segment holding a whole message).
s:at(1.0, function()
  local r = s:query(u1, "api.internal", "A", { transport = "tcp" })
  assert(r.status == "answer" and #r.answers == 2, "tcp query: " .. tostring(r.status))
end)
