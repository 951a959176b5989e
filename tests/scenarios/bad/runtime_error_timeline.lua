-- expect: runtime_error_timeline\.lua:3: boom
local s = scenario{ name = "x", duration = 2 }
s:at(0.1, function() error("boom") end)
