-- A short game day for tests/e2e/replay.py: every kind of line `dnschaos
-- replay` turns back into a timeline entry, scripted the way an operator
-- would act by hand: a hang and a delay (one healing itself after its
-- duration), an rcode healed on its own while another fault stays, a wrong
-- answer from a zone file, a crash with a stale reboot, a stop and a start,
-- a restart, a reload, a publish, a VIP member pulled and put back, rate
-- changes from a timeline function, and expectations of several metrics.
-- Every fault meets a lookup (direct and direct2 keep one in flight at r-3
-- all the time, so even its instant reload and restart are met; app sends
-- 40 lookups a second through the VIP): the verdict is a pass, not
-- inconclusive, and the replay must give the same.
local s = scenario{ name = "replay game day", duration = 6, seed = 21, grace = 0.2 }

local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local v1 = s:zone("../../scenarios/zones/internal.v1.zone")
local v3 = s:zone("../scenarios/zones/internal.v3.zone")
local truth = s:zone_source{ name = "truth", zone = v2 }
local r1 = s:resolver{ name = "r1", boot = "source" }
local r2 = s:resolver{ name = "r2", boot = "source" }
local r3 = s:resolver{ name = "r-3", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 }, policy = "query",
                   health = { check = "rcode", interval = 0.5, timeout = 0.25, rise = 1, fall = 2 } }

local app = s:client{ name = "app", stack = "c-ares", target = vip, names = "db-primary.internal",
                      rate = 20, from = 0.2, to = 5.8, timeout = 0.4, attempts = 2 }
s:client{ name = "direct", stack = "glibc", target = r3, names = { "db-primary.internal", "app.internal" },
          concurrency = 1, from = 0.2, to = 3.9, timeout = 1, attempts = 2 }
-- A second closed loop at r-3, so that one lookup or another is always in
-- flight there, even on a loaded machine, when its instant faults come.
s:client{ name = "direct2", stack = "glibc", target = r3, names = "db-replica.internal",
          concurrency = 1, from = 0.2, to = 3.9, timeout = 1, attempts = 2 }
app:rate(40) -- in setup: part of the declaration

s:at(0, r1, "capacity", { qps = 400, queue = 50 })
s:at(0, r3, "delay", { ms = 20 }) -- paces direct's closed loop: about 40 lookups a second
s:at(0.5, r1, "hang", { fraction = 0.5, qtype = "A" })
s:at(0.6, r2, "delay", { ms = 150, jitter = 20, duration = 0.7 })
s:at(0.8, r3, "rcode", { rcode = "SERVFAIL", name = "app.internal" })
local bad -- before the truncation in r-3's plan: db-primary's queries meet it
s:at(0.85, function() bad = r3:rcode{ rcode = "REFUSED" } end)
s:at(0.9, r3, "truncate", { name = "*.internal", transport = "udp", fraction = 0.25 })
s:at(1.3, function() r3:heal(bad) end)          -- one fault healed, the others stay
s:at(1.5, r1, "heal")                            -- every fault of r1
s:at(1.6, r2, "wrong", { zone = v1, duration = 0.5 })
s:at(2.0, r2, "crash", { down = 0.4, zone = v1 })
s:at(2.5, vip, "remove", { backend = r2 })
s:at(2.6, r1, "stop")
s:at(2.9, r1, "start", { boot = "source" })
s:at(3.1, vip, "restore", { backend = r2 })
s:at(3.2, truth, "publish", { zone = v3 })
s:at(3.4, r3, "reload", { zone = v1 })
s:at(3.6, r3, "restart", { zone = v3 })
s:at(3.8, r3, "heal")
s:at(4.0, function() app:rate(60) end)
s:at(4.5, app, "rate", { rate = 20 })
s:every(0.5, function() app:rate(20) end, { from = 4.6, to = 5 }) -- no change: no entry

s:expect{ "app mostly succeeds", success_rate{ client = "app", from = 0.2, to = 5.8 }, at_least = 0.3 }
s:expect{ "direct sees the rcode", success_rate{ client = "direct", from = 0.9, to = 1.4 }, at_most = 0.99 }
s:expect{ "no wrong answer after the fault", wrong_answers{ client = "app", from = 2.2, to = 5.8 }, at_most = 1000 }
s:expect{ "fast enough before", latency{ client = "app", p = 50, from = 0.2, to = 0.5 },
          at_most = 400, baseline = true }
s:expect{ "a custom check", check(function(h) return 1 end), at_least = 1 }
