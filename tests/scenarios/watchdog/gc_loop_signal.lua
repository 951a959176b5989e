-- Stuck in a finalizer from t = 0.3 for far longer than a signal may wait:
-- SIGINT or SIGTERM must still end the run within a second (tests/e2e/watchdog.sh).
local s = scenario{ name = "gc loop then a signal", duration = 60 }
s:at(0.3, function()
	print("stuck from now on")
	setmetatable({}, { __gc = function() while true do end end })
	for i = 1, 2000000 do local t = { i } end
end)
