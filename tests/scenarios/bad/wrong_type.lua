-- expect: wrong_type\.lua:2: scenario: .duration. must be a number, got string
local s = scenario{ name = "x", duration = "ten" }
