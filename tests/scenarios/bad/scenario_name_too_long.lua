-- expect: scenario_name_too_long\.lua:2: .*scenario: .name. is longer than 127 bytes
local s = scenario{ name = string.rep("x", 128), duration = 1 }
