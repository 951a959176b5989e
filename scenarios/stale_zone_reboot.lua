-- The incident, as far as the farm goes today: two resolvers load the
-- published zone from the source; a patch run reboots r2, which comes back
-- from a zone file cached on its disk weeks ago and confidently answers with
-- a decommissioned host's address. A client asks both, round robin, as a
-- load-balanced VIP would spread it, and counts stale answers.
--
-- Run: dnschaos run scenarios/stale_zone_reboot.lua -v --history run.jsonl
-- (The VIP with health gating and real client stacks come with later issues.)
local s = scenario{ name = "stale zone reboot", duration = 8, seed = 7 }

local published = s:zone("zones/internal.v2.zone") -- serial 2026112502, db-primary 10.20.0.42
local on_disk = s:zone("zones/internal.v1.zone")   -- serial 2026110301, db-primary 10.20.0.15

local truth = s:zone_source{ name = "truth", zone = published }
local r1 = s:resolver{ name = "r1", boot = "source" }
local r2 = s:resolver{ name = "r2", boot = "source" }

-- The patch run: r2 goes down for a second and boots from its stale disk copy.
s:at(3, r2, "crash", { down = 1, zone = on_disk })

local counts = { fresh = 0, stale = 0, failed = 0 }
local first_stale
local n = 0
s:every(0.05, function()
  n = n + 1
  local target = (n % 2 == 0) and r1 or r2
  local res = s:query(target, "db-primary.internal", "A", { timeout = 0.2 })
  local addr = res.answers and res.answers[1]
  if addr == "10.20.0.42" then
    counts.fresh = counts.fresh + 1
  elseif addr == "10.20.0.15" then
    counts.stale = counts.stale + 1
    first_stale = first_stale or s:now()
  else
    counts.failed = counts.failed + 1
  end
end, { from = 0.5, to = 7.5 })

s:at(7.9, function()
  print(string.format("lookups: %d fresh, %d stale (decommissioned 10.20.0.15), %d failed",
                      counts.fresh, counts.stale, counts.failed))
  if first_stale then
    print(string.format("r2 rebooted at 3.0 s and served stale data from %.2f s on: serial %d < published %d",
                        first_stale, r2:serial(), truth:serial()))
  end
  print("without health gating, nothing stops r2 from answering: see the VIP issue")
end)
