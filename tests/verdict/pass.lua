-- Everything holds: a glibc client through a healthy VIP.
local s = scenario{ name = "verdict pass", duration = 1.5, seed = 4 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ backends = { r1, r2 } }
s:client{ name = "app", stack = "c-ares", target = vip, names = "db-primary.internal", rate = 100,
          from = 0.1 }
s:expect{ "lookups succeed", success_rate{ client = "app" }, at_least = 0.99 }
s:expect{ "answers are fresh", stale_answers{}, at_most = 0 }
s:expect{ "fast", latency{ p = 99 }, at_most = 100 }
