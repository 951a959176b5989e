-- expect: remote_not_loopback\.lua:6: remote 'a': address 192\.0\.2\.53:53 is not a loopback address: dnschaos sends nothing off loopback unless told so: run with --allow-non-loopback
-- args: --no-sandbox
-- A remote daemon on another host needs the run's --allow-non-loopback; the
-- line is refused before its token file is read or anything is sent.
local s = scenario{ name = "x", duration = 1 }
s:remote{ name = "a", address = "192.0.2.53:53", control = "127.0.0.1:7001", token_file = "none.token" }
