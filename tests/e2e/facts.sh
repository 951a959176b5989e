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

# A run whose ldns lookups are blocked on a silent resolver still ends on
# time (1.5 s of scenario; ldns alone would wait out 5 s x 3 tries).
start=$(date +%s%N)
timeout -k 5 60 "$bin" run "$dir/ldns_stop.lua" -q >"$work/ldns.out" 2>&1 || {
	echo "FAIL ldns_stop.lua did not complete"; cat "$work/ldns.out"; exit 1; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$ms" -lt 5000 ]; then echo "ok   a run with blocked ldns lookups ends in $ms ms"
else echo "FAIL a run with blocked ldns lookups took $ms ms to end"; exit 1; fi
