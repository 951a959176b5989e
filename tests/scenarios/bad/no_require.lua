-- expect: no_require\.lua:3: attempt to call a nil value \(global .require.\)
local s = scenario{ name = "x", duration = 1 }
require("os")
