-- Gating fix: the same incident with the fix in place (boot from the source, serial gate, health-gated VIP): the service stays healthy.
--
-- The same faults as scenarios/outage_replay.lua: the same published zone,
-- the same stale disk copy, the same capacities (p1 40 queries a second,
-- p2 100), the same fleet (glibc, timeout:1 attempts:2, 12 lookups a second
-- through the VIP), the same herd (2.5 re-resolutions per stale answer, at
-- most 150 a second), the same reboot of p2 from its stale file at 2.4 s.
-- What differs is the fix:
--   * the resolvers gate themselves while behind the zone source (SERVFAIL,
--     no stale answer) and fetch the published zone to rejoin;
--   * the VIP's health check reads the serial against the published one
--     (every 0.5 s, up after 2 good probes, down after 2 bad ones), and
--     flows pinned to a backend that goes down are routed anew.
-- The fleet's lookups must meet the reboot, or the run is inconclusive (a
-- test of the fix that no lookup meets proves nothing): with fall = 2 they
-- have 0.5 to 1 s of it before the VIP takes p2 out (with fall = 1, 3 of 10
-- runs had a probe right after the crash and no lookup met it).
--
-- What it expects, and why: no stale answer ever, so the herd never starts
-- and p1 carries the fleet alone while p2 is out (12 lookups a second, under
-- a third of its capacity): no storm, one query per lookup, the fleet keeps
-- resolving, and p2 rejoins only once current, within rise x interval.
-- docs/scenarios.md, "gating_fix", has the bounds and the spread measured.
--
-- Run: dnschaos run scenarios/gating_fix.lua --history fix.jsonl --report fix
local s = scenario{ name = "gating fix", duration = 18, seed = 14 }

local published = s:zone("zones/internal.v2.zone") -- serial 2026112502: db-primary 10.20.0.42
local on_disk = s:zone("zones/internal.v1.zone")   -- serial 2026110301: db-primary 10.20.0.15
local truth = s:zone_source{ name = "truth", zone = published }

local CAP, QUEUE = 40, 100 -- p1: queries served per second; held (a full queue: 2.5 s)
local STEADY = 12          -- the fleet's own lookups per second: 2 tries of it fit in CAP
local K, HERD_MAX, WINDOW = 2.5, 150, 0.25  -- re-resolutions per stale answer; cap; window
local CRASH = 2.4          -- the patch run's reboot of p2
local FROM, TO = 1, 17.5   -- the fleet asks from, to
local STOP = TO            -- when the fleet stops asking

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
