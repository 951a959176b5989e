-- vip_bench.lua - a VIP and nothing else, for bench/vip_vs_dnsdist.sh: the
-- VIP forwards to two standalone fakeresolver daemons the script starts, and
-- dnsperf drives it from outside. No health check and no history (the
-- script runs it without --history), so what is measured is the VIP's own
-- forwarding: the same job dnsdist does in the comparison.
--
-- The script copies this file to its scratch directory and rewrites the
-- settings below (keep each on one line of this shape), then stops the run
-- with SIGINT when it is done (exit status 2, "interrupted", is expected).
-- By hand, with two fakeresolvers on 127.0.0.1:5301 and :5302:
--   build/harness/dnschaos run bench/scenarios/vip_bench.lua
local ADDRESS = "127.0.0.53:5353"
local BACKEND1 = "127.0.0.1:5301"
local BACKEND2 = "127.0.0.1:5302"
local POLICY = "query"
local DURATION = 600

local s = scenario{ name = "vip bench: a VIP in front of two fakeresolvers", duration = DURATION }
local v = s:vip{ name = "vip", address = ADDRESS, policy = POLICY,
                 backends = { { address = BACKEND1 }, { address = BACKEND2 } } }

-- The line the script waits for: the VIP is bound and forwarding.
s:at(0, function()
  print("serving " .. v.address .. " policy " .. POLICY)
end)
