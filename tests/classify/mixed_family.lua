-- family "both" behind a VIP that picks a backend per query: r1 serves the
-- published version (db-primary: A 10.20.0.42, no AAAA), r2 a stale disk copy
-- (A 10.20.0.15, AAAA fd00:20::15). A lookup whose A went to r1 and AAAA to
-- r2 gets one fresh and one decommissioned address: it is stale, and its
-- stale_records name the AAAA.
local s = scenario{ name = "classify mixed family", duration = 2, seed = 14 }
local published = s:zone("../../scenarios/zones/internal.v2.zone")
local on_disk = s:zone("../scenarios/zones/internal.stale-aaaa.zone")
s:zone_source{ name = "truth", zone = published }
local r1 = s:resolver{ name = "r1", boot = "source" }
local r2 = s:resolver{ name = "r2", zone = on_disk }
local vip = s:vip{ name = "vip", backends = { r1, r2 }, policy = "random" }
s:client{ name = "app", stack = "c-ares", target = vip, names = "db-primary.internal",
          family = "both", rate = 60, from = 0.2, to = 1.7 }
s:expect{ "no stale answer", stale_answers{}, at_most = 0 }
