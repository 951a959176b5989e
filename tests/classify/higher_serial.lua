-- A resolver boots from a disk copy with a HIGHER serial than the published
-- one (restarted from a date) and old data: its answers are stale.
local s = scenario{ name = "classify higher serial", duration = 1.5, seed = 13 }
local published = s:zone("../../scenarios/zones/internal.v2.zone") -- serial 2026112502
local on_disk = s:zone("../scenarios/zones/internal.higher-serial.zone") -- serial 2099010101
s:zone_source{ name = "truth", zone = published }
local r1 = s:resolver{ name = "r1", zone = on_disk }
s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal", rate = 40,
          from = 0.1, to = 1.2 }
s:expect{ "no stale answer", stale_answers{}, at_most = 0 }
