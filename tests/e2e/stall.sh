#!/usr/bin/env bash
# stall.sh DNSCHAOS REPO - a stall of the harness itself is recorded, and a
# failure measured across it is inconclusive, not failed (docs/history.md,
# "stall"; docs/checks.md, "Results and the verdict").
#
# tests/scenarios/stall/frozen.lua runs twice. Left alone it passes. Then the
# whole process is frozen with SIGSTOP for 1.5 s mid-run (what a machine
# that does not schedule it, or a paused VM, does): the history must hold a
# stall line of about 1.5 s, the latency bound (which the lookups in flight
# break) must be inconclusive with the stall as its reason, the run exit 2,
# and `dnschaos check` of the same history must say the same.
set -euo pipefail
bin=$1
repo=$2
# shellcheck source=tests/e2e/lib.sh
. "$repo/tests/e2e/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scen=$repo/tests/scenarios/stall/frozen.lua
fails=0
check() { # check COND-EXIT-STATUS WHAT
	if [ "$1" -eq 0 ]; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi
}

rc=0
"$bin" run "$scen" -q --history "$work/calm.jsonl" --json "$work/calm.json" || rc=$?
check "$([ "$rc" -eq 0 ] && echo 0 || echo 1)" "left alone: PASS (exit $rc)"

rc=0
# --no-sandbox: SIGSTOP must stop the harness itself; in the sandbox $pid is
# the process outside, which cannot pass SIGSTOP on (docs/sandbox.md).
"$bin" run "$scen" --no-sandbox -q --history "$work/frozen.jsonl" --json "$work/frozen.json" &
pid=$!
opened "$work/frozen.jsonl" "$pid"
sleep 1.5
kill -STOP "$pid"
sleep 1.5
kill -CONT "$pid"
wait "$pid" || rc=$?
check "$([ "$rc" -eq 2 ] && echo 0 || echo 1)" "frozen 1.5 s mid-run: INCONCLUSIVE (exit $rc)"
python3 - "$work/frozen.jsonl" "$work/frozen.json" <<'PY' || fails=$((fails + 1))
import json, sys
stalls = [json.loads(l) for l in open(sys.argv[1]) if '"type":"stall"' in l]
big = [s for s in stalls if s["held_ms"] >= 1300]
ok = len(big) >= 1 and all(s["held_ms"] < 5000 for s in big)
print(("ok   " if ok else "FAIL ") + f"the history holds the stall: {[(s['from'], s['held_ms']) for s in stalls]}")
e = json.load(open(sys.argv[2]))["expectations"][0]
ok2 = e["outcome"] == "inconclusive" and "the harness itself stalled" in e["why"] and \
    f"(history line " in e["why"]
print(("ok   " if ok2 else "FAIL ") + f"the latency bound is inconclusive, the stall its reason: {e['why']}")
sys.exit(0 if ok and ok2 else 1)
PY
rc=0
"$bin" check "$work/frozen.jsonl" "$scen" -q || rc=$?
check "$([ "$rc" -eq 2 ] && echo 0 || echo 1)" "dnschaos check of the frozen run: exit 2 as well ($rc)"
[ "$fails" -eq 0 ] && echo "stall.sh: all passed" || { echo "stall.sh: $fails failed"; exit 1; }
