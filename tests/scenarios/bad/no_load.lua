-- expect: no_load\.lua:3: attempt to call a nil value \(global .load.\)
local s = scenario{ name = "x", duration = 1 }
load("return 1")
