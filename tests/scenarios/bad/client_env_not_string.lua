-- expect: client_env_not_string\.lua:4: client dig: env\.RETRIES must be a string, got number
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "dig", stack = "exec", target = r1, names = "a.internal", env = { RETRIES = 3 },
          command = { "dig", "+short", "@{server}", "-p", "{port}", "{name}" } }
