-- libunbound with its cache off: every lookup reaches the farm (compare
-- half_vip.lua, where the cache answers every repeat). libunbound switches
-- its cache off process-wide, hence a scenario of its own.
local s = scenario{ name = "libunbound without cache", duration = 1.5, seed = 11 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local good = s:resolver{ name = "good", zone = v2 }
s:client{ name = "unbound-nocache", stack = "libunbound", target = good, names = "ns1.internal",
          concurrency = 1, from = 0.1, limit = 10, cache = false }
