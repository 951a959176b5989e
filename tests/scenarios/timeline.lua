-- The timeline: s:at order and precision, s:every counts, s:on and s:wait on
-- farm events, declared actions with a duration, s:wait timeouts.
local s = scenario{ name = "timeline", duration = 4 }
local v1 = s:zone("../../scenarios/zones/internal.v1.zone")
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r = s:resolver{ name = "r", zone = v2 }

local order = {}
local ticks = 0
local booted = 0
local crashed = 0
local SLACK = 0.25 -- timers on a loaded 2-core machine

s:at(0.3, function() order[#order + 1] = "b" end)
s:at(0.1, function()
  order[#order + 1] = "a"
  assert(math.abs(s:now() - 0.1) < SLACK, "s:at(0.1) ran at " .. s:now())
end)
s:at(0.5, function()
  order[#order + 1] = "c"
  local t0 = s:now()
  s:sleep(0.3)
  assert(s:now() - t0 >= 0.29, "s:sleep(0.3) woke after " .. (s:now() - t0))
  assert(s:now() - t0 < 0.3 + SLACK, "s:sleep(0.3) woke after " .. (s:now() - t0))
end)
s:every(0.2, function() ticks = ticks + 1 end, { from = 1.0, to = 1.9 })
s:on(r, "booted", function(target, event)
  assert(target == r and event == "booted")
  booted = booted + 1
end)
s:on("r", "crashed", function() crashed = crashed + 1 end)

-- A declared fault with a duration heals itself.
s:at(2.0, r, "rcode", { rcode = "REFUSED", duration = 0.3 })
s:at(2.1, function()
  assert(s:query(r, "web.internal").rcode == "REFUSED", "declared fault not in effect")
  s:sleep(0.4)
  assert(s:query(r, "web.internal").rcode == "NOERROR", "declared fault did not heal itself")
end)

s:at(2.6, function()
  -- s:wait times out when nothing happens, and sees the event when it does.
  assert(s:wait(r, "crashed", 0.1) == false, "s:wait must time out")
  r:crash{ down = 0.2, zone = v1 }
  assert(s:wait(r, "booted", 2) == true, "s:wait(booted) after a crash")
  assert(r:serial() == v1.serial)
end)

s:at(3.9, function()
  assert(table.concat(order) == "abc", "s:at order: " .. table.concat(order))
  assert(ticks == 5, "s:every(0.2) from 1.0 to 1.9 ran " .. ticks .. " times, want 5")
  assert(booted == 2, "booted events: " .. booted .. ", want 2 (start and reboot)")
  assert(crashed == 1, "crashed events: " .. crashed)
  print("timeline ok")
end)
