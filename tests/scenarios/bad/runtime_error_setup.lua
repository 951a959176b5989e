-- expect: runtime_error_setup\.lua:3: attempt to call a nil value \(global .nosuch.\)
local s = scenario{ name = "x", duration = 1 }
nosuch()
