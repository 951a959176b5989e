-- expect: error_table\.lua:4: error raised with a table, not a message: \{ "first", code = 5, why = "disk" \}
local s = scenario{ name = "x", duration = 2 }
s:at(0.1, function()
  error({ "first", code = 5, why = "disk" })
end)
