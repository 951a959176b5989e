-- clients_load.lua - one fake resolver and one client of one stack driving it
-- as fast as it is told, for bench/clients.sh: lookups per second per stack,
-- CPU per lookup, and what the history costs.
--
-- The script copies this file to its scratch directory and rewrites the
-- settings below (keep each on one line of this shape). Run by hand, it
-- drives c-ares at 20,000 lookups/s for 3.5 s against the v2 zone:
--   build-bench/harness/dnschaos run bench/clients_load.lua --history h.jsonl
--
-- The client asks from t = 0. At LEAD and at LEAD + WINDOW it prints its
-- counters ("window start ..." / "window end ..."): the measurement window.
-- The lines go to stdout (and into the history as `log` lines when there is
-- one), so the lookups can be counted without a history too. The run ends
-- shortly after the window; lookups still in flight then are cancelled.
local ZONE = "../scenarios/zones/internal.v2.zone"
local STACK = "c-ares"   -- glibc, glibc-res, c-ares, ldns, libunbound, exec
local RATE = 20000       -- open loop: lookups per second; 0: closed loop
local CONCURRENCY = 256  -- closed loop: lookups kept in flight
local THREADS = 0        -- threaded stacks: worker threads; 0: the client's default
local CACHE = false      -- libunbound's cache (process-wide in libunbound: one setting per run)
local NAMES = 64         -- how many names it asks (8 to 256), picked uniformly
local LEAD = 0.5         -- seconds before the window opens
local WINDOW = 3         -- seconds of the window
local SEED = 1

local s = scenario{ name = "clients bench: " .. STACK, duration = LEAD + WINDOW + 0.05, seed = SEED }
local r1 = s:resolver{ name = "r1", zone = s:zone(ZONE) }

-- Names that exist, each answered with at least one address: the zone's own
-- (api is a CNAME to web), then names under its wildcard *.apps.
local names = { "db-primary.internal", "db-replica.internal", "web.internal", "api.internal",
                "mx1.internal", "ldap.internal", "ns1.internal", "ns2.internal" }
while #names > NAMES do table.remove(names) end
for i = 1, NAMES - #names do names[#names + 1] = "n" .. i .. ".apps.internal" end

local opts = { name = "bench", stack = STACK, target = r1, names = names }
if RATE > 0 then opts.rate = RATE else opts.concurrency = CONCURRENCY end
if THREADS > 0 then opts.threads = THREADS end
if STACK == "libunbound" or STACK == "unbound" then opts.cache = CACHE end
if STACK == "ldns" then
  -- ldns waits on unconnected sockets: a lookup in flight when the farm
  -- closes would hold the run's end for timeout x tries (5 s x 3 by default).
  opts.timeout = 1
  opts.attempts = 1
end
if STACK == "exec" then
  opts.command = { "dig", "+short", "+time=1", "+tries=1", "-p", "{port}", "@{server}", "{name}", "{type}" }
  opts.timeout = 2
end
local c = s:client(opts)

local function counters(what)
  local st = c:stats()
  print(string.format("window %s invoked=%d ok=%d failed=%d timeouts=%d overload=%d pending=%d wire=%d",
    what, st.invoked, st.ok, st.failed, st.timeouts, st.overload, st.pending, st.wire))
end
s:at(LEAD, function() counters("start") end)
s:at(LEAD + WINDOW, function() counters("end") end)
