-- expect: no_scenario\.lua: the file never calls scenario\{
local x = 1
