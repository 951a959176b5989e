-- A real unbound pair behind the kernel's VIP (nftables, in the sandbox):
-- a reply leaves the daemon with the VIP's address as its source (conntrack
-- undoes the DNAT) and is matched to its captured query all the same, so
-- the client's queries captured at the daemons are answered, joined. u2 is
-- stopped at 2.025 s; fall = 5 keeps the kernel DNATing new flows to its closed
-- port for 0.8 s or more, and each query that meets it is written at once,
-- dropped, closed, with the stop's fault, joined to its lookup.
local s = scenario{ name = "process behind the kernel VIP", duration = 4, seed = 13 }
local truth = s:zone_source{ name = "truth", zone = s:zone("zones/internal.v2.zone") }
local unbound = { "unbound", "-d", "-p", "-c", "{config}" }
local u1 = s:process{ name = "u1", zone_file = "zones/internal.v2.zone", config = "unbound.conf.in",
                      command = unbound }
local u2 = s:process{ name = "u2", zone_file = "zones/internal.v2.zone", config = "unbound.conf.in",
                      command = unbound }
local vip = s:vip{ name = "vip", kind = "nftables", backends = { u1, u2 },
                   health = { check = "rcode", source = truth, interval = 0.2, timeout = 0.1,
                              rise = 1, fall = 5 } }
-- glibc: a new socket per lookup, so a new flow, so either backend.
s:client{ name = "app", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.5, to = 3.5, timeout = 1, attempts = 1 }
s:at(2.025, u2, "stop") -- between two arrivals (every 50 ms from 0.5 s)
s:expect{ "resolves through the kernel VIP before the stop", success_rate{ client = "app", to = 1.95 },
          at_least = 0.9, baseline = true }
-- The lookups the kernel sent to u2's closed port met the stop: without
-- them this measure would be INCONCLUSIVE (no lookup in it met a fault).
-- About half of the lookups fail until the VIP sees u2 down (0.8 s at least).
s:expect{ "lookups fail while the VIP still sends flows to the stopped u2",
          success_rate{ client = "app", from = 2.05, to = 2.95 }, at_most = 0.95 }
