-- expect: client_env_bad_name\.lua:5: client dig: env: 'A=B' is not a variable name \(empty, or holds '=' or a NUL\)
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
-- A name holding '=' would set another variable than it says.
s:client{ name = "dig", stack = "exec", target = r1, names = "a.internal", env = { ["A=B"] = "x" },
          command = { "dig", "+short", "@{server}", "-p", "{port}", "{name}" } }
