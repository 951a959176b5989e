-- expect: leak_gate\.lua:5: resolver: gate: compares with what a zone source publishes
local s = scenario{ name = "x", duration = 1 }
local z = s:zone("../../../scenarios/zones/internal.v2.zone")
-- The gate is read after the boot plan (a reference on z): it must not leak.
s:resolver{ name = "r1", zone = z, gate = { answer = "servfail" } }
