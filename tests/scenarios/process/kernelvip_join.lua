-- Two kernel VIPs (nftables, in the sandbox) in front of the same real
-- unbound, a glibc client behind each, asking the same name at the same
-- instants (constant arrivals, the same start). A DNATed query no longer
-- says which VIP it was sent to, and both clients send from 127.0.0.1: the
-- join must ask every VIP in front of the backend, so a query either client
-- could have sent is ambiguous, never given to the first VIP's client.
local s = scenario{ name = "two kernel VIPs, one backend", duration = 4, seed = 17 }
local truth = s:zone_source{ name = "truth", zone = s:zone("zones/internal.v2.zone") }
local unbound = { "unbound", "-d", "-p", "-c", "{config}" }
local u1 = s:process{ name = "u1", zone_file = "zones/internal.v2.zone", config = "unbound.conf.in",
                      command = unbound }
local health = { check = "rcode", source = truth, interval = 0.2, timeout = 0.1, rise = 1, fall = 4 }
local a = s:vip{ name = "vip-a", kind = "nftables", backends = { u1 }, health = health }
local b = s:vip{ name = "vip-b", kind = "nftables", backends = { u1 }, health = health }
for _, c in ipairs{ { "app-a", a }, { "app-b", b } } do
  local name, vip = c[1], c[2]
  s:client{ name = name, stack = "glibc", target = vip, names = "db-primary.internal",
            rate = 20, arrivals = "constant", from = 0.5, to = 3.5, timeout = 1, attempts = 1 }
end
s:expect{ "both resolve", success_rate{}, at_least = 0.9, baseline = true }
