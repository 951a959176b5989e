#!/usr/bin/env bash
# The runner as a process: the same seed gives the same fault decisions and
# math.random values, another seed other ones; SIGINT heals every fault,
# records the end, closes every port and exits 2.
# Usage: runner.sh PATH/TO/dnschaos PATH/TO/tests/scenarios/runner
set -uo pipefail
bin=${1:?dnschaos binary}
dir=${2:?scenario directory}
work=$(mktemp -d)
pid=
passed=0
failed=0
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT

check() {
	if [ "$2" == "$3" ]; then passed=$((passed + 1)); else
		failed=$((failed + 1)); printf 'FAIL: %s\n  got:  %s\n  want: %s\n' "$1" "$2" "$3"; fi
}

# The decision sequence of a history: action, fault and delay of every query.
decisions() {
	python3 - "$1" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["type"] == "query":
        out.append("%s/%s/%s/%s" % (e.get("qtype"), e["action"], e.get("fault"), e.get("delay_ms")))
print(" ".join(out))
PY
}

for run in a b; do
	"$bin" run "$dir/seeded.lua" --seed 5 --history "$work/$run.jsonl" >"$work/$run.out" 2>&1
	check "seeded run $run exits 0" "$?" "0"
done
"$bin" run "$dir/seeded.lua" --seed 6 --history "$work/c.jsonl" >"$work/c.out" 2>&1
check "seeded run c exits 0" "$?" "0"
da=$(decisions "$work/a.jsonl"); db=$(decisions "$work/b.jsonl"); dc=$(decisions "$work/c.jsonl")
check "40 queries recorded" "$(wc -w <<<"$da")" "40"
check "same seed, same decisions" "$da" "$db"
check "same seed, same math.random" "$(grep math.random "$work/a.out" | cut -f2-)" "$(grep math.random "$work/b.out" | cut -f2-)"
[ "$da" != "$dc" ]; check "another seed, other decisions" "$?" "0"
[ "$(grep math.random "$work/a.out" | cut -f2-)" != "$(grep math.random "$work/c.out" | cut -f2-)" ]
check "another seed, other math.random" "$?" "0"
check "the history records the seed" "$(head -1 "$work/a.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seed"])')" "5"
# Every kind of decision occurred, so the comparison above could have failed.
for kind in answered dropped rcode; do
	grep -q "/$kind/" <<<"$da"; check "decision '$kind' occurs" "$?" "0"
done

# SIGINT: faults healed, the end recorded, ports closed, exit 2.
# --no-sandbox: dig, from here, checks the resolver's port after the run.
"$bin" run "$dir/long.lua" --no-sandbox --history "$work/int.jsonl" >"$work/int.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "faults in place" "$work/int.out" && break; sleep 0.05; done
kill -INT "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && { echo "FAIL: still running 5 s after SIGINT"; kill -KILL "$pid"; }
wait "$pid"; rc=$?; pid=
check "SIGINT exits 2 (interrupted)" "$rc" "2"
summary=$(python3 - "$work/int.jsonl" <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
inj = {e["id"] for e in ev if e["type"] == "fault" and e["action"] == "inject"}
heal = {e["id"] for e in ev if e["type"] == "fault" and e["action"] == "heal"}
addr = [e["address"] for e in ev if e["type"] == "state"][-1]
print(len(inj), inj == heal, ev[-1]["type"], ev[-1]["reason"], addr)
PY
)
read -r ninj healed last reason addr <<<"$summary"
check "two faults injected" "$ninj" "2"
check "every injected fault healed" "$healed" "True"
check "last line is the end" "$last" "end"
check "end reason" "$reason" "interrupted"
port=${addr##*:}; ip=${addr%:*}
res=$(dig +time=1 +tries=1 @"$ip" -p "$port" web.internal A 2>&1 | grep -c 'connection refused\|no servers could be reached\|communications error')
check "the resolver's port is closed after the run" "$([ "$res" -ge 1 ] && echo closed)" "closed"

echo "e2e_runner: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
