#!/usr/bin/env bash
# What exec clients' commands get from the harness, end to end:
#  1. the environment: a secret in the harness's environment
#     (AWS_SECRET_ACCESS_KEY) never reaches the history through a command's
#     output, while what the scenario passes with env = {...} and the
#     DNSCHAOS_* words do;
#  2. their lives: commands (sleep 300, far past any limit) running when
#     the harness is SIGKILLed die with it, within seconds, not as orphans.
#     Only the run's own process tree is looked at: the pids its commands
#     wrote, checked to be children of guardians (harness/spawn.h) that are
#     children of this harness before the kill.
# Usage: exec_harness.sh PATH/TO/dnschaos PATH/TO/scenarios/zones
set -uo pipefail
bin=${1:?dnschaos binary}
zones=$(cd "${2:?zone folder}" && pwd)
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	# Commands of this run only (their pids, as they wrote them), if any survived.
	if [ -f "$work/pids" ]; then
		while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$work/pids"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# gone PID: no such process, or a zombie (killed, not yet reaped by its new parent).
gone() {
	local st
	st=$(sed -n 's/^[0-9]* (.*) \([A-Z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# ---- 1. the environment ----
cat >"$work/env.lua" <<LUA
local s = scenario{ name = "exec env", duration = 2 }
local r1 = s:resolver{ name = "r1", file = "$zones/internal.v2.zone" }
s:client{ name = "envdump", stack = "exec", target = r1, names = "db-primary.internal",
          concurrency = 1, from = 0.1, limit = 1, env = { PASSED_VAR = "from-scenario" },
          command = { "sh", "-c", "env | grep -e SECRET -e PASSED_VAR -e DNSCHAOS_SERVER; echo 192.0.2.1",
                      "{server}" } }
LUA
AWS_SECRET_ACCESS_KEY=hunter2-not-for-ci timeout -k 5 120 "$bin" run "$work/env.lua" \
	--history "$work/env.jsonl" >"$work/env.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
	fail "env run exited $rc"; sed 's/^/  /' "$work/env.out"
elif ! grep -q '"type":"lookup"' "$work/env.jsonl"; then
	fail "env run recorded no lookup"
else
	grep -q 'PASSED_VAR=from-scenario' "$work/env.jsonl" &&
		ok "env = {...} reaches the command" || fail "env = {...} is not in the command's output"
	grep -q 'DNSCHAOS_SERVER=127\.0\.0\.' "$work/env.jsonl" &&
		ok "DNSCHAOS_SERVER reaches the command" || fail "DNSCHAOS_SERVER is not in the command's output"
	if grep -q -e hunter2 -e AWS_SECRET "$work/env.jsonl" "$work/env.out"; then
		fail "the harness's AWS_SECRET_ACCESS_KEY reached the history"
		grep -h -e hunter2 -e AWS_SECRET "$work/env.jsonl" | head -2 | cut -c1-300
	else
		ok "the harness's secret is not in the history"
	fi
fi

# ---- 2. commands die with a SIGKILLed harness ----
n=3
cat >"$work/orphan.lua" <<LUA
local s = scenario{ name = "exec orphans", duration = 120 }
local r1 = s:resolver{ name = "r1", file = "$zones/internal.v2.zone" }
s:client{ name = "sleeper", stack = "exec", target = r1, names = "db-primary.internal",
          concurrency = $n, timeout = 600,
          command = { "sh", "-c", "echo \$\$ >> '$work/pids'; exec sleep 300", "{server}" } }
LUA
# --no-sandbox: this is the guardians' work on the host (harness/spawn.h); the
# pids the commands write are read from the host's /proc. In the sandbox its
# pid namespace takes everything down (sandbox.py kill).
"$bin" run "$work/orphan.lua" --no-sandbox >"$work/orphan.out" 2>&1 &
pid=$!
for _ in $(seq 1200); do # 60 s: an ASan build on a loaded machine starts slowly
	[ -f "$work/pids" ] && [ "$(wc -l <"$work/pids")" -ge "$n" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
mapfile -t pids <"$work/pids" 2>/dev/null
if [ "${#pids[@]}" -lt "$n" ]; then
	fail "the run started ${#pids[@]} of $n commands"; sed 's/^/  /' "$work/orphan.out"
else
	ours=0
	for p in "${pids[@]}"; do
		# Each command's parent is its guardian (harness/spawn.h), a child of the harness.
		ppid=$(sed -n 's/^[0-9]* (.*) [A-Z] \([0-9]*\) .*/\1/p' "/proc/$p/stat" 2>/dev/null)
		gpid=$(sed -n 's/^[0-9]* (.*) [A-Z] \([0-9]*\) .*/\1/p' "/proc/$ppid/stat" 2>/dev/null)
		[ "$gpid" = "$pid" ] && ! gone "$p" && ours=$((ours + 1))
	done
	[ "$ours" -eq "${#pids[@]}" ] && ok "${#pids[@]} commands run under guardians of the harness" ||
		fail "only $ours of ${#pids[@]} commands are running under guardians of the harness"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	pid=
	left=("${pids[@]}")
	for _ in $(seq 100); do # 5 s
		still=()
		for p in "${left[@]}"; do gone "$p" || still+=("$p"); done
		left=("${still[@]}")
		[ "${#left[@]}" -eq 0 ] && break
		sleep 0.05
	done
	[ "${#left[@]}" -eq 0 ] && ok "every command died with the SIGKILLed harness" ||
		fail "${#left[@]} commands outlived the SIGKILLed harness: ${left[*]}"
fi

echo "e2e_exec_harness: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
