-- expect: no_io\.lua:3: attempt to index a nil value \(global .io.\)
local s = scenario{ name = "x", duration = 1 }
io.open("/etc/passwd")
