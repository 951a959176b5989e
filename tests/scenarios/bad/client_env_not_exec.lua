-- expect: client_env_not_exec\.lua:4: client app: 'env' is for stack 'exec'
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", stack = "glibc", target = r1, names = "a.internal", env = { X = "1" } }
