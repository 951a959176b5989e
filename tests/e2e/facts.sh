#!/usr/bin/env bash
# Runs tests/facts/*.lua (real client stacks against a half-dead VIP) and
# asserts ../shared/FACTS.md's behaviours from their histories (facts.py).
# Usage: facts.sh PATH/TO/dnschaos PATH/TO/tests/facts
set -euo pipefail
bin=${1:?dnschaos binary}
dir=${2:?facts scenario directory}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for s in half_vip unbound_nocache; do
	if ! timeout -k 5 60 "$bin" run "$dir/$s.lua" --history "$work/$s.jsonl" >"$work/$s.out" 2>&1; then
		echo "FAIL: $s.lua did not complete"; sed 's/^/  /' "$work/$s.out"
		exit 1
	fi
done
python3 "$(dirname "$0")/facts.py" "$work/half_vip.jsonl" "$work/unbound_nocache.jsonl"
