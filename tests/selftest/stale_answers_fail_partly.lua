-- expect: FAIL 1
-- expect-failed: no service gets a decommissioned address
--
-- The system: two resolvers behind a per-query VIP (dnsdist's round robin,
-- no health check). At 0.5 s r2 crashes and comes back at 0.7 s from a
-- stale disk copy in which db-replica had other addresses (10.20.0.13 and
-- fd00:20::13, both decommissioned). A glibc service asks A and AAAA at once
-- (family "both"): the VIP sends one to each resolver, so most answers mix
-- the published A (or AAAA) with the stale other.
-- Why FAIL: an answer with a decommissioned address in it is stale even
-- when the rest is fresh: "no service gets a decommissioned address" counts
-- them, at most 0. (Before issue 11 mixed answers read as wrong, not stale.)
local s = scenario{ name = "selftest stale_answers fail partly", duration = 2.5, seed = 1 }
local published = s:zone("../../scenarios/zones/internal.v2.zone")
local on_disk = s:zone("zones/internal.stale-replica.zone")
local truth = s:zone_source{ name = "truth", zone = published }
local r1 = s:resolver{ name = "r1", boot = "source" }
local r2 = s:resolver{ name = "r2", boot = "source" }
local vip = s:vip{ name = "vip", backends = { r1, r2 }, policy = "query" }
s:at(0.5, r2, "crash", { down = 0.2, zone = on_disk }) -- selftest: fault

s:client{ name = "app", stack = "glibc", target = vip, names = "db-replica.internal",
          family = "both", rate = 20, arrivals = "constant", from = 0.9, to = 2.2, timeout = 1,
          attempts = 1 }

s:expect{ "no service gets a decommissioned address", stale_answers{ client = "app" },
          at_most = 0 }
