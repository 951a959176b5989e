-- expect: FAIL 1
-- expect-failed: the VIP stops sending new flows to r2 within 1 s
-- expect-passed: the checked VIP stops sending new flows to c2 within 1 s
--
-- The system: two resolvers behind a flow VIP whose health check asks for
-- the zone's SOA and wants NOERROR (keepalived's DNS_CHECK). From 0.5 s to
-- 2.5 s r2 drops every query for the names below the apex, the ones the
-- services ask, but still answers the SOA probe: the check never sees it,
-- and every other new flow keeps going to r2 until the fault heals.
-- Why FAIL: "the VIP stops sending new flows to r2 within 1 s" reads about
-- 2 s ("never" when the last new flow is at the heal) against a bound of
-- 1 s.
-- The bound is honest: beside it, a VIP whose check asks what the services
-- ask (an A record below the apex) meets the same fault and takes c2 out
-- within about interval + timeout (0.35 s).
local s = scenario{ name = "selftest detection_time fail", duration = 3, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local blind = s:vip{ name = "blind", backends = { r1, r2 },
                     health = { check = "rcode", name = "internal", interval = 0.2,
                                timeout = 0.15, rise = 2, fall = 1, initial = "up" } }
local c1 = s:resolver{ name = "c1", zone = v2 }
local c2 = s:resolver{ name = "c2", zone = v2 }
local checked = s:vip{ name = "checked", backends = { c1, c2 },
                       health = { check = "rcode", name = "web.internal", qtype = "A",
                                  interval = 0.2, timeout = 0.15, rise = 2, fall = 1,
                                  initial = "up" } }
s:at(0.5, r2, "hang", { name = "*.internal", duration = 2 })
s:at(0.5, c2, "hang", { name = "*.internal", duration = 2 })

s:client{ name = "app", stack = "glibc", target = blind, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2.8, timeout = 1, attempts = 1,
          threads = 32 }
s:client{ name = "app-checked", stack = "glibc", target = checked, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2.8, timeout = 1, attempts = 1,
          threads = 32 }

s:expect{ "the VIP stops sending new flows to r2 within 1 s",
          detection_time{ backend = r2, vip = blind }, at_most = 1 }
s:expect{ "the checked VIP stops sending new flows to c2 within 1 s",
          detection_time{ backend = c2, vip = checked }, at_most = 1 }
