#!/usr/bin/env bash
# The verdict and its exit codes, end to end: pass 0, fail 1, inconclusive 2
# (an untouched fault, an empty window, an interrupted run), bad input 3;
# `dnschaos check` re-derives the same verdict from the history; the same
# seed gives the same verdict; reports are written.
# Usage: verdict.sh PATH/TO/dnschaos PATH/TO/tests/verdict
set -uo pipefail
bin=${1:?dnschaos binary}
dir=${2:?verdict scenario directory}
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }

expect_code() { # want name command...
	local want=$1 name=$2
	shift 2
	"$@" >"$work/out" 2>&1
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name: exit $rc"; else
		bad "$name: exit $rc, want $want"; sed 's/^/     /' "$work/out" | tail -20; fi
}

expect_code 0 "pass.lua passes" "$bin" run "$dir/pass.lua" --history "$work/pass.jsonl" \
	--json "$work/pass.json" --junit "$work/pass.xml"
grep -q '"verdict":"pass"' "$work/pass.json" && ok "JSON says pass" || bad "JSON verdict"
grep -q '<testsuite ' "$work/pass.xml" && ok "JUnit written" || bad "JUnit missing"
expect_code 0 "check re-derives pass" "$bin" check "$work/pass.jsonl" "$dir/pass.lua"

expect_code 1 "fail.lua fails" "$bin" run "$dir/fail.lua" --history "$work/fail.jsonl"
grep -q "FAIL" "$work/out" && grep -q "wrong answer" "$work/out" &&
	ok "the failure names its first moments" || bad "no moments in: $(cat "$work/out")"
expect_code 1 "check re-derives fail" "$bin" check "$work/fail.jsonl" "$dir/fail.lua"

expect_code 2 "an untouched fault is inconclusive" "$bin" run "$dir/untouched.lua"
grep -q "never touched" "$work/out" && ok "says which fault" || bad "untouched not named"
expect_code 2 "an empty window is inconclusive" "$bin" run "$dir/empty_window.lua"
grep -q "no lookup completed" "$work/out" && ok "says why" || bad "empty window not explained"

# Interrupted: SIGINT once the run has its handlers (see started in lib.sh;
# a fixed sleep is not enough on a loaded machine).
"$bin" run "$dir/long.lua" --history "$work/long.jsonl" >"$work/out" 2>&1 &
pid=$!
started "$work/long.jsonl" "$pid" || bad "the run to interrupt did not start its history in 10 s"
kill -INT "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 2 ] && ok "an interrupted run is inconclusive (exit 2)" || bad "interrupted: exit $rc"
expect_code 2 "check of the interrupted history: inconclusive" "$bin" check "$work/long.jsonl" \
	"$dir/long.lua"

# Bad input: a history of another scenario, a broken history, a missing one.
expect_code 3 "check with another scenario's history" "$bin" check "$work/pass.jsonl" \
	"$dir/fail.lua"
grep -q "is a run of scenario .verdict pass." "$work/out" && ok "names both" || bad "message: $(cat "$work/out")"
head -5 "$work/pass.jsonl" >"$work/broken.jsonl"
echo '{"t":9,"type":"lookup",' >>"$work/broken.jsonl"
echo '{"t":9.1,"type":"end","reason":"duration","lines":7}' >>"$work/broken.jsonl"
expect_code 3 "check of a broken history" "$bin" check "$work/broken.jsonl" "$dir/pass.lua"
grep -q "broken.jsonl:6:" "$work/out" && ok "names the file and line" || bad "no file:line"
expect_code 3 "check of a missing history" "$bin" check "$work/nope.jsonl" "$dir/pass.lua"
expect_code 3 "--history - with expectations" "$bin" run "$dir/pass.lua" --history -

# The same seed gives the same verdict, expectation by expectation.
# Each run must fail (exit 1) and write its JSON; two empty files are not the same verdict.
for i in 1 2; do
	"$bin" run "$dir/fail.lua" --json "$work/seed$i.json" -q >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || bad "same seed, run $i: exit $rc, want 1"
	[ -s "$work/seed$i.json" ] || bad "same seed, run $i: no JSON written"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["verdict"], d["seed"], [e["outcome"] for e in d["expectations"]])' \
		"$work/seed$i.json" >"$work/seed$i.txt"
done
[ -s "$work/seed1.txt" ] && [ -s "$work/seed2.txt" ] &&
	cmp -s "$work/seed1.txt" "$work/seed2.txt" && ok "same seed, same verdict: $(cat "$work/seed1.txt")" ||
	bad "verdicts differ: $(cat "$work/seed1.txt") vs $(cat "$work/seed2.txt")"

[ "$failed" -eq 0 ] && echo "verdict.sh: all passed" || echo "verdict.sh: $failed failed"
[ "$failed" -eq 0 ]
