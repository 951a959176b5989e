-- expect: nested_query\.lua:7: s:query works only in the timeline function itself, not in a coroutine it made
local s = scenario{ name = "x", duration = 2 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
-- Before: the query's yield went to coroutine.wrap, not the runner; its reply
-- resumed nothing and the harness crashed.
s:at(0.1, function()
  coroutine.wrap(function() s:query(r1, "db-primary.internal") end)()
end)
