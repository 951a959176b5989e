-- expect: vip_rcode_no_zone\.lua:6: vip: health: check = 'rcode' asks for the SOA of the zone source's first zone, and there is no zone source: give name = '<a name the resolvers serve>' \(or zone = \.\.\.\)
local s = scenario{ name = "x", duration = 1 }
local zone = s:zone("../../../scenarios/zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
local r2 = s:resolver{ name = "r2", zone = zone }
local vip = s:vip{ backends = { r1, r2 }, health = { check = "rcode", interval = 0.5 } }
