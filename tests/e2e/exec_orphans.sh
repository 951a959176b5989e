#!/usr/bin/env bash
# Every process an exec command starts dies with a SIGKILLed harness, not
# only the command itself (harness/spawn.h: each command runs under a
# guardian, leader of its process group and subreaper of all below it):
#  - an exec client's command that backgrounds two sleeps, one of them in a
#    session of its own (setsid), and waits for them: running when the
#    harness is SIGKILLed;
#  - an exec client's command that leaves a setsid'd sleep behind and exits;
#  - an exec client's command that does the same and is killed at its time
#    limit (checked while the harness still runs: none may pile up);
#  - an exec health check that does the same, every probe;
#  - an exec health check that leaves a setsid'd sleep behind and is killed
#    at its timeout, every probe (checked while the harness runs: its
#    guardian's sweep must take them, not only a SIGKILL to the group).
# The run's processes carry a marker unique to this test run in their argv
# (sleep 300.<pid><random><n>), found with pgrep -f: nothing with it may be
# left a few seconds after the kill. Before the guardian, the grandchildren
# outlived the harness for their full 300 s (and the setsid'd ones piled up
# even while it ran).
# Usage: exec_orphans.sh PATH/TO/dnschaos PATH/TO/scenarios/zones
set -uo pipefail
bin=${1:?dnschaos binary}
zones=$(cd "${2:?zone folder}" && pwd)
work=$(mktemp -d)
mark="300.$$$RANDOM"
pat="sleep ${mark//./\\.}[0-9]"
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	pkill -KILL -f "$pat" 2>/dev/null # this run's own marker only
	rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
count() { pgrep -f "$pat" | wc -l; }

cat >"$work/orphans.lua" <<LUA
local s = scenario{ name = "exec orphans", duration = 120 }
local r1 = s:resolver{ name = "r1", file = "$zones/internal.v2.zone" }
local truth = s:zone_source{ name = "truth", zone = s:zone("$zones/internal.v2.zone") }
local r2 = s:resolver{ name = "r2", boot = "source" }
s:client{ name = "waiter", stack = "exec", target = r1, names = "db-primary.internal",
          concurrency = 2, timeout = 600,
          command = { "sh", "-c", "sleep ${mark}1 & setsid sleep ${mark}2 & wait",
                      "{server}", "{port}" } }
s:client{ name = "leaver", stack = "exec", target = r1, names = "db-primary.internal",
          rate = 4, timeout = 5,
          command = { "sh", "-c", "setsid sleep ${mark}3 >/dev/null 2>&1 & echo 10.0.0.1",
                      "{server}", "{port}" } }
s:client{ name = "limited", stack = "exec", target = r1, names = "db-primary.internal",
          concurrency = 1, timeout = 0.3,
          command = { "sh", "-c", "setsid sleep ${mark}6 >/dev/null 2>&1 & sleep ${mark}7",
                      "{server}", "{port}" } }
s:vip{ name = "vip", backends = { r2 },
       health = { check = "exec", interval = 0.5, timeout = 0.5, rise = 1, fall = 1,
                  command = "setsid sleep ${mark}4 >/dev/null 2>&1 & sleep ${mark}5 >/dev/null 2>&1 & exit 0" } }
local r3 = s:resolver{ name = "r3", file = "$zones/internal.v2.zone" }
s:vip{ name = "slowvip", backends = { r3 },
       health = { check = "exec", interval = 0.4, timeout = 0.2, rise = 1, fall = 1,
                  command = "setsid sleep ${mark}8 >/dev/null 2>&1 & exec sleep ${mark}9" } }
LUA
# --no-sandbox: on the host the guardians are all that takes these down; in
# the sandbox its pid namespace does it anyway (sandbox.py kill).
"$bin" run "$work/orphans.lua" --no-sandbox --history "$work/h.jsonl" >"$work/out" 2>&1 &
pid=$!
# Wait (60 s at most: an ASan build on a loaded machine starts slowly) until
# the waiters' sleeps run and a few probes and leavers have come and gone.
seen=0
for _ in $(seq 1200); do
	kill -0 "$pid" 2>/dev/null || break
	if [ "$(pgrep -f "sleep ${mark//./\\.}[12]" | wc -l)" -ge 4 ] &&
		[ "$(grep -c '"type":"health"' "$work/h.jsonl" 2>/dev/null)" -ge 4 ] &&
		[ "$(grep -c '"client":"leaver","stack":"exec","id":[0-9]*,"name":"db-primary.internal","latency' "$work/h.jsonl" 2>/dev/null)" -ge 2 ] &&
		[ "$(grep -c '"error":"killed after 0.3 s"' "$work/h.jsonl" 2>/dev/null)" -ge 3 ] &&
		[ "$(grep -c '"type":"health","vip":"slowvip"' "$work/h.jsonl" 2>/dev/null)" -ge 3 ]; then
		seen=1
		break
	fi
	sleep 0.05
done
if [ "$seen" -ne 1 ]; then
	fail "the run did not get going (sleeps: $(count))"
	sed 's/^/  /' "$work/out" | head -20
else
	ok "the run's commands started ($(count) marked processes now)"
	# Commands killed at their time limit took what they setsid'd with them:
	# only the command running now (one at a time) may have one.
	n6=$(pgrep -f "^sleep ${mark//./\\.}6" | wc -l)
	[ "$n6" -le 1 ] && ok "commands killed at the limit left nothing behind ($n6 running)" ||
		fail "$n6 setsid'd children of commands killed at their limit are still running"
	# Health commands killed at their timeout likewise (one probe at a time;
	# one more may be between its sweep and its reap).
	n8=$(pgrep -f "^sleep ${mark//./\\.}8" | wc -l)
	[ "$n8" -le 2 ] && ok "health commands killed at their timeout left nothing behind ($n8 running)" ||
		fail "$n8 setsid'd children of health commands killed at their timeout are still running"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	pid=
	left=1
	for _ in $(seq 200); do # 10 s
		left=$(count)
		[ "$left" -eq 0 ] && break
		sleep 0.05
	done
	if [ "$left" -eq 0 ]; then
		ok "no process of the run outlived the SIGKILLed harness"
	else
		fail "$left processes of the run outlived the SIGKILLed harness:"
		pgrep -af "$pat" | sed 's/^/  /' | head
	fi
fi

echo "e2e_exec_orphans: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
