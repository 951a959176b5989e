-- expect: nested_sleep_then_yield\.lua:8: coroutine\.yield in a timeline function: it yielded outside s:sleep, s:wait or s:query
local s = scenario{ name = "x", duration = 2 }
-- The nested s:sleep is refused (and the pcall swallows that); the bare
-- yield after it must not pass for the sleep (before: it was parked as one).
s:at(0.1, function()
  local ok = pcall(coroutine.wrap(function() s:sleep(0.1) end))
  assert(not ok)
  coroutine.yield()
end)
