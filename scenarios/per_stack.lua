-- Per stack: the half-VIP fault (one backend of a flow VIP hung) against glibc, glibc-res, c-ares, ldns, libunbound and dig.
--
-- What it reproduces. Two resolvers, "good" and "hung"; every stack has its
-- own flow-pinned VIP (kernel DNAT + conntrack) in front of both, so its new
-- flows alternate between them whatever the other stacks do, and its own
-- name (the zone's wildcard), so the history joins every wire query to the
-- stack that sent it. At 1.0 s "hung" starts dropping every query silently.
-- Each client keeps one lookup in flight (closed loop) from 0.8 s to 8 s,
-- starting just before the fault (thousands of fast lookups would pin
-- thousands of source ports, and a new socket reusing one goes where its
-- pin says, which blurs the alternation), with realistic retry settings:
--   glibc, glibc-res  timeout:1 attempts:2. A retry reuses the socket: the
--                     lookups whose first query went to "hung" stay pinned
--                     there and fail after 2 s. Half the lookups fail.
--   c-ares            0.5 s, 2 tries (0.5 + 1.0 s): the same socket, pinned,
--                     half the lookups fail.
--   ldns              1 s per try, 3 tries: every try opens a new socket, a
--                     new flow that reaches the other backend: the lookups
--                     succeed, after one timeout when they started on "hung".
--   libunbound        cache off (else repeated lookups never reach the farm):
--                     every retransmit from a new port: the lookups succeed.
--   dig               +tries=2 +timeout=1: a new port per try: they succeed,
--                     after its +timeout.
-- Every report (console, JSON, HTML) prints the per-stack table: success,
-- p50, p99 and wire queries per lookup (amplification) of each client over
-- the lookups invoked from the fault on; docs/stacks.md, "The half-VIP
-- fault, stack by stack", records it with the versions measured.
--
-- What it expects, and why the bounds. The stacks that stay pinned succeed
-- at most 75%: the alternation gives one failure per success, 40% to 57%
-- over the 5 to 10 lookups that fit in the 7 s (a failed lookup takes 1.5
-- to 2 s; measured 43% to 60%); a new socket that reuses a still-pinned
-- port can add one success (71%); without pinning a retry reaches the good
-- backend and nearly every lookup succeeds (behind a stopped backend, at 20
-- lookups a second: 98% to 100%; in this closed loop, refused lookups are
-- so fast that the ports wrap and land by old pins: 77% to 80%). The
-- stacks whose retries are new flows succeed at least 90% (measured: all
-- of them; a VIP stuck on the hung backend brings them to 0%; dig's bound
-- is 60%, below). ldns: see below.
--
-- Run: dnschaos run scenarios/per_stack.lua -v --history run.jsonl --json run.json
-- expect: PASS 0
local s = scenario{ name = "half-VIP fault per stack", duration = 10, seed = 14 }
local zone = s:zone("zones/internal.v2.zone")
local good = s:resolver{ name = "good", zone = zone }
local hung = s:resolver{ name = "hung", zone = zone }

local FAULT = 1.0
s:at(FAULT, hung, "hang")

local stacks = {
  { name = "glibc", stack = "glibc", timeout = 1, attempts = 2 },
  { name = "glibc-res", stack = "glibc-res", timeout = 1, attempts = 2 },
  { name = "c-ares", stack = "c-ares", timeout = 0.5, attempts = 2 },
  { name = "ldns", stack = "ldns", timeout = 1, attempts = 3 },
  { name = "libunbound", stack = "libunbound", cache = false },
  { name = "dig", stack = "exec", timeout = 5,
    command = { "dig", "+tries=2", "+timeout=1", "+noall", "+answer", "+comments",
                "@{server}", "-p", "{port}", "{name}" } },
}
for _, st in ipairs(stacks) do
  local vip = s:vip{ name = "vip-" .. st.name, backends = { good, hung }, policy = "flow" }
  local c = { target = vip, concurrency = 1, from = FAULT - 0.2, to = 8,
              names = st.name .. ".apps.internal" }
  for k, v in pairs(st) do c[k] = v end
  s:client(c)
end

for _, name in ipairs{ "glibc", "glibc-res", "c-ares" } do
  s:expect{ name .. ": retries stay pinned, about half the lookups fail (<= 75% succeed)",
            success_rate{ client = name, from = FAULT }, at_most = 0.75 }
end
-- ldns gets no expectation: its outcome is all or nothing. When the good
-- backend's reply to a retry comes later than its timeout (a loaded
-- machine), every try of one lookup fails, the worker's resolver
-- blacklists the VIP, and every later lookup fails at once (measured: 4
-- runs of 20 on a machine loaded far past its two cores ended near 0%). The table in docs/stacks.md
-- reports it; a bound on it would be either unstable or unable to fail.
s:expect{ "libunbound: a retry is a new flow, lookups succeed (>= 90%)",
          success_rate{ client = "libunbound", from = FAULT }, at_least = 0.90 }
-- dig makes 4 to 6 lookups in the window: one whose two answers both come
-- later than +timeout=1 on a loaded machine is a quarter of them.
s:expect{ "dig: a retry is a new flow, most lookups succeed (>= 60%)",
          success_rate{ client = "dig", from = FAULT }, at_least = 0.60 }
