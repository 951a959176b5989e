-- Each stack's own defaults (no timeout or attempts given) against a
-- resolver that answers nothing: how long a lookup waits, how many queries
-- it sends, from which ports and with which ids. c-ares is left out (its
-- 5 s x 4 tries, doubling per pass, would take 75 s; test_client_loop.c
-- reads its defaults instead). And libunbound against a resolver that
-- answers SERVFAIL (the other stacks' SERVFAIL is in their unit tests).
-- tests/e2e/facts.py asserts it.
local s = scenario{ name = "stack defaults against a silent resolver", duration = 24, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r = s:resolver{ name = "r", zone = v2 }
s:at(0, r, "hang")
local function client(name, opts)
  local c = { name = name, target = r, names = name .. ".apps.internal", concurrency = 1,
              limit = 1, from = 0.1 }
  for k, v in pairs(opts) do c[k] = v end
  s:client(c)
end
client("glibc", { stack = "glibc" })
client("ldns", { stack = "ldns" })
client("unbound", { stack = "libunbound", cache = false })
-- dig's own defaults (+tries=3 +time=5); the exec time limit above them.
client("dig", { stack = "exec", timeout = 22, command = { "dig", "@{server}", "-p", "{port}", "{name}" } })

local sf = s:resolver{ name = "sf", zone = v2 }
s:at(0, sf, "rcode", { rcode = "SERVFAIL" })
s:client{ name = "unbound-sf", stack = "libunbound", target = sf, names = "sf.apps.internal",
          concurrency = 1, limit = 2, from = 0.1, cache = false }
