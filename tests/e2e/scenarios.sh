#!/usr/bin/env bash
# Runs the scenario tests: every tests/scenarios/*.lua must complete (exit 0;
# their asserts prove each fault with real queries), and every
# tests/scenarios/bad/*.lua must be refused as bad input (exit 3) with the
# message its first line expects ("-- expect: REGEX"). A second line
# "-- args: ARGS" adds ARGS to its run (--no-sandbox for what only the host
# refuses).
# Usage: scenarios.sh PATH/TO/dnschaos PATH/TO/tests/scenarios
set -uo pipefail
bin=${1:?dnschaos binary}
dir=${2:?scenario test directory}
passed=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for f in "$dir"/*.lua; do
	timeout -k 5 120 "$bin" run "$f" --history "$work/h.jsonl" >"$work/out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $f exited $rc"; sed 's/^/  /' "$work/out"
	fi
done

for f in "$dir"/bad/*.lua; do
	want=$(head -1 "$f" | sed -n 's/^-- expect: //p')
	read -ra args <<<"$(sed -n '2s/^-- args: //p' "$f")"
	timeout -k 5 60 "$bin" run "$f" "${args[@]}" >"$work/out" 2>&1
	rc=$?
	if [ "$rc" -eq 3 ] && [ -n "$want" ] && grep -Eq -- "$want" "$work/out"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $f exited $rc (want 3), expected /$want/ in:"; sed 's/^/  /' "$work/out"
	fi
done

echo "e2e_scenarios: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
