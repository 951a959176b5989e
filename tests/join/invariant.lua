-- The join's invariants, per stack, under faults that make stacks retry:
-- a hang on one of two backends behind a flow VIP (glibc and c-ares retry on
-- their socket, ldns and dig from new ones, glibc reopens in its
-- single-request mode: a new port with the same id), and a capacity queue
-- whose waits outlast the lookups (a query's line is written after the
-- lookup that sent it has ended). Every client asks its own name with one
-- lookup in flight, so every wire query has exactly one possible sender and
-- tests/e2e/join_invariant.py can count each client's sends independently
-- from the route and query lines (by source address and name) and compare
-- them with the lookups' wire counts and the checker's amplification.
local s = scenario{ name = "join invariants, every stack", duration = 12, seed = 5 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local good = s:resolver{ name = "good", zone = v2 }
local dead = s:resolver{ name = "dead", zone = v2 }
local slow = s:resolver{ name = "slow", zone = v2 }
local vip = s:vip{ name = "vip", backends = { good, dead } }  -- flow policy
s:at(0, dead, "hang")
-- 4 queries a second, at most 8 waiting: waits up to 2 s, longer than the lookups.
s:at(0, slow, "capacity", { qps = 4, queue = 8 })

-- One client per stack and target, each with its own name (the join and the
-- count below need nothing else to tell them apart). Attempts and timeouts
-- are the bounds join_invariant.py checks the wire counts against.
local function clients(prefix, target, n)
  local function name(i) return string.format("%s%d.apps.internal", prefix, i) end
  s:client{ name = prefix .. "-glibc", stack = "glibc", target = target, names = name(1),
            family = "both", concurrency = 1, from = 0.2, to = 4.5, timeout = 1, attempts = 2 }
  s:client{ name = prefix .. "-glibc-res", stack = "glibc-res", target = target, names = name(2),
            concurrency = 1, from = 0.2, to = 4.5, timeout = 1, attempts = 2 }
  s:client{ name = prefix .. "-c-ares", stack = "c-ares", target = target, names = name(3),
            concurrency = 1, from = 0.2, to = 4.5, timeout = 0.5, attempts = 3 }
  -- ldns gives up on a server after a failure: later lookups fail at once, so a limit.
  s:client{ name = prefix .. "-ldns", stack = "ldns", target = target, names = name(4), limit = 8,
            concurrency = 1, from = 0.2, to = 4.5, timeout = 0.5, attempts = 3 }
  s:client{ name = prefix .. "-libunbound", stack = "libunbound", target = target, names = name(5),
            concurrency = 1, from = 0.2, to = 4.5, cache = false, limit = n }
  s:client{ name = prefix .. "-dig", stack = "exec", target = target, names = name(6),
            concurrency = 1, from = 0.2, to = 4.5, timeout = 5,
            command = { "dig", "+tries=2", "+timeout=1", "+short", "@{server}", "-p", "{port}",
                        "{name}" } }
end
clients("vip", vip, 6)
clients("cap", slow, 3)
-- Open loop: many lookups of one name in flight at once, on a socket each
-- (glibc) or all on one (c-ares). Here a query may have several possible
-- senders; join_invariant.py checks that each is then marked ambiguous and
-- counted for nobody, never given to a lookup that did not send it.
s:client{ name = "open-glibc", stack = "glibc", target = vip, names = "o1.apps.internal",
          family = "both", rate = 15, from = 0.2, to = 4.5, timeout = 1, attempts = 2, threads = 16 }
s:client{ name = "open-c-ares", stack = "c-ares", target = vip, names = "o3.apps.internal",
          rate = 15, from = 0.2, to = 4.5, timeout = 0.5, attempts = 3 }

-- The checker's amplification of every client (join_invariant.py reads the
-- observed values from the JSON summary); the bound is only there to have one.
for _, stack in ipairs{ "glibc", "glibc-res", "c-ares", "ldns", "libunbound", "dig" } do
  for _, prefix in ipairs{ "vip", "cap" } do
    local c = prefix .. "-" .. stack
    s:expect{ c, amplification{ client = c }, at_most = 1000 }
  end
end
s:expect{ "open-glibc", amplification{ client = "open-glibc" }, at_most = 1000 }
s:expect{ "open-c-ares", amplification{ client = "open-c-ares" }, at_most = 1000 }
