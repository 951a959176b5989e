-- expect: client_ldns_port_at_start\.lua:9: client app: ldns sends to every target on one port, and target 1 \(r1,r2\) gets its own port when the run starts: give the targets one explicit port
-- args: --no-sandbox
-- On the host, resolvers without an explicit port get theirs when the run
-- starts, each its own: ldns, with one port for every nameserver, cannot have
-- two of them. (In the sandbox both are on port 53, which ldns can use.)
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
local r2 = s:resolver{ name = "r2", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", stack = "ldns", target = { r1, r2 }, names = "a.internal", concurrency = 1 }
