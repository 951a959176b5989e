-- The stale-file reboot with a real unbound behind a userspace VIP: u2
-- restarts from a weeks-old copy of its zone file. A client asking u2
-- directly gets the old serial's answers (classified stale); the VIP's
-- serial health check takes u2 out of rotation, so the client behind the
-- VIP keeps getting the published answer. The base of the shipped
-- scenario (there behind the kernel's VIP).
local s = scenario{ name = "process stale reboot", duration = 6, seed = 11 }
local published = s:zone("zones/internal.v2.zone") -- 2026112502: db-primary 10.20.0.42
local truth = s:zone_source{ name = "truth", zone = published }
local r1 = s:resolver{ name = "r1", boot = "source" }
local u2 = s:process{ name = "u2", zone_file = "zones/internal.v2.zone", config = "unbound.conf.in",
                      command = { "unbound", "-d", "-p", "-c", "{config}" } }
local vip = s:vip{ name = "vip", backends = { r1, u2 }, policy = "flow", on_down = "flush",
                   health = { check = "serial", interval = 0.2, timeout = 0.1, rise = 2, fall = 1 } }
s:client{ name = "via-vip", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 20, from = 1, to = 5.8, timeout = 0.5, attempts = 2 }
s:client{ name = "direct", stack = "c-ares", target = u2, names = "db-primary.internal",
          rate = 20, from = 1, to = 5.8, timeout = 0.5, attempts = 2 }
s:at(2.0, u2, "restart", { zone_file = "zones/internal.v1.zone" }) -- 2026110301: 10.20.0.15
s:at(2.1, function()
  local deadline = s:now() + 2.5 -- a restart on a loaded machine can take a second or more
  while u2:state() ~= "up" and s:now() < deadline do s:sleep(0.05) end
  assert(u2:serial() == 2026110301, "u2 serves " .. tostring(u2:serial()))
  s:sleep(1) -- the VIP's next probes (every 0.2 s, fall = 1)
  assert(not vip:up(u2), "the VIP still routes to u2")
end)
s:expect{ "the direct client gets the old file's answers", stale_answers{ client = "direct", from = 2 },
          at_least = 1 }
s:expect{ "nothing stale before the reboot", stale_answers{ to = 1.99 }, at_most = 0, baseline = true }
-- A query the VIP forwarded just before it took u2 out (u2 restarting: its
-- socket open, its zone not yet loaded) is answered from the old file once
-- u2 is up: at most its boot time later (1 s, under a sanitizer too).
s:expect{ "once the VIP takes u2 out, no stale answer through it but those already sent",
          stale_stretch{ client = "via-vip" }, at_most = 1, baseline = true }
-- baseline: whether a lookup through the VIP meets u2's restart is timing (the
-- VIP may take it out, port unreachable, before one does); the fix holds either way.
s:expect{ "the VIP's client keeps resolving", success_rate{ client = "via-vip" }, at_least = 0.97,
          baseline = true }
