-- expect: error_table_setup\.lua:3: error raised with a table, not a message: custom text
local s = scenario{ name = "x", duration = 2 }
error(setmetatable({}, { __tostring = function() return "custom text" end }))
