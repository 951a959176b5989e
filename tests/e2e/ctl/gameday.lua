-- The control socket's test farm (tests/e2e/ctl.py): a zone source, two
-- resolvers behind a VIP, and a client asking through it; no timeline
-- faults: everything that breaks comes from `dnschaos ctl`. One entry at
-- t = 6 logs, so a pause can be seen to hold it.
local s = scenario{ name = "control socket", duration = 8, seed = 3 }
local v2 = s:zone("../../../scenarios/zones/internal.v2.zone")
local truth = s:zone_source{ name = "truth", zone = v2 }
local r1 = s:resolver{ name = "r1", boot = "source" }
local r2 = s:resolver{ name = "r2", boot = "source" }
local vip = s:vip{ name = "vip", backends = { r1, r2 }, policy = "query" }
s:client{ name = "app", stack = "c-ares", target = vip, names = "web.internal", rate = 20,
          timeout = 0.5 }
s:at(6, function() s:log("entry at 6") end)
