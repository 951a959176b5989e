-- docs/stacks.md, reproduced: one of two resolvers behind a flow-pinned VIP drops
-- every query silently (the half-VIP timeout), and each real client stack
-- meets it its own way. Every client asks its own names so the history
-- joins each wire query to the stack that sent it. tests/e2e/facts.py
-- asserts the behaviours from the history this run writes.
local s = scenario{ name = "half-VIP timeout, every stack", duration = 7, seed = 11 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local good = s:resolver{ name = "good", zone = v2 }
local dead = s:resolver{ name = "dead", zone = v2 }
local vip = s:vip{ name = "vip", backends = { good, dead } }  -- flow policy, conntrack-like
s:at(0, dead, "hang")

-- glibc: timeout:1 attempts:2; a retry reuses the socket, so it stays pinned.
-- Two clients with a lookup in flight each, each with its own name: glibc
-- cannot bind a source address, so its queries are joined by name, and two
-- lookups of one name in flight at once could not be told apart.
s:client{ name = "glibc", stack = "glibc", target = vip, names = "db-primary.internal",
          concurrency = 1, from = 0.1, to = 5, timeout = 1, attempts = 2 }
s:client{ name = "glibc-2", stack = "glibc", target = vip, names = "ns2.internal",
          concurrency = 1, from = 0.1, to = 5, timeout = 1, attempts = 2 }
-- ldns and dig: a new socket per try, so a retry is a new flow.
s:client{ name = "ldns", stack = "ldns", target = vip, names = "web.internal",
          concurrency = 1, from = 0.1, to = 5, timeout = 0.5, attempts = 3 }
s:client{ name = "dig", stack = "exec", target = vip, names = "api.internal",
          concurrency = 1, from = 0.1, to = 5, timeout = 5,
          command = { "dig", "+tries=3", "+timeout=1", "+short", "@{server}", "-p", "{port}",
                      "{name}" } }
-- c-ares with the dead server first: without rotate every query pays its timeout.
s:client{ name = "cares", stack = "c-ares", target = { dead, good }, names = "db-replica.internal",
          concurrency = 1, from = 0.1, limit = 8, timeout = 0.3, attempts = 2, rotate = false }
s:client{ name = "cares-rotate", stack = "c-ares", target = { dead, good }, names = "ldap.internal",
          concurrency = 1, from = 0.1, limit = 12, timeout = 0.3, attempts = 2, rotate = true }
-- libunbound: its cache answers repeated lookups without asking anyone.
s:client{ name = "unbound", stack = "libunbound", target = good, names = "mx1.internal",
          concurrency = 1, from = 0.1, limit = 20 }
