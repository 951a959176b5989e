-- expect: ^dnschaos: [^ ]*/at_bad_option\.lua:6: s:at\(1\.0, resolver r1, 'delay'\): delay: 'ms' must be between
-- A declared action's bad option: its file:line once, then the entry, then the reason.
local s = scenario{ name = "bad option in a declared action", duration = 2 }
local truth = s:zone_source{ name = "truth", file = "../zones/internal.v3.zone" }
local r1 = s:resolver{ name = "r1", boot = "source" }
s:at(1.0, r1, "delay", { ms = -5 })
