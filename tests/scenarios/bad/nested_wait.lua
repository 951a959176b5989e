-- expect: nested_wait\.lua:5: s:wait works only in the timeline function itself
local s = scenario{ name = "x", duration = 2 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:at(0.1, function()
  local co = coroutine.create(function() return s:wait(r1, "booted", 0.5) end)
  local ok, err = coroutine.resume(co)
  error(err, 0)
end)
