-- expect: FAIL 1
-- expect-failed: the incident: the fleet gets the decommissioned address
-- expect-failed: the storm: p1 is offered more than it serves
-- expect-failed: the storm: the fleet's lookups fail (p1 times out) or lie (p2)
-- expect-failed: the storm: glibc sends its second try to the slow survivor
-- expect-inconclusive: the fix: no stale answer once p2 is pulled
-- expect-passed: the fix: the fleet's goodput comes back after p2 is pulled
-- expect-passed: the fix: healthy again
--
-- scenarios/outage_replay.lua whose patch-run reboot loads the published
-- zone instead of the stale disk copy (the line marked "selftest: fault"):
-- what a resolver that boots from the source does.
-- Why FAIL: the replay must reproduce the incident, and nothing of it
-- happens: no stale answer, so no herd, so p1 is never offered more than it
-- serves, no lookup fails or sends a second try. "No stale answer once p2 is
-- pulled" is inconclusive: no version but the published one existed, so no
-- answer could have been stale.
-- The bounds are honest: without the marked line (the shipped scenario)
-- every symptom is reproduced; the return to health passes here too.
local s = scenario{ name = "outage replay selftest: reboot from the source", duration = 18, seed = 14 }

local published = s:zone("../zones/internal.v2.zone") -- serial 2026112502: db-primary 10.20.0.42
local on_disk = s:zone("../zones/internal.v1.zone")   -- serial 2026110301: db-primary 10.20.0.15
local truth = s:zone_source{ name = "truth", zone = published }
on_disk = published -- selftest: fault

local CAP, QUEUE = 40, 100 -- p1: queries served per second; held (a full queue: 2.5 s)
local STEADY = 12          -- the fleet's own lookups per second: 2 tries of it fit in CAP
local K, HERD_MAX, WINDOW = 2.5, 150, 0.25  -- re-resolutions per stale answer; cap; window
local CRASH, FIX = 2.4, 9  -- the patch run's reboot of p2; the operator pulls p2
local FROM, TO = 1, 17.5   -- the fleet asks from, to
local STOP = TO            -- when the fleet stops asking
local STORM_FROM = 7.5     -- p1's lookups time out by then (measured: from about 7 s)
local HEALTHY_FROM = 15.5  -- back to health by then (measured: goodput back at 13.5 s)

local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
s:at(0, p1, "capacity", { qps = CAP, queue = QUEUE })
s:at(0, p2, "capacity", { qps = 100, queue = 250 })
local HEALTH = { check = "rcode", interval = 3, timeout = 3, rise = 1, fall = 2, initial = "up" }
local vip = s:vip{ name = "vip", backends = { p1, p2 }, policy = "flow", on_down = "flush",
                   health = HEALTH }

-- The patch run: p2 reboots from its stale disk copy.
s:at(CRASH, p2, "crash", { down = 1, zone = on_disk })

-- The fleet: glibc getaddrinfo, timeout:1 attempts:2, through the VIP.
-- Threads: one per lookup in flight (about 170 in the storm).
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

-- The manual fix.
s:at(FIX, vip, "remove", { backend = p2 })

s:expect{ "the incident: the fleet gets the decommissioned address",
          stale_answers{ client = "fleet", from = CRASH, to = FIX }, at_least = 100 }
s:expect{ "the storm: p1 is offered more than it serves",
          survivor_load{ resolver = p1, from = CRASH, to = FIX }, at_least = 2 }
s:expect{ "the storm: the fleet's lookups fail (p1 times out) or lie (p2)",
          success_rate{ client = "fleet", from = STORM_FROM, to = FIX }, at_most = 0.7 }
s:expect{ "the storm: glibc sends its second try to the slow survivor",
          amplification{ client = "fleet", from = STORM_FROM, to = FIX }, at_least = 1.25 }
-- From 0.5 s after the fix: a lie is an ok lookup, and those in flight at
-- the fix would read as goodput come back.
s:expect{ "the fix: the fleet's goodput comes back after p2 is pulled",
          recovery{ client = "fleet", from = FIX + 0.5, to = TO,
                    baseline = { from = FROM, to = CRASH }, fraction = 0.75, bucket = 1 },
          at_most = 5.5 }
s:expect{ "the fix: no stale answer once p2 is pulled",
          stale_answers{ client = "fleet", from = FIX + 0.5, to = TO }, at_most = 0 }
s:expect{ "the fix: healthy again",
          success_rate{ client = "fleet", from = HEALTHY_FROM, to = TO }, at_least = 0.99 }
