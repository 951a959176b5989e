-- expect: INCONCLUSIVE 2
-- expect-inconclusive: the VIP stops sending new flows to r2 within 1 s
--
-- The system: the blind VIP of detection_time_fail.lua, whose SOA health
-- check cannot see r2 drop the services' names; r2 wedges at 1.2 s, but the
-- services stopped asking at 1.0 s: the VIP routed nothing after the fault.
-- Why INCONCLUSIVE: with no traffic after the fault there was nothing to
-- detect: "the VIP stops sending new flows to r2 within 1 s" must be
-- inconclusive, not a detection in 0 s.
local s = scenario{ name = "selftest detection_time inconclusive", duration = 2.2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local blind = s:vip{ name = "blind", backends = { r1, r2 },
                     health = { check = "rcode", name = "internal", interval = 0.2,
                                timeout = 0.15, rise = 2, fall = 1, initial = "up" } }
s:at(1.2, r2, "hang", { name = "*.internal" })

s:client{ name = "app", stack = "glibc", target = blind, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 1.0, timeout = 1, attempts = 1 }

s:expect{ "the VIP stops sending new flows to r2 within 1 s",
          detection_time{ backend = r2, vip = blind }, at_most = 1 }
