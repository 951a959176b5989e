-- expect: endless_setup\.lua:3: scenario code ran for more than 10(\.0)? s
local s = scenario{ name = "x", duration = 1 }
while true do end
