-- expect: no_os\.lua:3: attempt to index a nil value \(global .os.\)
local s = scenario{ name = "x", duration = 1 }
os.execute("true")
