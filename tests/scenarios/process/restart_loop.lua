-- nsd restarted back to back: each restart kills the whole process group
-- (nsd's main process, its transfer daemon and its servers) and starts a
-- new nsd on the same address. A killed process closes its sockets only
-- when the kernel next schedules it, so on a busy machine the new nsd could
-- find the address still taken and fail to bind; the run must start it
-- once the address is free instead.
local s = scenario{ name = "process nsd restarted back to back", duration = 12, seed = 5 }
local n1 = s:process{ name = "n1", zone_file = "zones/internal.v2.zone", config = "nsd.conf.in",
                      command = { "nsd", "-d", "-c", "{config}" } }
s:at(0.2, function()
  for i = 1, 10 do
    n1:restart()
    assert(s:wait(n1, "booted", 5), "restart " .. i .. ": n1 did not boot")
    local res = s:query(n1, "db-primary.internal", "A")
    assert(res.ok, "restart " .. i .. ": no answer after the boot: " .. tostring(res.status))
  end
  print("ten restarts, each booted and answering")
end)
