-- The VIP with a silently dropping backend (the half-VIP timeout): without a
-- health check, new flows keep landing on it; an alive check takes it out
-- within fall x interval + timeout, after which every lookup succeeds; an
-- operator's remove() does the same by hand.
local s = scenario{ name = "half-VIP timeout", duration = 8, seed = 5 }
local v2 = s:zone("../../scenarios/zones/internal.v2.zone")
local a = s:resolver{ name = "a", zone = v2 }
local b = s:resolver{ name = "b", zone = v2 }
local c = s:resolver{ name = "c", zone = v2 }
local d = s:resolver{ name = "d", zone = v2 }
-- Flow policy. on_down = "flush" drops the pins of a backend taken out (as
-- conntrack -D would): with "keep", a new socket that reuses a port still
-- pinned to it would go there, exactly as the kernel does.
local plain = s:vip{ name = "plain", backends = { a, b }, on_down = "flush" }  -- no checks
local checked = s:vip{ name = "checked", backends = { c, d }, on_down = "flush",
                       health = { check = "alive", interval = 0.2, timeout = 0.1,
                                  rise = 2, fall = 2, initial = "up" } }

local out_at
s:on(d, "unhealthy", function() out_at = out_at or s:now() end)

local function success_rate(vip, n)
  local ok = 0
  for _ = 1, n do
    -- each s:query is a new socket: a new flow, as a new getaddrinfo call is
    local res = s:query(vip, "web.internal", "A", { timeout = 0.15 })
    if res.ok then ok = ok + 1 end
  end
  return ok / n
end

s:at(0.5, function()
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
  print(string.format("d taken out %.3f s after it hung (bound fall x interval + timeout = 0.5)", out_at - before))
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
  print("vip ok")
end)
