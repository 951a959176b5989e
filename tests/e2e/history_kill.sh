#!/usr/bin/env bash
# A killed run leaves whole lines (docs/history.md, "Killed runs"): a busy run
# (kill_load.lua, about 4000 lines a second) is SIGKILLed at 10 random
# moments, 0.2 to 1.5 s after it created its history (not after the fork:
# an ASan build on a busy 2-core machine can take longer than that to load
# the scenario; see opened in lib.sh), and each history left behind must end in "\n"
# (no cut line) and be a valid prefix of a history: every line valid, t never
# decreasing, lookups and faults consistent, and no line under 4 KiB across a
# 4 KiB boundary (check_history.py --allow-cut --aligned; at this load a kill
# seldom lands inside a write(2), so the alignment that makes such a kill
# harmless is checked directly). Then SIGINT and SIGTERM must leave the whole
# history, ending with an "interrupted" end line. Skipped (77) without
# python3-jsonschema. HISTORY_KILLS=n changes the number of kills,
# HISTORY_KILL_SEED=n replays the delays of an earlier run.
# Usage: history_kill.sh PATH/TO/dnschaos
set -uo pipefail
bin=${1:?dnschaos binary}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib.sh
. "$here/lib.sh"
check=$here/check_history.py
kills=${HISTORY_KILLS:-10}
if ! python3 -c 'import jsonschema' 2>/dev/null; then
	echo "history_kill: SKIP: the Python module jsonschema is missing (python3-jsonschema)"
	exit 77
fi
work=$(mktemp -d)
pid=
checkers=()
checked=()
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	for c in "${checkers[@]}"; do kill "$c" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

most=0   # lines in the longest history: the load must have run
latest=0 # the latest kill, in ms
# The delays, random but printed: 0.200 to 1.500 s.
seed=${HISTORY_KILL_SEED:-$$}
RANDOM=$seed
echo "history_kill: $kills kills, seed $seed (HISTORY_KILL_SEED=$seed reproduces the delays)"
start=$SECONDS
for i in $(seq "$kills"); do
	ms=$((200 + RANDOM % 1301))
	# The load check (1000 lines) needs one run that lasted: with few kills
	# (HISTORY_KILLS=1..3) all may come early, so if none came at 1 s or
	# later, the last one does (1.000 to 1.500 s).
	[ "$i" -eq "$kills" ] && [ "$latest" -lt 1000 ] && ms=$((1000 + ms % 501))
	[ "$ms" -gt "$latest" ] && latest=$ms
	delay=$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))
	h=$work/kill$i.jsonl
	# Run from the scenario's directory: its zone paths are relative to it.
	(cd "$here" && exec "$bin" run kill_load.lua --history "$h") >"$work/kill$i.out" 2>&1 &
	pid=$!
	if ! opened "$h" "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid"; rc=$?; pid=
		fail "kill $i: the run did not create its history in 60 s (exit $rc):"
		sed 's/^/  /' "$work/kill$i.out" | tail -20
		continue
	fi
	sleep "$delay"
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"; rc=$?; pid=
		fail "kill $i: the run ended by itself (exit $rc) before ${delay} s:"
		sed 's/^/  /' "$work/kill$i.out" | tail -20
		continue
	fi
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null; rc=$?; pid=
	if [ "$rc" -ne 137 ]; then
		fail "kill $i: exit status $rc, not 137 (SIGKILL)"
		continue
	fi
	# Whole lines: the file ends in "\n" (or is empty, killed before any flush).
	if [ -s "$h" ] && [ "$(tail -c 1 "$h" | od -An -c | tr -d ' ')" != '\n' ]; then
		fail "kill $i at ${delay} s: the history ends in a cut line: $(tail -c 120 "$h" | tr '\n' '|')"
	fi
	lines=$(wc -l <"$h")
	pads=$(grep -c '} \+$' "$h")
	echo "kill $i at ${delay} s: $lines lines, $(wc -c <"$h") bytes, $pads padded"
	[ "$lines" -gt "$most" ] && most=$lines
	# Checked while the next run goes.
	python3 "$check" --allow-cut --aligned "$h" >"$work/check$i.out" 2>&1 &
	checkers+=($!)
	checked+=("$i at ${delay} s")
done

for k in "${!checkers[@]}"; do
	if wait "${checkers[$k]}"; then
		passed=$((passed + 1))
	else
		fail "kill ${checked[$k]}: the history is not a valid prefix:"
		sed 's/^/  /' "$work/check${checked[$k]%% *}.out"
	fi
done
checkers=()

if [ "$most" -lt 1000 ]; then
	fail "the longest history holds $most lines: the load (kill_load.lua) did not run"
fi

# SIGINT and SIGTERM, by contrast, leave everything, ending with the end line.
# Sent once the run has its handlers (see started in lib.sh).
for sig in INT TERM; do
	h=$work/$sig.jsonl
	(cd "$here" && exec "$bin" run kill_load.lua --history "$h") >"$work/$sig.out" 2>&1 &
	pid=$!
	started "$h" "$pid" || fail "SIG$sig: the run did not start its history in 10 s"
	kill -"$sig" "$pid"
	wait "$pid"; rc=$?; pid=
	if [ "$rc" -eq 2 ] && tail -1 "$h" | grep -q '"type":"end","reason":"interrupted"' &&
		python3 "$check" --aligned "$h"; then
		passed=$((passed + 1))
	else
		fail "SIG$sig: exit $rc (want 2), and a whole history ending with an interrupted end line"
		tail -c 300 "$h"; echo
	fi
done

echo "history_kill: $passed passed, $failed failed, $((SECONDS - start)) s"
[ "$failed" -eq 0 ] && [ "$passed" -eq $((kills + 2)) ]
