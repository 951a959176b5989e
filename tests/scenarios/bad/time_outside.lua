-- expect: time_outside\.lua:3: s:at: time 15(\.0)? is outside the run \(0 to the duration, 10(\.0)? s\)
local s = scenario{ name = "x", duration = 10 }
s:at(15, function() end)
