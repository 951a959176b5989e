-- expect: INCONCLUSIVE 2
-- expect-inconclusive: p2 is never admitted while behind, and rejoins within rise x interval once current
-- expect-passed: the fix: no stale answer
-- expect-passed: the fleet keeps resolving
-- expect-passed: no storm: p1 stays under its capacity
-- expect-passed: no storm: one query per lookup
--
-- scenarios/gating_fix.lua whose resolvers do not gate themselves (the
-- line marked "selftest: fault"): p2 comes back from its stale copy and
-- never fetches the published zone.
-- Why INCONCLUSIVE: the serial check keeps p2 out, so the service stays
-- healthy (those expectations pass), but p2 never catches up: its
-- readmission was never tried, which is neither a pass nor a failure.
local s = scenario{ name = "gating fix selftest: gating off", duration = 18, seed = 14 }

local published = s:zone("../zones/internal.v2.zone") -- serial 2026112502: db-primary 10.20.0.42
local on_disk = s:zone("../zones/internal.v1.zone")   -- serial 2026110301: db-primary 10.20.0.15
local truth = s:zone_source{ name = "truth", zone = published }

local CAP, QUEUE = 40, 100 -- p1: queries served per second; held (a full queue: 2.5 s)
local STEADY = 12          -- the fleet's own lookups per second: 2 tries of it fit in CAP
local K, HERD_MAX, WINDOW = 2.5, 150, 0.25  -- re-resolutions per stale answer; cap; window
local CRASH = 2.4          -- the patch run's reboot of p2
local FROM, TO = 1, 17.5   -- the fleet asks from, to
local STOP = TO            -- when the fleet stops asking

local gate = { answer = "servfail", reload = true }
gate = nil -- selftest: fault
local p1 = s:resolver{ name = "p1", boot = "source", gate = gate }
local p2 = s:resolver{ name = "p2", boot = "source", gate = gate }
s:at(0, p1, "capacity", { qps = CAP, queue = QUEUE })
s:at(0, p2, "capacity", { qps = 100, queue = 250 })
local HEALTH = { check = "serial", interval = 0.5, timeout = 0.25, rise = 2, fall = 2 }
local vip = s:vip{ name = "vip", backends = { p1, p2 }, policy = "flow", on_down = "flush",
                   health = HEALTH }

-- The patch run: p2 reboots from its stale disk copy.
local REBOOTED = p2
s:at(CRASH, REBOOTED, "crash", { down = 1, zone = on_disk })

local fleet = s:client{ name = "fleet", stack = "glibc", target = vip, names = "db-primary.internal",
                        rate = STEADY, arrivals = "constant", from = FROM, to = STOP,
                        timeout = 1, attempts = 2, threads = 400 }
-- The herd: K re-resolutions per stale answer the fleet got in the last window.
local seen = 0
s:every(WINDOW, function()
  local stale = fleet:stats().stale
  fleet:rate(STEADY + math.min(HERD_MAX, K * (stale - seen) / WINDOW))
  seen = stale
end)

s:expect{ "the fix: no stale answer", stale_answers{ client = "fleet", from = CRASH }, at_most = 0 }
s:expect{ "the fleet keeps resolving", success_rate{ client = "fleet", from = CRASH }, at_least = 0.99 }
s:expect{ "no storm: p1 stays under its capacity",
          survivor_load{ resolver = p1, from = CRASH }, at_most = 0.9 }
s:expect{ "no storm: one query per lookup",
          amplification{ client = "fleet", from = CRASH }, at_most = 1.2 }
s:expect{ "p2 is never admitted while behind, and rejoins within rise x interval once current",
          readmission{ backend = p2, vip = vip }, at_most = 1.5 }
