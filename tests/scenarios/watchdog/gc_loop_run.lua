-- A finalizer that never returns, run by the collector inside a timeline
-- function (tests/e2e/watchdog.sh).
local s = scenario{ name = "gc loop in the run", duration = 60 }
s:at(0.5, function()
	print("dropping the finalizer")
	setmetatable({}, { __gc = function() while true do end end })
	for i = 1, 2000000 do local t = { i } end
end)
