-- A busy run for history_kill.sh, which SIGKILLs it at random moments and
-- checks that the history left behind is whole lines, every one valid
-- (docs/history.md, "Killed runs"). Not in tests/scenarios: it is meant to
-- be killed, never to finish. A c-ares client asks thousands of lookups a
-- second (three lines each: invoke, completion, the resolver's query line);
-- a second one goes through a VIP (route lines), and faults come and go.
local s = scenario{ name = "history under load, killed", duration = 60, seed = 17 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 } }
s:client{ name = "load", stack = "c-ares", target = r1, rate = 1000,
          names = { "db-primary.internal", "web.internal", { "nx.internal", weight = 0.2 } } }
s:client{ name = "via-vip", stack = "c-ares", target = vip, rate = 150, timeout = 0.2,
          names = { "db-replica.internal", "api.internal" }, family = "both" }
s:every(0.25, function()
  r2:delay{ ms = 20, jitter = 5, dist = "uniform", duration = 0.1 }
  r1:rcode{ rcode = "SERVFAIL", fraction = 0.1, duration = 0.1 }
end)
