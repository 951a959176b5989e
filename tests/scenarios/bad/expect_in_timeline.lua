-- expect: expect_in_timeline\.lua:5: s:expect is declared in the scenario's setup, not in a timeline function or a coroutine
local s = scenario{ name = "x", duration = 1 }
local r1 = s:resolver{ name = "r1", file = "../../../scenarios/zones/internal.v2.zone" }
s:at(0.5, function()
  s:expect{ "too late: judged by run but not by check", success_rate{}, at_least = 2 }
end)
