-- expect: resume_parked\.lua:5: a timeline function paused in s:sleep, s:wait or s:query was resumed by coroutine\.resume: only the run wakes it
local s = scenario{ name = "x", duration = 2 }
local parked
s:at(0.1, function()
  parked = coroutine.running(); s:sleep(1)
end)
s:at(0.2, function() coroutine.resume(parked) end)
