-- expect: error_nil\.lua:3: error raised with nil, not a message
local s = scenario{ name = "x", duration = 2 }
s:at(0.1, function() error() end)
