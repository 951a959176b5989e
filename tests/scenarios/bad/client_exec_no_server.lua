-- expect: client_exec_no_server\.lua:6: client lookup: exec clients must be told where to send: use \{server\} and \{port\}, or run in a sandbox
-- getent ignores {server}: it asks the machine's own resolver, off the machine.
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
-- {name} alone does not say where to send.
s:client{ name = "lookup", stack = "exec", target = r1, names = "a.internal", command = { "getent", "ahosts", "{name}" } }
