-- A real unbound on ::1: its queries over IPv6 are captured and joined too
-- (glibc: a c-ares client binds an IPv4 source of its own, so its IPv6
-- queries are captured but not joined).
local s = scenario{ name = "process ipv6", duration = 2, seed = 17 }
local u6 = s:process{ name = "u6", address = "[::1]:0", zone_file = "zones/internal.v2.zone",
                      config = "unbound.conf.in", command = { "unbound", "-d", "-p", "-c", "{config}" } }
s:client{ name = "app", stack = "glibc", target = u6, names = "db-primary.internal",
          rate = 20, from = 0.2, to = 1.8, timeout = 0.5, attempts = 2 }
s:expect{ "resolves over IPv6", success_rate{ client = "app" }, at_least = 0.99, baseline = true }
