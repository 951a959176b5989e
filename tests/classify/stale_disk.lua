-- A resolver boots from a stale disk copy (a lower serial) while the zone
-- source publishes the current version: every answer it gives is stale, and
-- "no stale answer" fails. classify.sh then rewrites the history's classes
-- and edits the zone file, and `dnschaos check` must refuse both.
local s = scenario{ name = "classify stale disk", duration = 1.5, seed = 11 }
local published = s:zone("../../scenarios/zones/internal.v2.zone") -- db-primary 10.20.0.42
local on_disk = s:zone("../../scenarios/zones/internal.v1.zone")   -- db-primary 10.20.0.15
s:zone_source{ name = "truth", zone = published }
local r1 = s:resolver{ name = "r1", zone = on_disk }
s:client{ name = "app", stack = "c-ares", target = r1, names = "db-primary.internal", rate = 40,
          from = 0.1, to = 1.2 }
s:expect{ "no stale answer", stale_answers{}, at_most = 0 }
