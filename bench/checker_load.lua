-- checker_load.lua - a busy run with an expectation of every kind, for
-- bench/checker.sh: the run writes about a million history lines, then
-- `dnschaos check` judges them and the script measures that.
local RATE = 40000      -- c-ares lookups per second (open loop)
local DURATION = 8

local s = scenario{ name = "checker bench", duration = DURATION, seed = 3 }
local v2 = s:zone("../scenarios/zones/internal.v2.zone")
local v1 = s:zone("../scenarios/zones/internal.v1.zone")
local src = s:zone_source{ name = "truth", zone = v2 }
local r1 = s:resolver{ name = "r1", boot = "source" }
local r2 = s:resolver{ name = "r2", boot = "source" }
local vip = s:vip{ name = "vip", backends = { r1, r2 }, policy = "query",
                   health = { check = "serial", interval = 0.2, timeout = 0.1, rise = 2, fall = 1 } }
local app = s:client{ name = "app", stack = "c-ares", target = vip, rate = RATE, from = 0.2,
                      names = { "db-primary.internal", "web.internal", "api.internal",
                                { "nope.internal", weight = 0.1 } }, timeout = 0.2, attempts = 2 }
s:at(3, r2, "restart", { zone = v1 })           -- stale reboot
s:at(5, r2, "reload", { boot = "source" })      -- back to the truth
s:at(4, r1, "capacity", { qps = 100000, duration = 1 })

s:expect{ "success", success_rate{ client = app }, at_least = 0.5 }
s:expect{ "p99", latency{ p = 99 }, at_most = 1000 }
s:expect{ "stale", stale_answers{}, at_most = 1e9 }
s:expect{ "wrong", wrong_answers{}, at_most = 1e9 }
s:expect{ "stale stretch", stale_stretch{}, at_most = 100 }
s:expect{ "detection", detection_time{ backend = r2 }, at_most = 100 }
s:expect{ "failure span", failure_span{ backend = r2 }, at_most = 100 }
s:expect{ "readmission", readmission{ backend = r2 }, at_most = 100 }
s:expect{ "amplification", amplification{}, at_most = 10 }
s:expect{ "retries", amplification{ cause = "retry" }, at_most = 10 }
s:expect{ "survivor load", survivor_load{ resolver = r1, from = 4, to = 5 }, at_most = 10 }
s:expect{ "goodput", goodput{}, at_least = 1 }
s:expect{ "recovery", recovery{ from = 5, baseline = { from = 1, to = 3 } }, at_most = 100 }
s:expect{ "flaps", flaps{}, at_most = 1000 }
s:expect{ "custom: a pass over every lookup line in Lua",
          check(function(h) local n = 0; h:each("lookup", function() n = n + 1 end); return n end),
          at_least = 1 }
