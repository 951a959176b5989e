-- expect: client_exec_no_server\.lua:7: client lookup: .*use \{server\} and \{port\}
-- getent ignores {server}: on the host it asks the machine's own resolver, off
-- the machine; in the sandbox it reads a resolv.conf, which cannot name r1's port.
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone", address = "127.0.0.21:5300" }
-- {name} alone does not say where to send.
s:client{ name = "lookup", stack = "exec", target = r1, names = "a.internal", command = { "getent", "ahosts", "{name}" } }
