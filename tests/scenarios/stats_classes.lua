-- c:stats() counts stale and wrong answers as lookups complete (what a
-- listener reacts to during the run, as scenarios/outage_replay.lua's herd
-- does): at the end, the counts a timeline function read must equal the
-- lookups the history classifies stale and wrong, for each client, and be
-- more than zero (a resolver serving the stale copy; a wrong-answer fault).
local s = scenario{ name = "stats classes", duration = 3, seed = 5 }
local v1 = s:zone("../../scenarios/zones/internal.v1.zone")   -- 2026110301: stale
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")   -- 2026112502: published
s:zone_source{ name = "truth", zone = v2 }
local stale = s:resolver{ name = "stale", zone = v1 }
local liar = s:resolver{ name = "liar", boot = "source" }
s:at(0.5, liar, "wrong", { address = "10.9.9.9", fraction = 0.5 })
local clients = {
  s:client{ name = "a", stack = "glibc", target = stale, names = "db-primary.internal",
            rate = 20, from = 0.2, to = 2 },
  s:client{ name = "b", stack = "c-ares", target = liar, names = "db-primary.internal",
            rate = 20, from = 0.2, to = 2 },
}
-- Every lookup has completed by 2.8 s (the resolvers answer at once).
s:at(2.8, function()
  for _, c in ipairs(clients) do
    local st = c:stats()
    assert(st.stale ~= nil and st.wrong ~= nil, "c:stats() has no stale or wrong count")
    print(string.format("stats %s %d %d %d", c.name, st.stale, st.wrong, st.pending))
  end
end)

local function agree(h)
  local said, got = {}, {}
  h:each("log", function(e)
    local name, st, wr, pend = e.message:match("^stats (%S+) (%d+) (%d+) (%d+)$")
    if name then said[name] = { tonumber(st), tonumber(wr), tonumber(pend) } end
  end)
  h:each("lookup", function(e)
    local g = got[e.client] or { 0, 0 }
    got[e.client] = g
    if e.class == "stale" then g[1] = g[1] + 1 elseif e.class == "wrong" then g[2] = g[2] + 1 end
  end)
  for _, name in ipairs{ "a", "b" } do
    local a, b = said[name], got[name]
    if not a or not b then return nil, "no stats line or no lookup of " .. name end
    if a[3] ~= 0 then return nil, name .. " still had lookups in flight" end
    if a[1] ~= b[1] or a[2] ~= b[2] then return false end
  end
  return said.a[1] > 0 and said.b[2] > 0 and said.a[2] == 0 and said.b[1] == 0
end
s:expect{ "c:stats() stale and wrong equal the history's classes", check(agree), at_least = 1 }
