-- expect: client_run_threads_many\.lua:9: client app65: would bring the run to 1040 client threads, over the run's cap of 1024; lower 'threads' or 'concurrency'
-- Many clients, each well under a client's cap: an open-loop blocking client
-- gets 16 worker threads, and the 65th brings the run over its cap. Before
-- the cap was one per run, 1,000 such clients made 16,000 threads.
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
for i = 1, 1000 do
  local stack = i % 2 == 0 and "ldns" or "glibc-res"
  s:client{ name = "app" .. i, stack = stack, target = r1, names = "db-primary.internal", rate = 1 }
end
