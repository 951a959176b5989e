-- vip_farm_bench.lua - two farm resolvers and the VIPs in front of them, in
-- one run, for bench/vip_vs_dnsdist.sh (its default layout, "farm"): dnsperf
-- drives each VIP from outside, and dnsdist, started by the script, is put
-- in front of the same two resolvers. No health check and no history (the
-- script runs it without --history), so what is measured is forwarding and
-- answering: the job dnsdist and its two backends do in the comparison.
--
--   vip     policy query (round robin per query, as dnsdist), in-process
--   vipflow policy flow (a backend per client 5-tuple), in-process
--   viplo   policy query over loopback UDP (in_process = false): the path
--           a VIP takes to backends outside the process
--
-- The script copies this file to its scratch directory and rewrites the
-- settings below (keep each on one line of this shape), then stops the run
-- with SIGINT when it is done (exit status 2, "interrupted", is expected).
-- By hand: build/harness/dnschaos run bench/scenarios/vip_farm_bench.lua
-- serves scenarios/zones/internal.v2.zone (dig @127.0.0.53 -p 5353 web.internal).
local ZONE = "../../scenarios/zones/internal.v2.zone"
local R1 = "127.0.0.61:5301"
local R2 = "127.0.0.62:5302"
local VIP = "127.0.0.53:5353"
local VIP_FLOW = "127.0.0.53:5354"
local VIP_LO = "127.0.0.53:5355"
local DURATION = 600

local s = scenario{ name = "vip bench: VIPs in front of two farm resolvers", duration = DURATION }
local z = s:zone(ZONE)
local r1 = s:resolver{ name = "r1", address = R1, zone = z }
local r2 = s:resolver{ name = "r2", address = R2, zone = z }
local vips = {
  s:vip{ name = "vip", address = VIP, policy = "query", backends = { r1, r2 } },
  s:vip{ name = "vipflow", address = VIP_FLOW, policy = "flow", backends = { r1, r2 } },
  s:vip{ name = "viplo", address = VIP_LO, policy = "query", backends = { r1, r2 },
         in_process = false },
}

-- The line the script waits for: everything is bound and serving.
s:at(0, function()
  local line = "serving " .. r1.address .. " " .. r2.address
  for _, v in ipairs(vips) do line = line .. " " .. v.name .. "=" .. v.address end
  print(line)
end)
