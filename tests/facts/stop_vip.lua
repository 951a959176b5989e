-- Behind a flow-pinned VIP (kernel DNAT + conntrack), a backend that hangs
-- and a backend that is stopped are different failures: a hung backend
-- answers nothing, while a stopped one's closed port answers port
-- unreachable, which conntrack relays to the client (the VIP's
-- on_refused = "icmp", its default under the flow policy). Side by side,
-- for every stack: one VIP in front of a good and a hung resolver, one in
-- front of a good and a stopped one. Each stack has its own pair of VIPs, so
-- its new flows alternate between the two backends whatever the other
-- stacks do. tests/e2e/facts.py asserts what each stack did, from the
-- history this run writes; docs/stacks.md sums it up.
local s = scenario{ name = "hang vs stop behind a flow VIP, every stack", duration = 8,
                    seed = 5 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local good = s:resolver{ name = "good", zone = v2 }
local hung = s:resolver{ name = "hung", zone = v2 }
local stopped = s:resolver{ name = "stopped", zone = v2 }
s:at(0, hung, "hang")
s:at(0, stopped, "stop")

local stacks = {
  glibc = { stack = "glibc", timeout = 1, attempts = 2 },
  cares = { stack = "c-ares", timeout = 0.5, attempts = 2 },
  -- 1 s, not less: a reply from the good backend later than ldns's timeout on a
  -- loaded machine would shift the flows and blacklist the VIP for the rest.
  ldns = { stack = "ldns", timeout = 1, attempts = 3 },
  unbound = { stack = "libunbound", cache = false },
  dig = { stack = "exec", timeout = 7,
          command = { "dig", "+tries=2", "+timeout=1", "+noall", "+answer", "+comments",
                      "@{server}", "-p", "{port}", "{name}" } },
}
local bad = { hang = hung, stop = stopped }
for _, case in ipairs{ "hang", "stop" } do
  for _, name in ipairs{ "glibc", "cares", "ldns", "unbound", "dig" } do
    local id = name .. "-" .. case
    local vip = s:vip{ name = "vip-" .. id, backends = { bad[case], good } }
    local c = { name = id, target = vip, concurrency = 1, from = 0.1, to = 5.5, limit = 10,
                -- its own name (the zone's wildcard): every wire query joins to it
                names = id .. ".apps.internal" }
    for k, v in pairs(stacks[name]) do c[k] = v end
    s:client(c)
  end
end

-- A proxy-like policy keeps the proxy's default: on_refused = "drop" (its vip line says so).
s:vip{ name = "vip-query", backends = { good }, policy = "query" }

-- With the port unreachable relayed, glibc behind the stopped backend loses
-- nothing, but for a lookup whose new socket gets a port still pinned to the
-- stopped backend by an earlier lookup (conntrack's doing: docs/stacks.md),
-- hence 0.9 of its 10 lookups; where the relay cannot be (no raw socket),
-- both are inconclusive.
s:expect{ "glibc fails over at once from a stopped backend",
          success_rate{ client = "glibc-stop" }, at_least = 0.9 }
s:expect{ "... well within its 1 s timeout", latency{ client = "glibc-stop", p = 100 },
          at_most = 500 }
