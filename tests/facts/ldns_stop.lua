-- The end of a run does not wait for ldns: its lookups to a resolver that
-- drops everything are blocked on unconnected sockets that closing the
-- farm's ports never wakes (5 s x 3 tries by default); the client stops
-- them at the end. facts.sh checks the run ends within a few seconds of its
-- duration.
local s = scenario{ name = "ldns stops with the run", duration = 1.5, seed = 1 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = v2 }
s:at(0.5, r1, "hang")
s:client{ name = "ldns", stack = "ldns", target = r1, names = "web.internal", concurrency = 4 }
