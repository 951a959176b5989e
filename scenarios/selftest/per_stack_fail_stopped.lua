-- expect: FAIL 1
-- expect-failed: glibc: retries stay pinned, about half the lookups fail (<= 75% succeed)
-- expect-failed: glibc-res: retries stay pinned, about half the lookups fail (<= 75% succeed)
-- expect-failed: c-ares: retries stay pinned, about half the lookups fail (<= 75% succeed)
--
-- The system: scenarios/per_stack.lua's pinned stacks (glibc, glibc-res,
-- c-ares), each behind its own flow VIP in front of "good" and "hung", but
-- "hung" is also stopped (the lines marked "selftest: fault"): its closed
-- port's unreachable is relayed, so each stack retries at once from a new
-- port, a new flow, the next in the VIP's alternation: the good backend.
-- The clients ask 20 times a second instead of in a closed loop: a lookup
-- refused and retried takes under a millisecond, and a closed loop made
-- 35,000 to 50,000 of them in 7 s, wrapping the ephemeral ports; a new
-- socket on a port still pinned goes where its old pin says, which is a
-- coin toss, and with both tries tossed 1 lookup in 4 fails: 77% to 80%
-- succeeded, converging on the bound (75%) the faster the machine.
-- Why FAIL: the half-VIP symptom (about half the lookups fail) is gone, and
-- "<= 75% succeed" reads 98% to 100%. The bound is honest: without the
-- marked lines (the shipped hung backend, the shipped closed loop) the
-- runner plays the file again and each stack succeeds about 50%, passing
-- it.
local s = scenario{ name = "selftest per-stack, stopped not hung", duration = 10, seed = 14 }
local zone = s:zone("../zones/internal.v2.zone")
local good = s:resolver{ name = "good", zone = zone }
local hung = s:resolver{ name = "hung", zone = zone }
local FAULT = 1.0
s:at(FAULT, hung, "hang")
s:at(FAULT, hung, "stop") -- selftest: fault

local stacks = {
  { name = "glibc", stack = "glibc", timeout = 1, attempts = 2 },
  { name = "glibc-res", stack = "glibc-res", timeout = 1, attempts = 2 },
  { name = "c-ares", stack = "c-ares", timeout = 0.5, attempts = 2 },
}
for _, st in ipairs(stacks) do
  local vip = s:vip{ name = "vip-" .. st.name, backends = { good, hung }, policy = "flow" }
  local c = { target = vip, concurrency = 1, from = FAULT - 0.2, to = 8,
              names = st.name .. ".apps.internal" }
  c.concurrency, c.rate, c.arrivals = nil, 20, "constant" -- selftest: fault
  for k, v in pairs(st) do c[k] = v end
  s:client(c)
  s:expect{ st.name .. ": retries stay pinned, about half the lookups fail (<= 75% succeed)",
            success_rate{ client = st.name, from = FAULT }, at_most = 0.75 }
end
