-- expect: syntax_error\.lua:3: .*near
local s = scenario{ name = "x", duration = 1 }
local x = = 1
