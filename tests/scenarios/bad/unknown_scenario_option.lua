-- expect: unknown_scenario_option\.lua:2: scenario: unknown option .durations. \(did you mean .duration.\?\)
local s = scenario{ name = "x", durations = 1 }
