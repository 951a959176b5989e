-- expect: scenario_twice\.lua:3: scenario\{\} may be called once per file
local s = scenario{ name = "x", duration = 1 }
local t = scenario{ name = "y", duration = 1 }
