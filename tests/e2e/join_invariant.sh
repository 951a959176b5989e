#!/usr/bin/env bash
# Runs tests/join/invariant.lua (every stack behind a VIP with a hung
# backend, and behind a capacity queue) and checks the join's invariants
# from its history and JSON summary (join_invariant.py).
# Usage: join_invariant.sh PATH/TO/dnschaos PATH/TO/tests/join
set -euo pipefail
bin=${1:?dnschaos binary}
dir=${2:?join scenario directory}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! timeout -k 5 60 "$bin" run "$dir/invariant.lua" --history "$work/h.jsonl" \
	--json "$work/s.json" -q >"$work/out" 2>&1; then
	echo "FAIL: invariant.lua did not complete"; sed 's/^/  /' "$work/out"
	exit 1
fi
python3 "$(dirname "$0")/join_invariant.py" "$work/h.jsonl" "$work/s.json"
