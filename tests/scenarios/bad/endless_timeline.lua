-- expect: endless_timeline\.lua:3: scenario code ran for more than 5(\.0)? s
local s = scenario{ name = "x", duration = 30 }
s:at(0.1, function() while true do pcall(function() while true do end end) end end)
