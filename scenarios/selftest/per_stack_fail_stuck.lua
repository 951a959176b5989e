-- expect: FAIL 1
-- expect-failed: dig: a retry is a new flow, most lookups succeed (>= 60%)
-- expect-failed: libunbound: a retry is a new flow, lookups succeed (>= 90%)
--
-- The system: scenarios/per_stack.lua's stacks whose retries are new flows
-- and that it judges (libunbound, dig), each behind its own VIP in front of "hung" and
-- "good", but the VIPs are stuck on their first backend, the hung one
-- (policy primary, no health check: the line marked "selftest: fault"), so
-- a new port no longer reaches the good backend.
-- Why FAIL: both fail every lookup against ">= 90% succeed": libunbound
-- answers SERVFAIL at once once its first lookup has given up
-- on the forwarder, dig exits 9. The bound is honest: without the marked
-- line (the shipped flow VIP) the runner plays the file again and both pass
-- it.
local s = scenario{ name = "selftest per-stack, VIP stuck on the hung backend", duration = 7,
                    seed = 14 }
local zone = s:zone("../zones/internal.v2.zone")
local good = s:resolver{ name = "good", zone = zone }
local hung = s:resolver{ name = "hung", zone = zone }
local FAULT = 1.0
s:at(FAULT, hung, "hang")

local stacks = {
  { name = "libunbound", stack = "libunbound", cache = false },
  { name = "dig", stack = "exec", timeout = 5,
    command = { "dig", "+tries=2", "+timeout=1", "+noall", "+answer", "+comments",
                "@{server}", "-p", "{port}", "{name}" } },
}
for _, st in ipairs(stacks) do
  local vip = s:vip{ name = "vip-" .. st.name, backends = { hung, good },
                     policy = "primary", -- selftest: fault
                   }
  local c = { target = vip, concurrency = 1, from = FAULT - 0.2, to = 6,
              names = st.name .. ".apps.internal" }
  for k, v in pairs(st) do c[k] = v end
  s:client(c)
  local bound = st.name == "dig" and 0.60 or 0.90
  s:expect{ st.name .. (st.name == "dig" and ": a retry is a new flow, most lookups succeed (>= 60%)"
                         or ": a retry is a new flow, lookups succeed (>= 90%)"),
            success_rate{ client = st.name, from = FAULT }, at_least = bound }
end
