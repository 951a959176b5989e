-- expect: setup_gate_answer\.lua:6: resolver: gate: 'answer' must be one of
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
local src = s:zone_source{ zone = z }
-- The boot plan (a reference on z) is read before the gate is refused.
s:resolver{ name = "r1", zone = z, gate = { source = src, answer = "nope" } }
