-- expect: FAIL 1
-- expect-failed: the fix: no stale answer through the gated VIP
-- expect-failed: g2 is never admitted while behind, and rejoins within rise x interval once current
-- expect-passed: the incident reproduces: the unprotected VIP hands out the decommissioned address
-- expect-passed: the gated service keeps resolving
-- expect-passed: no retry storm through the gated VIP
--
-- scenarios/stale_zone_reboot.lua, but the stale disk copy carries a serial
-- AHEAD of the published one (stale_zone_higher_serial.zone: the records of
-- internal.v1.zone, db-primary 10.20.0.15, serial 2026120100 against the
-- published 2026112502; the line marked "selftest: fault"), as a bad edit or
-- a clock set ahead leaves it. The serial health check and the resolvers'
-- gate compare serials, so both are fooled: g2 looks current, does not
-- gate itself nor reload, and is readmitted as soon as it is up.
-- Why FAIL: the history classifies answers by content, not serial, so its
-- answers are stale (about 42, bound 0), and readmission compares versions
-- by content digest: queries reached g2 while it served a version never
-- published. A checker that trusted the serial would pass this run. Without
-- the marked line (the shipped scenario) both pass.
local s = scenario{ name = "stale zone reboot selftest: higher serial", duration = 10, seed = 7 }

local published = s:zone("../zones/internal.v2.zone") -- serial 2026112502: db-primary 10.20.0.42
local on_disk = s:zone("../zones/internal.v1.zone")   -- serial 2026110301: db-primary 10.20.0.15
on_disk = s:zone("stale_zone_higher_serial.zone") -- selftest: fault

local truth = s:zone_source{ name = "truth", zone = published }

-- Production as it was.
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local unprotected = s:vip{ name = "unprotected", backends = { p1, p2 }, policy = "flow",
                           health = { check = "rcode", interval = 0.5, rise = 1, fall = 1,
                                      initial = "up" } }

-- The fix: a serial health check, resolvers that gate themselves while
-- behind and fetch the published zone to rejoin, and flows pinned to a
-- backend that goes down routed anew (so a lookup's retry leaves it).
local g1 = s:resolver{ name = "g1", boot = "source", gate = { answer = "servfail", reload = true } }
local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail", reload = true } }
local gated = s:vip{ name = "gated", backends = { g1, g2 }, policy = "flow", on_down = "flush",
                     health = { check = "serial", interval = 0.5, timeout = 0.25,
                                rise = 2, fall = 1 } }

-- The patch run: the second resolver of each pair reboots from its stale disk copy.
-- Between two health probes (every 0.5 s from the first one, right after the
-- boot), so that the services' lookups meet the crash before a probe sees
-- it: a test of the fix that no lookup meets proves nothing.
s:at(3.2, p2, "crash", { down = 1, zone = on_disk })
s:at(3.2, g2, "crash", { down = 1, zone = on_disk })

-- The services: real glibc getaddrinfo (the code path every C and C++ service
-- takes), timeout:1 attempts:2, asking through each VIP. Each lookup is in
-- the history with its answer classified fresh (10.20.0.42), stale (an older
-- version's answer: 10.20.0.15) or wrong.
local apps = {}
for _, vip in ipairs{ unprotected, gated } do
  apps[#apps + 1] = s:client{ name = "app-" .. vip.name, stack = "glibc", target = vip,
                              names = "db-primary.internal", rate = 20, from = 1, to = 9.5,
                              timeout = 1, attempts = 2 }
end

-- What must hold (judged on the history after the run; docs/checks.md).
s:expect{ "the incident reproduces: the unprotected VIP hands out the decommissioned address",
          stale_answers{ client = "app-unprotected" }, at_least = 1 }
s:expect{ "the fix: no stale answer through the gated VIP",
          stale_answers{ client = "app-gated" }, at_most = 0 }
s:expect{ "the gated service keeps resolving", success_rate{ client = "app-gated" }, at_least = 0.99 }
s:expect{ "g2 is never admitted while behind, and rejoins within rise x interval once current",
          readmission{ backend = g2, vip = gated }, at_most = 1.5 }
s:expect{ "no retry storm through the gated VIP", amplification{ client = "app-gated" }, at_most = 1.2 }

s:at(9.8, function()
  for _, app in ipairs(apps) do
    local st = app:stats()
    print(string.format("%-16s %4d lookups: %4d ok, %3d failed, %3d timed out", app.name,
                        st.invoked, st.ok, st.failed, st.timeouts))
  end
  print(string.format("published %d; p2 still serves %d and answers anyway; g2 gated itself, "
                      .. "reloaded, and serves %d", truth:serial(), p2:serial(), g2:serial()))
end)
