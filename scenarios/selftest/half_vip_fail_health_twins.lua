-- expect: FAIL 1
-- expect-failed: ignores: the health check takes the hung backend out within 1 s
-- expect-failed: ignores: no lookup started after detection fails
-- expect-failed: keeps: no lookup started after detection fails
-- expect-passed: checked: the health check takes the hung backend out within 1 s
-- expect-passed: checked: no lookup started after detection fails
--
-- The system: the health-checked VIP of scenarios/half_vip_timeout.lua and
-- two broken twins, one backend of every pair hung at 1.2 s; glibc
-- timeout:1 attempts:2, 20 lookups/s each.
--   ignores   the VIP ignores health (no check): detection never comes and
--             lookups keep failing to the end. Its twin "checked" (the
--             shipped health-checked VIP, flows flushed on down) detects
--             within 1 s and fails no lookup.
--   keeps     the same health check, but flows pinned to the backend it
--             takes out are kept (conntrack's default): the lookups pinned
--             at detection fail after their 2 s, at least detection + 1.9 s
--             after the fault, against detection + 0.5 s.
-- Why FAIL: each broken twin fails the shipped scenario's bound, and the
-- healthy twin, meeting the same fault in the same run, passes it.
local s = scenario{ name = "selftest half-VIP health twins", duration = 9, seed = 14 }
local zone = s:zone("../zones/internal.v2.zone")
local FAULT = 1.2
local DETECT = 1.0
local hc = { check = "rcode", name = "internal", qtype = "SOA", interval = 0.5, timeout = 0.25,
             rise = 1, fall = 1, initial = "up" }
local vips = {}
for _, v in ipairs{ { "checked", hc, "flush" }, { "ignores" }, { "keeps", hc, "keep" } } do
  local name, health, on_down = v[1], v[2], v[3]
  local bad = s:resolver{ name = name .. "-bad", zone = zone }
  local ok = s:resolver{ name = name .. "-ok", zone = zone }
  vips[name] = s:vip{ name = name, backends = { bad, ok }, policy = "flow", health = health,
                      on_down = on_down }
  vips[name .. "-bad"] = bad
  s:at(FAULT, bad, "hang")
  s:client{ name = "app-" .. name, stack = "glibc", target = vips[name],
            names = "db-primary.internal", rate = 20, arrivals = "constant", from = 0.5, to = 7,
            threads = 64, timeout = 1, attempts = 2 }
end

for _, name in ipairs{ "ignores", "checked" } do
  s:expect{ name .. ": the health check takes the hung backend out within 1 s",
            detection_time{ backend = vips[name .. "-bad"], vip = vips[name] }, at_most = DETECT }
end
for _, name in ipairs{ "ignores", "keeps", "checked" } do
  s:expect{ name .. ": no lookup started after detection fails",
            failure_span{ backend = vips[name .. "-bad"], vip = vips[name] },
            at_most = DETECT + 0.5 }
end
