-- A finalizer that never returns, run by the collector during the setup code
-- (hooks are off in finalizers: only the watchdog stops it; tests/e2e/watchdog.sh).
local s = scenario{ name = "gc loop at setup", duration = 1 }
setmetatable({}, { __gc = function() while true do end end })
for i = 1, 2000000 do local t = { i } end -- garbage: the collector runs the finalizer
