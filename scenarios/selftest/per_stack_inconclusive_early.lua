-- expect: INCONCLUSIVE 2
-- expect-inconclusive: libunbound: a retry is a new flow, lookups succeed (>= 90%)
-- expect-inconclusive: dig: a retry is a new flow, most lookups succeed (>= 60%)
--
-- The system: scenarios/per_stack.lua's libunbound and dig clients,
-- but they stop asking at 0.8 s and "hung" hangs only at 1.0 s.
-- Why INCONCLUSIVE: every lookup succeeded, and none met the hang, so
-- ">= 90% succeed" says nothing about how the stack lives through it: each
-- must be inconclusive, never a pass. (The pinned stacks' "<= 70% succeed"
-- fails on such a run, as it should: the symptom is absent.)
local s = scenario{ name = "selftest per-stack, clients stop early", duration = 2, seed = 14 }
local zone = s:zone("../zones/internal.v2.zone")
local good = s:resolver{ name = "good", zone = zone }
local hung = s:resolver{ name = "hung", zone = zone }
s:at(1.0, hung, "hang")

local stacks = {
  { name = "libunbound", stack = "libunbound", cache = false },
  { name = "dig", stack = "exec", timeout = 5,
    command = { "dig", "+tries=2", "+timeout=1", "+noall", "+answer", "+comments",
                "@{server}", "-p", "{port}", "{name}" } },
}
for _, st in ipairs(stacks) do
  local vip = s:vip{ name = "vip-" .. st.name, backends = { good, hung }, policy = "flow" }
  local c = { target = vip, concurrency = 1, from = 0.3, to = 0.8,
              names = st.name .. ".apps.internal" }
  for k, v in pairs(st) do c[k] = v end
  s:client(c)
  local bound = st.name == "dig" and 0.60 or 0.90
  s:expect{ st.name .. (st.name == "dig" and ": a retry is a new flow, most lookups succeed (>= 60%)"
                         or ": a retry is a new flow, lookups succeed (>= 90%)"),
            success_rate{ client = st.name }, at_least = bound }
end
