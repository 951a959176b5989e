#!/usr/bin/env bash
# The main job: installs what is missing, builds, then plays the incident
# twice: scenarios/outage_replay.lua (the outage as it happened: its
# expectations assert the symptoms) and scenarios/gating_fix.lua (the same
# faults with the fix in place: every expectation of a healthy service).
# Each with its farm events on stderr, its verdict, and the fleet's answers
# counted by class; the histories in out/outage_replay.jsonl and
# out/gating_fix.jsonl, the timelines in out/outage_replay/ and
# out/gating_fix/. Exit status 0 only when both PASS: the incident
# reproduced, and the fix proven against it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/install.sh
bash ci/build.sh plain
mkdir -p out

# Every answer the services got, as the history classifies it.
classes() {
	python3 - "$1" <<'PY'
import collections, json, sys
count = collections.defaultdict(collections.Counter)
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e["type"] == "lookup" and e["event"] != "invoke":
        count[e["client"]][e.get("class") or e["event"]] += 1
for client, c in sorted(count.items()):
    print(f"{client:16} " + ", ".join(f"{n} {k}" for k, n in c.most_common()))
PY
}

# Plays one scenario; its exit status (0 PASS, 1 FAIL, 2 INCONCLUSIVE, 3 bad input).
play() {
	local name=$1 rc=0
	echo "==== $2"
	build/harness/dnschaos run "scenarios/$name.lua" -v \
		--history "out/$name.jsonl" --report "out/$name" || rc=$?
	classes "out/$name.jsonl"
	echo "history: out/$name.jsonl ($(wc -l <"out/$name.jsonl") events)"
	echo "report:  out/$name/index.html"
	return "$rc"
}

outage=0
fix=0
play outage_replay "the incident as it happened (its expectations: the symptoms reproduced)" ||
	outage=$?
play gating_fix "the same faults with the fix (its expectations: a healthy service)" || fix=$?

echo "===="
verdict() { case $1 in 0) echo PASS ;; 1) echo FAIL ;; 2) echo INCONCLUSIVE ;; *) echo "error ($1)" ;; esac; }
echo "outage_replay: $(verdict "$outage") (PASS: the incident is reproduced)"
echo "gating_fix:    $(verdict "$fix") (PASS: the fix holds against it)"
[ "$outage" -eq 0 ] && [ "$fix" -eq 0 ]
