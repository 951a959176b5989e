-- raises: u1 (bad_config.lua:3): unbound exited with status 1 before it answered an SOA query
local s = scenario{ name = "process bad config", duration = 1 }
local u1 = s:process{ name = "u1", zone_file = "../zones/internal.v2.zone",
                      config_text = "server:\n    no-such-option: yes\n",
                      command = { "unbound", "-d", "-p", "-c", "{config}" } }
