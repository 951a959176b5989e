-- runner_overhead.lua - one fake resolver of the farm and nothing else, for
-- bench/runner_overhead.sh: dnsperf drives it from outside while the runner's
-- loop, its timers and (with --history) the query log run as they do for real.
--
-- The script copies this file next to its zone and rewrites the three
-- settings below (keep each on one line of this shape). Run by hand, it
-- serves bench.zone from this folder on 127.0.0.21:5399 for 60 s:
--   bench/gen_zone.py --records 100000 --zone bench/scenarios/bench.zone
--   build/harness/dnschaos run bench/scenarios/runner_overhead.lua --history h.jsonl
local ZONE = "bench.zone"
local ADDRESS = "127.0.0.21:5399"
local DURATION = 60

local s = scenario{ name = "runner overhead: one resolver under dnsperf", duration = DURATION }
local r = s:resolver{ name = "r1", zone = s:zone(ZONE), address = ADDRESS }

-- The line the script waits for: the farm is up and serving.
s:at(0, function()
  print("serving " .. r.address)
end)
