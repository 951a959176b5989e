-- expect: client_not_loopback\.lua:3: client app: target 10\.0\.0\.1:53 is not a loopback address
local s = scenario{ name = "x", duration = 1 }
s:client{ name = "app", stack = "glibc", target = "10.0.0.1:53", names = "db-primary.internal" }
