-- expect: opts_fresh_strings\.lua:15: resolver: the name 'r1' is already taken
local s = scenario{ name = "x", duration = 1 }
-- __index hands out strings nothing else holds, and makes garbage enough for
-- the collector to run between two reads: each string must stay valid while
-- the API function uses it (before: a use after free under ASan).
local function fresh(reversed)
  return setmetatable({}, { __index = function(_, k)
    for i = 1, 20000 do local _ = { i } end
    local v = reversed[k]
    if type(v) == "string" then return v:reverse() end
    return v
  end })
end
s:resolver(fresh{ name = "1r", file = ("../../../scenarios/zones/internal.v2.zone"):reverse() })
s:resolver(fresh{ name = "1r", file = ("../../../scenarios/zones/internal.v2.zone"):reverse() })
