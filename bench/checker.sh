#!/usr/bin/env bash
# The checker's speed and memory on a large history: records a busy run
# (bench/checker_load.lua: c-ares at 40,000 lookups/s through a VIP, a stale
# reboot, a capacity limit, health checks; about a million lines), then times
# `dnschaos check` on it three times each way: with every kind of expectation
# but the Lua escape hatch, and with it too (a Lua function over every lookup line).
# Target (the checker issue): all expectations over 1,000,000 events in under
# 3 s and under 500 MB.
# Usage: bench/checker.sh [--keep]       (BUILD=dir, default build-bench)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD:-$root/build-bench}
keep=0
[ "${1:-}" = "--keep" ] && keep=1
if [ ! -x "$build/harness/dnschaos" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target dnschaos -j2 >/dev/null
bin=$build/harness/dnschaos
work=$(mktemp -d)
cleanup() { if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

cp "$here/checker_load.lua" "$work/full.lua"
sed -i "s|\"\\.\\./scenarios/|\"$root/scenarios/|" "$work/full.lua"
# The same scenario without the Lua escape hatch (the last expectation).
sed '/^s:expect{ "custom/,$d' "$work/full.lua" >"$work/native.lua"

echo "== recording a busy run (about 10 s)"
timeout -k 5 120 "$bin" run "$work/full.lua" --history "$work/h.jsonl" -q >/dev/null || true
lines=$(wc -l <"$work/h.jsonl")
size=$(du -m "$work/h.jsonl" | cut -f1)
echo "history: $lines lines, $size MiB"
awk -F'"type":"' 'NF > 1 { split($2, a, "\""); n[a[1]]++ } END { for (t in n) printf "  %-8s %d\n", t, n[t] }' \
	"$work/h.jsonl" | sort -k2 -nr

measure() { # name scenario
	local out
	out=$( { /usr/bin/time -f "TIME %e %M" "$bin" check "$work/h.jsonl" "$2" -q; } 2>&1 >/dev/null || true)
	local t m
	t=$(echo "$out" | awk '/^TIME/ { print $2 }')
	m=$(echo "$out" | awk '/^TIME/ { printf "%.1f", $3 / 1024 }')
	printf "%-34s %8s s %10s MiB   (%s lines: %.2f s per million)\n" "$1" "$t" "$m" "$lines" \
		"$(echo "$t $lines" | awk '{ print $1 * 1e6 / $2 }')"
}
echo "== dnschaos check, 3 times each"
for _ in 1 2 3; do
	measure "14 native expectations" "$work/native.lua"
	measure "the same + a Lua pass over lookups" "$work/full.lua"
done
echo "target: 1,000,000 events in < 3 s and < 500 MB"
