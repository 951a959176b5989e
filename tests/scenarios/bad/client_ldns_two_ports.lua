-- expect: client_ldns_two_ports\.lua:5: client app: ldns sends to every target on one port \(ldns_resolver_set_port\); the targets 127\.0\.0\.21:5300,127\.0\.0\.22:5301 listen on ports 5300 and 5301
-- ldns has one port for all its nameservers: refused at the call, not when the run starts.
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", stack = "ldns", target = { "127.0.0.21:5300", "127.0.0.22:5301" }, names = "a.internal", concurrency = 1 }
