-- A daemon whose answered serial its source never published: n1's source is
-- truth, but its config also asks another primary (a fake resolver serving a
-- newer file, on a fixed address) for the zone, and truth is down when it
-- restarts. The boot line records the serial it answered and a digest of
-- null: the source has no version of that serial.
local s = scenario{ name = "process nsd secondary, unknown serial", duration = 4, seed = 29 }
local truth = s:zone_source{ name = "truth", file = "zones/internal.v2.zone" }
s:resolver{ name = "elsewhere", file = "../zones/internal.v3.zone", address = "127.0.0.20:45999" }
local n1 = s:process{ name = "n1", source = truth, command = { "nsd", "-d", "-c", "{config}" },
                      config_text = [[
server:
    ip-address: {addr}@{port}
    port: {port}
    username: ""
    chroot: ""
    zonesdir: "{dir}"
    database: ""
    pidfile: ""
    xfrdfile: "{dir}/xfrd.state"
    xfrdir: "{dir}"
    zonelistfile: "{dir}/zone.list"
    server-count: 1
remote-control:
    control-enable: no
zone:
    name: "{origin}"
    request-xfr: AXFR {source} NOKEY
    request-xfr: AXFR 127.0.0.20@45999 NOKEY
]] }
s:at(0.3, truth, "stop")
s:at(0.5, function()
  n1:restart()
  assert(s:wait(n1, "booted", 3), "n1 did not come back within 3 s")
  print("serial", n1:serial())
end)
