-- expect: INCONCLUSIVE 2
-- expect-inconclusive: hung: at least 35% of lookups succeed (the other backend's flows)
-- expect-inconclusive: checked: the health check takes the hung backend out within 1 s
-- expect-inconclusive: checked: no lookup started after detection fails
--
-- The system: a hung VIP and a health-checked VIP as in
-- scenarios/half_vip_timeout.lua, the services asking throughout, but the
-- fault never fires where they are: the hang hits a spare resolver that no
-- VIP routes to (a decommissioned box), not a backend.
-- Why INCONCLUSIVE: every lookup succeeds because nothing failed on their
-- path: "at least 35% succeed" met no fault (no lookup met one), and the
-- detection and failure span have no fault on their backend to measure.
-- None of them may pass.
local s = scenario{ name = "selftest half-VIP fault never fires", duration = 4, seed = 14 }
local zone = s:zone("../zones/internal.v2.zone")
local DETECT = 1.0
local hung1 = s:resolver{ name = "hung-1", zone = zone }
local hung2 = s:resolver{ name = "hung-2", zone = zone }
local chk1 = s:resolver{ name = "chk-1", zone = zone }
local chk2 = s:resolver{ name = "chk-2", zone = zone }
local spare = s:resolver{ name = "spare", zone = zone }
local hung = s:vip{ name = "hung", backends = { hung1, hung2 }, policy = "flow" }
local checked = s:vip{ name = "checked", backends = { chk1, chk2 }, policy = "flow", on_down = "flush",
                       health = { check = "rcode", name = "internal", qtype = "SOA",
                                  interval = 0.5, timeout = 0.25, rise = 1, fall = 1,
                                  initial = "up" } }
s:at(1.2, spare, "hang")
for _, vip in ipairs{ hung, checked } do
  s:client{ name = "app-" .. vip.name, stack = "glibc", target = vip, names = "db-primary.internal",
            rate = 20, arrivals = "constant", from = 0.3, to = 3.5, threads = 64,
            timeout = 1, attempts = 2 }
end

s:expect{ "hung: at least 35% of lookups succeed (the other backend's flows)",
          success_rate{ client = "app-hung", from = 1.2 }, at_least = 0.35 }
s:expect{ "checked: the health check takes the hung backend out within 1 s",
          detection_time{ backend = chk2, vip = checked }, at_most = DETECT }
s:expect{ "checked: no lookup started after detection fails",
          failure_span{ backend = chk2, vip = checked }, at_most = DETECT + 0.5 }
