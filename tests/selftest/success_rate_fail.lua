-- expect: FAIL 1
-- expect-failed: lookups through the half-dead VIP keep succeeding
-- expect-passed: lookups of the failover client keep succeeding
--
-- The system: two resolvers behind a flow-pinned VIP (kernel DNAT without a
-- health check); at 0.5 s r2 wedges and drops every query. Each glibc
-- getaddrinfo call opens a new socket, so every other lookup is pinned to r2
-- and times out: about half the lookups fail although r1 is healthy.
-- Why FAIL: "lookups through the half-dead VIP keep succeeding" reads about
-- 0.5 against a bound of 0.9 that a healthy system meets.
-- The bound is honest: a c-ares client with both resolvers in its server
-- list, the dead one first, meets the same hang on every lookup and fails
-- over to r1 within its 0.2 s timeout: its success rate is 1. Without the
-- hang (the line marked "selftest: fault") the VIP's success rate is 1 too.
local s = scenario{ name = "selftest success_rate fail", duration = 3, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
local r2 = s:resolver{ name = "r2", zone = v2 }
local vip = s:vip{ name = "vip", backends = { r1, r2 } }
s:at(0.5, r2, "hang") -- selftest: fault

s:client{ name = "app", stack = "glibc", target = vip, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 1.8, timeout = 1, attempts = 1,
          threads = 32 }
s:client{ name = "failover", stack = "c-ares", target = { r2, r1 }, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 1.8, timeout = 0.2, attempts = 2 }

s:expect{ "lookups through the half-dead VIP keep succeeding",
          success_rate{ client = "app", from = 0.5 }, at_least = 0.9 }
s:expect{ "lookups of the failover client keep succeeding",
          success_rate{ client = "failover", from = 0.5 }, at_least = 0.9 }
