-- fault_precision.lua - faults injected and healed at known times on one
-- resolver, for bench/fault_precision.sh: dnsperf sends a steady stream of
-- queries from outside, and the history shows when each fault landed and
-- which queries it touched.
--
-- Timeline: from t = LEAD, CYCLES cycles of 6 s each:
--   +0 hang (every query)                 +1 healed by s:at
--   +2 rcode SERVFAIL (every query)       +3 healed by s:at
--   +4 delay 20 ms (every query)          +5 heals itself (duration = 1)
-- Each window starts up to JITTER (10 ms) late, by a seeded random amount, so
-- that injections fall at random phases of a periodic query stream (at whole
-- seconds they would all meet it at the same phase).
-- Each injection and scheduled heal prints a "precision:" line, which goes
-- into the history as a log line: the analysis reads the schedule from there.
--
-- The script copies this file next to its zone and rewrites the settings
-- below (keep each on one line of this shape). By hand:
--   bench/gen_zone.py --records 10000 --zone bench/scenarios/bench.zone
--   build/harness/dnschaos run bench/scenarios/fault_precision.lua --history h.jsonl
local ZONE = "bench.zone"
local ADDRESS = "127.0.0.22:5399"
local CYCLES = 8

local LEAD, CYCLE, WINDOW, DELAY_MS, JITTER = 2, 6, 1, 20, 0.01
local s = scenario{ name = "fault precision: injections at known times under a steady stream",
                    duration = LEAD + CYCLE * CYCLES + 1, seed = 1 }
local r = s:resolver{ name = "r1", zone = s:zone(ZONE), address = ADDRESS }

-- The line the script waits for; its t is the timeline's offset from the run's t = 0.
s:at(0, function()
  print("precision: ready " .. r.address)
end)

-- Injects make() at time at; heals it at at + WINDOW with s:at, or lets its
-- own duration heal it (self_heal).
local function window(at, kind, make, self_heal)
  local f
  s:at(at, function()
    f = make()
    print(string.format("precision: inject %s id %d at %.6f%s", kind, f.id, at,
                        self_heal and string.format(" duration %.6f", WINDOW) or ""))
  end)
  if not self_heal then
    s:at(at + WINDOW, function()
      f:heal()
      print(string.format("precision: heal %s id %d at %.6f", kind, f.id, at + WINDOW))
    end)
  end
end

local function jitter() return math.random() * JITTER end

for c = 0, CYCLES - 1 do
  local t = LEAD + c * CYCLE
  window(t + jitter(), "hang", function() return r:hang{} end)
  window(t + 2 + jitter(), "rcode", function() return r:rcode{ rcode = "SERVFAIL" } end)
  window(t + 4 + jitter(), "delay", function() return r:delay{ ms = DELAY_MS, duration = WINDOW } end, true)
end
