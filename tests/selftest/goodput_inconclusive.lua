-- expect: INCONCLUSIVE 2
-- expect-inconclusive: the service keeps 30 good lookups a second
--
-- The system: a service asking 40 names a second through a VIP with an
-- rcode health check on the zone's SOA; from 0.5 s r2 drops SOA queries,
-- and only those. The probes fail and take r2 out; the service's A lookups
-- never meet the fault.
-- Why INCONCLUSIVE: only health probes met the fault, so the service's
-- goodput measured a system that was never faulted for it: "the service
-- keeps 30 good lookups a second" must be inconclusive. (Before issue 11
-- this read PASS, exit 0.)
local s = scenario{ name = "selftest goodput inconclusive", duration = 2.5, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 },
                   health = { check = "rcode", name = "internal", interval = 0.2, timeout = 0.15,
                              rise = 2, fall = 1, initial = "up" } }
s:at(0.5, r2, "hang", { qtype = "SOA" })

s:client{ name = "app", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 40, arrivals = "constant", from = 0.2, to = 2.3, timeout = 1, attempts = 1 }

s:expect{ "the service keeps 30 good lookups a second", goodput{ client = "app", from = 0.5,
          to = 2.3 }, at_least = 30 }
