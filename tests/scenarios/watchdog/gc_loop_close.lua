-- A finalizer that never returns, kept alive to the end: lua_close runs it at
-- teardown, after the history's end line (tests/e2e/watchdog.sh).
local s = scenario{ name = "gc loop at close", duration = 0.5 }
KEEP = setmetatable({}, { __gc = function() while true do end end })
