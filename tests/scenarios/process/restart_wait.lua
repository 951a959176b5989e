-- A restart while the daemon's address is still taken: the run must start
-- the new daemon once the address is free, not spawn one that cannot bind.
-- The stand-in daemon leaves a child holding its socket for 1 s after the
-- kill (lingering_holder.py); a real killed daemon's processes do the same,
-- briefly, on a busy machine.
local s = scenario{ name = "process restart waits for its address", duration = 5, seed = 3 }
local d = s:process{ name = "d1", zone_file = "zones/internal.v2.zone",
                     address = "127.0.0.77:5301",
                     command = { "python3", "lingering_holder.py", "{addr}", "{port}", "1.0" } }
s:at(0.5, function()
  d:restart()
  assert(s:wait(d, "booted", 4), "d1 did not boot after its restart")
  local res = s:query(d, "db-primary.internal", "A")
  assert(res.rcode == "REFUSED", "d1 does not answer after its restart: " .. res.status)
  print("restarted and answering")
end)
