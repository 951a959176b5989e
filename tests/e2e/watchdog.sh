#!/usr/bin/env bash
# The watchdog (harness/run/watchdog.c): scenario code the Lua hook cannot stop (a
# __gc finalizer that loops, at setup, in a timeline function, in a check
# function, at close, in `run` and in `check`; the pattern bomb of
# docs/scenario-api.md) must still end the run, with exit 3,
# the reason on stderr and, once the history exists, in a valid history's end
# line; and SIGINT/SIGTERM sent to a run stuck that way must end it within
# about a second (exit 2, end reason "interrupted"). Bounds are generous (a
# loaded 2-core machine, an ASan build): a broken watchdog never ends at all,
# which the outer timeout turns into a failure.
# Usage: watchdog.sh PATH/TO/dnschaos PATH/TO/tests/scenarios/watchdog
set -uo pipefail
bin=${1:?dnschaos binary}
dir=${2:?watchdog scenario directory}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
	failed=$((failed + 1))
	echo "FAIL: $*"
	sed 's/^/  /' "$work/out" 2>/dev/null
}
now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }
# valid HISTORY: check_history.py when it can run (jsonschema), else the end line at least.
valid() {
	if python3 -c 'import jsonschema' 2>/dev/null; then
		python3 "$here/check_history.py" "$1" >"$work/check" 2>&1 || { cat "$work/check"; return 1; }
	fi
	tail -1 "$1" | grep -q '"type":"end"'
}
want_overrun='ran [0-9.]+ s past its [0-9.]+ s limit and never returned to the deadline hook'

# run NAME LIMIT_S: a stuck run that must end by itself with exit 3 within LIMIT_S.
run() {
	local name=$1 limit=$2 t rc
	rm -f "$work/$name.jsonl"
	t=$(now)
	timeout -k 5 120 "$bin" run "$dir/$name.lua" --history "$work/$name.jsonl" >"$work/out" 2>&1
	rc=$?
	t=$(elapsed "$t")
	if [ "$rc" -ne 3 ]; then
		bad "$name: exit $rc (want 3) after $t s"
	elif [ "$(echo "$t > $limit" | bc)" -eq 1 ]; then
		bad "$name: ended after $t s (want < $limit s)"
	elif ! grep -Eq "$want_overrun" "$work/out"; then
		bad "$name: the reason is not on stderr"
	else
		ok
		echo "$name: exit 3 after $t s"
		return 0
	fi
	return 1
}

# Setup (10 s limit + 2 s margin): no history exists yet, as for any setup error.
if run gc_loop_setup 40; then
	if [ -e "$work/gc_loop_setup.jsonl" ]; then bad "gc_loop_setup: a history was created"; else ok; fi
fi
# During the run (5 s limit + 2 s margin): the end line says why.
for name in gc_loop_run pattern_bomb; do
	if run "$name" 30; then
		if valid "$work/$name.jsonl" &&
			tail -1 "$work/$name.jsonl" | grep -q '"reason":"error"' &&
			tail -1 "$work/$name.jsonl" | grep -Eq "$want_overrun"; then
			ok
		else
			bad "$name: the history is not valid or does not end with the overrun"
			sed 's/^/  /' "$work/$name.jsonl"
		fi
	fi
done
# At close (5 s limit + 2 s margin): the history was complete before lua_close.
if run gc_loop_close 30; then
	if valid "$work/gc_loop_close.jsonl" &&
		tail -1 "$work/gc_loop_close.jsonl" | grep -q '"reason":"duration"' &&
		grep -q 'closing the scenario (its __gc finalizers)' "$work/out"; then
		ok
	else
		bad "gc_loop_close: the history is not complete, or stderr does not name the close"
	fi
fi

# Judging (check functions get 6 x 5 s + 2 s): the history was complete
# before; no report is written. Then `dnschaos check` judges the same history
# again under the same watchdog, and loads a scenario stuck at setup under it.
if run gc_loop_check 90; then
	if valid "$work/gc_loop_check.jsonl" &&
		tail -1 "$work/gc_loop_check.jsonl" | grep -q '"reason":"duration"'; then
		ok
	else
		bad "gc_loop_check: the history is not complete"
	fi
	for sc in gc_loop_check gc_loop_setup; do
		t=$(now)
		timeout -k 5 120 "$bin" check "$work/gc_loop_check.jsonl" "$dir/$sc.lua" >"$work/out" 2>&1
		rc=$?
		t=$(elapsed "$t")
		if [ "$rc" -eq 3 ] && grep -Eq "$want_overrun" "$work/out" &&
			[ "$(echo "$t < 90" | bc)" -eq 1 ]; then
			ok
			echo "check $sc: exit 3 after $t s"
		else
			bad "check $sc: exit $rc (want 3) after $t s"
		fi
	done
fi

# A signal to a run stuck in a finalizer: ended within about a second.
for sig in TERM INT; do
	h=$work/signal-$sig.jsonl
	rm -f "$h"
	"$bin" run "$dir/gc_loop_signal.lua" --history "$h" >"$work/out" 2>&1 &
	pid=$!
	# Stuck: the timeline function (so the loop runs and the signals are
	# caught) printed, stdout flushed at once, and then fed the collector; the
	# hook's deadline is 5 s away, the watchdog's 7 s. 60 s for an ASan build
	# on a busy machine to load.
	for _ in $(seq 1200); do
		grep -q 'stuck from now on' "$work/out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q 'stuck from now on' "$work/out"; then
		bad "SIG$sig: the run did not get to its finalizer"
		continue
	fi
	sleep 1
	t=$(now)
	kill -"$sig" "$pid"
	for _ in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	t=$(elapsed "$t")
	if kill -0 "$pid" 2>/dev/null; then
		bad "SIG$sig: still running $t s after the signal"
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		pid=
		continue
	fi
	wait "$pid"
	rc=$?
	pid=
	if [ "$rc" -ne 2 ]; then
		bad "SIG$sig: exit $rc (want 2)"
	elif [ "$(echo "$t > 3" | bc)" -eq 1 ]; then
		bad "SIG$sig: ended $t s after the signal (want < 3 s)"
	elif ! valid "$h" || ! tail -1 "$h" | grep -q "\"reason\":\"interrupted\",\"error\":\"interrupted by SIG$sig"; then
		bad "SIG$sig: the history is not valid or does not end with the interruption"
		sed 's/^/  /' "$h"
	else
		ok
		echo "SIG$sig: exit 2, $t s after the signal"
	fi
done

# The control: a run that is not stuck is interrupted by the loop as before
# (faults healed, its own end line, the report written), not by the watchdog.
h=$work/normal.jsonl
"$bin" run "$dir/../runner/long.lua" --history "$h" --json "$work/normal.json" >"$work/out" 2>&1 &
pid=$!
if started "$h" "$pid"; then
	sleep 0.5
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	pid=
	if [ "$rc" -eq 2 ] && [ -s "$work/normal.json" ] && valid "$h" &&
		tail -1 "$h" | grep -q '"reason":"interrupted","error":"interrupted by SIGTERM","lines"'; then
		ok
	else
		bad "a normal run interrupted: exit $rc (want 2), report or end line missing"
		tail -2 "$h" | sed 's/^/  /'
	fi
else
	bad "the normal run did not start"
fi

echo "e2e_watchdog: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
