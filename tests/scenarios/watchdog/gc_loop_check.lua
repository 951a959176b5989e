-- A finalizer that never returns, run by the collector inside an expectation's
-- check function, when the history is judged (after `run`, and by `check`;
-- tests/e2e/watchdog.sh).
local s = scenario{ name = "gc loop in a check", duration = 0.3 }
s:expect{ "a check that never returns",
          check(function(h)
            setmetatable({}, { __gc = function() while true do end end })
            for i = 1, 2000000 do local t = { i } end
            return 0
          end), at_most = 0 }
