-- expect: client_exec_no_command\.lua:4: client dig: stack 'exec' needs command = 
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "dig", stack = "exec", target = r1, names = "a.internal" }
