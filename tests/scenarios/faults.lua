-- Every fault, proven with real queries: it takes effect when injected and is
-- gone when healed. Run by ctest (tests/e2e/scenarios.sh); any failed assert
-- is a scenario error (exit 3) naming this file and line.
local s = scenario{ name = "every fault, injected and healed", duration = 8, seed = 11 }
local v1 = s:zone("../../scenarios/zones/internal.v1.zone")
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local truth = s:zone_source{ name = "truth", zone = v2 }
local r = s:resolver{ name = "r", boot = "source" }

local NAME = "db-primary.internal"

local function normal(tag)
  local res = s:query(r, NAME, "A")
  assert(res.ok and res.rcode == "NOERROR" and res.answers[1] == "10.20.0.42",
         tag .. ": expected the normal answer, got " .. tostring(res.status) .. " " ..
         tostring(res.rcode) .. " " .. tostring(res.answers and res.answers[1]))
end

s:at(0.2, function()
  normal("before any fault")

  -- hang: no reply at all, on UDP and on TCP
  local f = r:hang{}
  local res = s:query(r, NAME, "A", { timeout = 0.3 })
  assert(res.status == "timeout", "hang: expected a timeout, got " .. res.status)
  res = s:query(r, NAME, "A", { transport = "tcp", timeout = 0.3 })
  assert(res.status == "timeout", "hang over tcp: expected a timeout, got " .. res.status)
  assert(f:active())
  f:heal()
  assert(not f:active())
  normal("after hang healed")

  -- hang for a name pattern and a qtype only
  f = r:hang{ name = "*.internal", qtype = "AAAA" }
  normal("hang for AAAA leaves A alone")
  res = s:query(r, "db-replica.internal", "AAAA", { timeout = 0.3 })
  assert(res.status == "timeout", "hang AAAA: expected a timeout, got " .. res.status)
  res = s:query(r, "internal", "SOA")
  assert(res.ok, "*.internal does not match the apex")
  f:heal()

  -- rcode: each injectable rcode, with no records
  for _, rc in ipairs{ "SERVFAIL", "REFUSED", "NXDOMAIN" } do
    f = r:rcode{ rcode = rc }
    res = s:query(r, NAME, "A")
    assert(res.ok and res.rcode == rc and #res.answers == 0, "rcode " .. rc .. ": got " .. tostring(res.rcode))
    f:heal()
  end
  normal("after rcode healed")

  -- truncate: TC on UDP, TCP unaffected
  f = r:truncate{}
  res = s:query(r, NAME, "A")
  assert(res.ok and res.tc and #res.answers == 0, "truncate: expected TC and no answer")
  res = s:query(r, NAME, "A", { transport = "tcp" })
  assert(res.ok and not res.tc and res.answers[1] == "10.20.0.42", "truncate: TCP must be whole")
  f:heal()
  normal("after truncate healed")

  -- wrong: an address, then a stale version's answer
  f = r:wrong{ address = "10.9.9.9", name = NAME }
  res = s:query(r, NAME, "A")
  assert(res.answers[1] == "10.9.9.9" and res.aa, "wrong address: got " .. tostring(res.answers[1]))
  res = s:query(r, "db-replica.internal", "A")
  assert(res.answers[1] == "10.20.0.43", "wrong address touches only its name")
  f:heal()
  f = r:wrong{ zone = v1 }
  res = s:query(r, NAME, "A")
  assert(res.answers[1] == "10.20.0.15" and res.serial == nil, "wrong zone: got " .. tostring(res.answers[1]))
  f:heal()
  normal("after wrong healed")

  -- delay: the reply comes late by at least the delay
  f = r:delay{ ms = 250 }
  res = s:query(r, NAME, "A", { timeout = 2 })
  assert(res.ok and res.latency >= 0.24, "delay: latency " .. res.latency)
  f:heal()
  res = s:query(r, NAME, "A")
  assert(res.ok and res.latency < 0.2, "delay healed: latency " .. res.latency)

  -- delay heals itself after its duration
  f = r:delay{ ms = 250, duration = 0.2 }
  s:sleep(0.3)
  assert(not f:active(), "delay with duration must heal itself")
  res = s:query(r, NAME, "A")
  assert(res.latency < 0.2, "self-healed delay: latency " .. res.latency)

  -- capacity: a slow server queues, and drops beyond its queue
  f = r:capacity{ qps = 5, queue = 1 }
  res = s:query(r, NAME, "A", { timeout = 2 })
  assert(res.ok and res.latency >= 0.15, "capacity: one query waits its service time, got " .. res.latency)
  f:heal()
  normal("after capacity healed")

  -- stop and start: the kernel refuses, then it serves again
  r:stop()
  assert(r:state() == "down")
  res = s:query(r, NAME, "A")
  assert(res.status == "refused", "stop: expected port unreachable, got " .. res.status)
  res = s:query(r, NAME, "A", { transport = "tcp" })
  assert(res.status == "refused", "stop: expected connection refused, got " .. res.status)
  r:start()
  assert(s:wait(r, "booted", 2), "start: no boot within 2 s")
  normal("after start")

  -- crash and restart with a stale file: the stale-zone reboot
  r:crash{ down = 0.3, zone = v1 }
  res = s:query(r, NAME, "A")
  assert(res.status == "refused", "crash: ports must be closed while down")
  assert(s:wait(r, "booted", 2), "crash: no reboot within 2 s")
  res = s:query(r, NAME, "A")
  assert(res.answers[1] == "10.20.0.15", "stale reboot must serve the stale address")
  assert(r:serial() == v1.serial)

  -- reload from the source: current again without closing ports
  r:reload{ boot = "source" }
  assert(s:wait(r, "booted", 2), "reload: no transfer within 2 s")
  assert(r:serial() == v2.serial, "reload from source: serial " .. tostring(r:serial()))
  normal("after reload")

  -- publish a new version on the source; a restart from the source gets it
  local v3 = s:zone("zones/internal.v3.zone")
  truth:publish{ zone = v3 }
  res = s:query(truth, "internal", "SOA")
  assert(res.serial == v3.serial, "publish: the source serves the new serial")
  assert(r:serial() == v2.serial, "publish does not change a resolver by itself")
  r:restart{ boot = "source" }
  assert(s:wait(r, "booted", 2))
  assert(r:serial() == v3.serial, "restart from source: serial " .. tostring(r:serial()))
  print("all faults took effect and healed")
end)

-- The source of truth unreachable: a boot from it comes up serving nothing
-- and says why; once it is back, a reload catches up.
s:at(5, function()
  truth:stop()
  r:restart{ boot = "source" }
  assert(s:wait(r, "booted", 3), "a boot from an unreachable source must still end")
  assert(r:state() == "up" and r:serial() == nil, "serves nothing after a failed boot")
  local res = s:query(r, NAME, "A")
  assert(res.ok and res.rcode == "REFUSED", "serving nothing means REFUSED, got " .. tostring(res.rcode))
  truth:start()
  r:reload{ boot = "source" }
  assert(s:wait(r, "booted", 3) and r:serial() ~= nil, "reload once the source is back")
  print("unreachable source handled")
end)
