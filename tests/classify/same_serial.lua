-- A resolver boots from a disk copy that carries the PUBLISHED serial (edited
-- by hand) but old data: db-primary at the decommissioned 10.20.0.15. The
-- answers are stale (not the published version), whatever the serial says.
local s = scenario{ name = "classify same serial", duration = 1.5, seed = 12 }
local published = s:zone("../../scenarios/zones/internal.v2.zone") -- serial 2026112502
local on_disk = s:zone("../scenarios/zones/internal.same-serial.zone") -- serial 2026112502 too
s:zone_source{ name = "truth", zone = published }
local r1 = s:resolver{ name = "r1", zone = on_disk }
s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal", rate = 40,
          from = 0.1, to = 1.2 }
s:expect{ "no stale answer", stale_answers{}, at_most = 0 }
