-- expect: INCONCLUSIVE 2
-- expect-inconclusive: lookups through r2 stop failing within 2 s
--
-- The system: two resolvers behind a VIP with an rcode health check on the
-- zone's SOA. From 0.5 s r2 drops SOA queries, and only those: the probes
-- fail and the check takes r2 out, but the service's A lookups, which
-- reached r2 until then, never met the fault.
-- Why INCONCLUSIVE: lookups reached r2 while the fault was on, but none met
-- it, so "no lookup failed through r2" is no measure of how long failures
-- last: "lookups through r2 stop failing within 2 s" must be inconclusive,
-- not 0 s. (Before issue 11 this read PASS, exit 0.)
local s = scenario{ name = "selftest failure_span inconclusive probes", duration = 2.2, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 },
                   health = { check = "rcode", name = "internal", interval = 0.2, timeout = 0.15,
                              rise = 2, fall = 1, initial = "up" } }
s:at(0.5, r2, "hang", { qtype = "SOA" })

s:client{ name = "app", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2.0, timeout = 1, attempts = 1 }

s:expect{ "lookups through r2 stop failing within 2 s", failure_span{ backend = r2, vip = vip },
          at_most = 2 }
