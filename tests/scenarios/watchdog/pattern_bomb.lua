-- docs/scenario-api.md, "The deadline": a pathological string.find pattern
-- runs in one C call the hook never interrupts (tests/e2e/watchdog.sh).
local s = scenario{ name = "pattern bomb", duration = 60 }
s:at(0.5, function()
	print("matching")
	string.find(string.rep("a", 60), string.rep("a*", 40) .. "b")
end)
