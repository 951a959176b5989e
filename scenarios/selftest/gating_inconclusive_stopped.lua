-- expect: INCONCLUSIVE 2
-- expect-inconclusive: the fix: no stale answer
-- expect-inconclusive: the fleet keeps resolving
-- expect-inconclusive: no storm: p1 stays under its capacity
-- expect-inconclusive: no storm: one query per lookup
-- expect-passed: p2 is never admitted while behind, and rejoins within rise x interval once current
--
-- scenarios/gating_fix.lua whose fleet stops asking at 1.8 s, before the
-- reboot at 2.4 s (the line marked "selftest: fault").
-- Why INCONCLUSIVE: no lookup meets the reboot (the verdict says so): a fix
-- that no lookup tested proves nothing. The expectations about the fleet's
-- lookups from the reboot on are inconclusive, and so is p1's load (only
-- the health probes reach it: "no storm" could not have failed); p2's
-- readmission (judged from routing and health) still passes.
local s = scenario{ name = "gating fix selftest: the fleet stops before the reboot", duration = 18, seed = 14 }

local published = s:zone("../zones/internal.v2.zone") -- serial 2026112502: db-primary 10.20.0.42
local on_disk = s:zone("../zones/internal.v1.zone")   -- serial 2026110301: db-primary 10.20.0.15
local truth = s:zone_source{ name = "truth", zone = published }

local CAP, QUEUE = 40, 100 -- p1: queries served per second; held (a full queue: 2.5 s)
local STEADY = 12          -- the fleet's own lookups per second: 2 tries of it fit in CAP
local K, HERD_MAX, WINDOW = 2.5, 150, 0.25  -- re-resolutions per stale answer; cap; window
local CRASH = 2.4          -- the patch run's reboot of p2
local FROM, TO = 1, 17.5   -- the fleet asks from, to
local STOP = TO            -- when the fleet stops asking
STOP = 1.8 -- selftest: fault

local gate = { answer = "servfail", reload = true }
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
