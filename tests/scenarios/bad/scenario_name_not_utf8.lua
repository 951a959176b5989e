-- expect: scenario_name_not_utf8\.lua:2: .*scenario: .name. is not UTF-8 text \(byte 3\)
local s = scenario{ name = "ab\xff", duration = 1 }
