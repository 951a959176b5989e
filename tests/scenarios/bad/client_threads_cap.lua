-- expect: client_threads_cap\.lua:6: client app: concurrency 10000 needs as many worker threads \(glibc blocks one per lookup\), and a client has at most 1024: lower it, or give threads = N
-- A blocking stack gets a worker thread per lookup in flight; 'threads' is
-- capped at 1024 and so is whatever else would set the count.
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", stack = "glibc", target = r1, names = "a.internal", concurrency = 10000 }
