-- expect: client_run_threads_concurrency\.lua:10: client app3: would bring the run to 1536 client threads, over the run's cap of 1024; lower 'threads' or 'concurrency'
-- concurrency = 512 on a blocking stack is 512 worker threads (one per lookup
-- in flight): two such clients fit, the third does not, whether its count
-- comes from 'concurrency' or from 'threads'.
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
local exec = { "dig", "+short", "@{server}", "-p", "{port}", "{name}" }
s:client{ name = "app1", stack = "exec", target = r1, names = "db-primary.internal", concurrency = 512, command = exec }
s:client{ name = "app2", stack = "ldns", target = r1, names = "db-primary.internal", concurrency = 10000, threads = 512 }
s:client{ name = "app3", stack = "glibc", target = r1, names = "db-primary.internal", concurrency = 512 }
