-- expect: sleep_in_setup\.lua:3: s:sleep works only inside a timeline function
local s = scenario{ name = "x", duration = 1 }
s:sleep(1)
