-- Outage replay: the incident as it happened: a stale reboot behind a blind VIP, a herd of re-resolutions, a storm on the survivor, the manual fix.
--
-- What it reproduces, scaled to 18 s. Two resolvers, p1 and p2, behind one
-- virtual IP whose health check passes any NOERROR answer (production's).
-- At 2.4 s the patch run reboots p2, which comes back 1 s later from a zone
-- file cached on its disk weeks ago (serial 2026110301): db-primary at the
-- decommissioned 10.20.0.15. The check admits it; half the fleet's new
-- lookups get the dead address.
--
-- The herd: a service that got the dead address cannot connect to it and
-- resolves again at once. Modelled as a feedback, not a scripted surge:
-- every 0.25 s the fleet's rate is set to its steady 12 lookups a second
-- plus K = 2.5 re-resolutions per stale answer of the last 0.25 s
-- (c:stats().stale), at most 150 a second (the services there are). Half
-- of the re-resolutions land on p2 again and lie again: with a gain of 2
-- or more the lies feed themselves, and the herd is at its cap within a
-- second or two.
--
-- The storm on the survivor: each resolver gets half of the 162 lookups a
-- second. p1 serves 40 queries a second from a queue of 100 (a full queue
-- is a 2.5 s wait): it falls behind, and once its wait passes glibc's 1 s
-- timeout every lookup sends its second try, doubling p1's load; past 2 s
-- its lookups time out. Half the fleet's lookups lie (p2), half time out
-- (p1). p2 (100 a second) carries its half at once, lying: the VIP splits
-- the herd evenly, so the storm lands where the capacity is short, and
-- glibc's retries (same socket, so the same backend) land on the slow one.
-- The health check (every 3 s, a probe may take 3 s, down after 2 misses)
-- never takes p1 out: a check that gave up sooner would move the herd to
-- p2, which only lies faster (docs/scenarios.md says what we measured).
--
-- The manual fix at 9 s: the operator pulls p2 from the VIP (and flushes
-- its pinned flows). No more lies, so the herd stops; p1, offered 12
-- lookups a second (24 queries with both tries, under its 40), drains its
-- queue and the fleet is healthy again 4 to 5 s later.
--
-- What it expects: every symptom reproduced (lies, p1 over capacity, glibc
-- sending both tries, half the lookups failing in the storm), then the
-- return to health after the fix. scenarios/gating_fix.lua is the same
-- incident with the fix in place. docs/scenarios.md, "outage_replay", has
-- the windows, the bounds and the spread measured.
--
-- Run: dnschaos run scenarios/outage_replay.lua --history outage.jsonl --report outage
local s = scenario{ name = "outage replay", duration = 18, seed = 14 }

local published = s:zone("zones/internal.v2.zone") -- serial 2026112502: db-primary 10.20.0.42
local on_disk = s:zone("zones/internal.v1.zone")   -- serial 2026110301: db-primary 10.20.0.15
local truth = s:zone_source{ name = "truth", zone = published }

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
