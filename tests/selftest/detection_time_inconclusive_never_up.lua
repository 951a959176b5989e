-- expect: INCONCLUSIVE 2
-- expect-inconclusive: the VIP stops sending new flows to r2 within 1 s
--
-- The system: a VIP whose health check can never pass (it asks for a zone
-- no resolver serves: REFUSED), so neither backend is ever admitted and
-- every query gets "no backend". r2 hangs at 1.2 s.
-- Why INCONCLUSIVE: r2 was never in rotation; the VIP sending it no new flow
-- after the fault says nothing about detection: "within 1 s" must be
-- inconclusive, not a detection in 0 s (what it read before).
local s = scenario{ name = "selftest detection_time never in rotation", duration = 2.5, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 },
                   health = { check = "rcode", name = "elsewhere.example", interval = 0.2,
                              timeout = 0.15, rise = 1, fall = 1 } }
s:at(1.2, r2, "hang")

s:client{ name = "app", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, timeout = 1, attempts = 1 }

s:expect{ "the VIP stops sending new flows to r2 within 1 s",
          detection_time{ backend = r2, vip = vip }, at_most = 1 }
