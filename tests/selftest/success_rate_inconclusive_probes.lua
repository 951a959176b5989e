-- expect: INCONCLUSIVE 2
-- expect-inconclusive: lookups through the VIP keep succeeding
--
-- The system: two resolvers behind a VIP with an rcode health check (an SOA
-- query at the zone's apex, as keepalived's DNS_CHECK asks). At 0.5 s r2
-- stops answering SOA queries, and only those: the health probes meet the
-- fault and take r2 out, the service's A lookups never do.
-- Why INCONCLUSIVE: a fault counts only when a client lookup met it; here
-- only health probes did, so "lookups through the VIP keep succeeding"
-- measured a system that was never faulted for the service and must be
-- inconclusive. (Before issue 11 this run read PASS, exit 0: the probes
-- touching the fault were taken for a test of the service.)
local s = scenario{ name = "selftest success_rate inconclusive probes", duration = 2.5, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 },
                   health = { check = "rcode", name = "internal", interval = 0.2, timeout = 0.15,
                              rise = 2, fall = 1, initial = "up" } }
s:at(0.5, r2, "hang", { qtype = "SOA" })

s:client{ name = "app", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2, timeout = 1, attempts = 1 }

s:expect{ "lookups through the VIP keep succeeding", success_rate{ client = "app" },
          at_least = 0.9 }
