-- expect: endless_after_event\.lua:7: scenario code ran for more than 5(\.0)? s
local s = scenario{ name = "a farm event inside a callback must not lift its deadline", duration = 30 }
local r = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v1.zone" }
s:on(r, "booted", function() end)
s:at(0.1, function()
  r:restart{}
  while true do end
end)
