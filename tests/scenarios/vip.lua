-- The VIP with a silently dropping backend (the half-VIP timeout): without a
-- health check, new flows keep landing on it; an alive check takes it out
-- within fall x interval + timeout, after which every lookup succeeds; an
-- operator's remove() does the same by hand.
local s = scenario{ name = "half-VIP timeout", duration = 9, seed = 5 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
-- Every VIP is built twice: handing queries to its farm resolvers in-process
-- (the default) and over loopback UDP (in_process = false); both must behave
-- the same.
local function farm(tag, in_process)
  local a = s:resolver{ name = "a" .. tag, zone = v2 }
  local b = s:resolver{ name = "b" .. tag, zone = v2 }
  local c = s:resolver{ name = "c" .. tag, zone = v2 }
  local d = s:resolver{ name = "d" .. tag, zone = v2 }
  -- Flow policy. on_down = "flush" drops the pins of a backend taken out (as
  -- conntrack -D would): with "keep", a new socket that reuses a port still
  -- pinned to it would go there, exactly as the kernel does.
  local plain = s:vip{ name = "plain" .. tag, backends = { a, b }, on_down = "flush",
                       in_process = in_process }  -- no checks
  local checked = s:vip{ name = "checked" .. tag, backends = { c, d }, on_down = "flush",
                         in_process = in_process,
                         health = { check = "alive", interval = 0.2, timeout = 0.1,
                                    rise = 2, fall = 2, initial = "up" } }
  return { tag = tag, b = b, d = d, plain = plain, checked = checked }
end
local farms = { farm("", true), farm("-lo", false) }

local out_at
for _, f in ipairs(farms) do
  s:on(f.d, "unhealthy", function() out_at = out_at or s:now() end)
end

local function success_rate(vip, n)
  local ok = 0
  for _ = 1, n do
    -- each s:query is a new socket: a new flow, as a new getaddrinfo call is
    local res = s:query(vip, "web.internal", "A", { timeout = 0.15 })
    if res.ok then ok = ok + 1 end
  end
  return ok / n
end

local function exercise(f)
  local plain, checked, b, d = f.plain, f.checked, f.b, f.d
  assert(success_rate(plain, 10) == 1 and success_rate(checked, 10) == 1, "all healthy at first")
  b:hang{}
  d:hang{}
  local before = s:now()
  out_at = nil
  local rate = success_rate(plain, 20)
  assert(rate > 0.3 and rate < 0.7, "flows alternate: about half time out, got " .. rate)
  while checked:up(d) and s:now() < before + 3 do s:sleep(0.05) end
  assert(not checked:up(d), "the alive check did not take d out")
  assert(out_at - before <= 0.5 + 0.6, "taken out after " .. (out_at - before))
  print(string.format("%s taken out %.3f s after it hung (bound fall x interval + timeout = 0.5)",
                      d.name, out_at - before))
  assert(success_rate(checked, 20) == 1, "with d out, every lookup through 'checked' succeeds")
  assert(success_rate(plain, 10) < 1, "no check: 'plain' still sends flows to b")
  plain:remove(b)
  assert(not plain:up(b))
  assert(success_rate(plain, 20) == 1, "after remove(b) every lookup succeeds")
  b:heal()
  d:heal()
  plain:restore(b)
  assert(s:wait(d, "healthy", 2 * 0.2 + 0.1 + 0.6), "d not back after healing")
  assert(success_rate(plain, 10) == 1 and success_rate(checked, 10) == 1, "all back")
  -- A stopped backend: its port is closed, and the VIP holds its flows off.
  b:stop()
  local lost = 0
  for _ = 1, 10 do
    if not s:query(plain, "web.internal", "A", { timeout = 0.15 }).ok then lost = lost + 1 end
  end
  assert(lost > 0 and lost < 10, "with b stopped, about half the new flows fail, got " .. lost)
  b:start()
  print("vip ok" .. f.tag)
end

s:at(0.5, function()
  for _, f in ipairs(farms) do exercise(f) end
end)
