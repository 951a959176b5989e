-- expect: client_run_threads_one_more\.lua:8: client ub: would bring the run to 1025 client threads, over the run's cap of 1024; lower 'threads' or 'concurrency'
-- One client at the cap of worker threads, and one more client whose stack
-- makes a thread of its own (libunbound's background thread): one too many.
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:client{ name = "app", stack = "glibc", target = r1, names = "db-primary.internal",
          concurrency = 1024 }
s:client{ name = "ub", stack = "libunbound", target = r1, names = "db-primary.internal" }
