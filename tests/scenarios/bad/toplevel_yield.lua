-- expect: toplevel_yield\.lua:3: .*yielded outside s:sleep
local s = scenario{ name = "x", duration = 2 }
s:at(0.1, function() coroutine.yield() end)
