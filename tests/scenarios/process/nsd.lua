-- nsd as a farm member: it forks a server and a transfer daemon, all in the
-- process group a hang stops and a kill ends. A c-ares client asks it.
local s = scenario{ name = "process nsd", duration = 6, seed = 13 }
local n1 = s:process{ name = "n1", zone_file = "zones/internal.v2.zone", config = "nsd.conf.in",
                      command = { "nsd", "-d", "-c", "{config}" } }
s:client{ name = "app", stack = "c-ares", target = n1, names = "db-primary.internal",
          rate = 20, from = 0.2, to = 5.8, timeout = 0.3, attempts = 1 }
s:at(1.0, n1, "hang")
s:at(2.5, n1, "continue")
s:at(3.0, n1, "restart", { zone_file = "zones/internal.v1.zone" })
s:expect{ "resolves before the hang", success_rate{ client = "app", to = 0.95 }, at_least = 0.99,
          baseline = true }
s:expect{ "nothing resolves while it is stopped", success_rate{ client = "app", from = 1.1, to = 2.1 },
          at_most = 0 }
s:expect{ "the old file's answers after the restart", stale_answers{ client = "app", from = 4.5 },
          at_least = 1, baseline = true }
