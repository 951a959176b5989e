#!/usr/bin/env bash
# Every refused scenario (tests/scenarios/bad/*.lua) again under valgrind:
# refused as bad input (exit 3) with the message its first line expects, and
# nothing definitely or indirectly lost, whether the error is raised while
# the file is set up or from the timeline. (The ASan build runs the same
# files through scenarios.sh with the leak checker on.) The endless_*
# scenarios are left out: the deadline that stops them is 5 s of a loop that
# valgrind slows tenfold, and they take no references.
# Usage: bad_valgrind.sh PATH/TO/dnschaos PATH/TO/tests/scenarios/bad
set -uo pipefail
bin=${1:?dnschaos binary}
dir=${2:?bad scenario directory}
command -v valgrind >/dev/null || { echo "bad_valgrind: no valgrind, skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

one() {
	local f=$1 work=$2 bin=$3
	local name want rc
	name=$(basename "$f" .lua)
	want=$(head -1 "$f" | sed -n 's/^-- expect: //p')
	read -ra args <<<"$(sed -n '2s/^-- args: //p' "$f")" # as scenarios.sh
	timeout -k 5 180 valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=99 "$bin" run "$f" "${args[@]}" >"$work/$name.out" 2>&1
	rc=$?
	if [ "$rc" -eq 3 ] && [ -n "$want" ] && grep -Eq -- "$want" "$work/$name.out"; then
		echo "ok $name"
	else
		echo "FAIL: $f exited $rc (want 3, no leak), expected /$want/ in:"
		sed 's/^/  /' "$work/$name.out" | head -60
	fi
}
export -f one
ls "$dir"/*.lua | grep -v '/endless_' |
	xargs -P 2 -I{} bash -c 'one "$@"' _ {} "$work" "$bin" >"$work/results"
passed=$(grep -c '^ok ' "$work/results")
failed=$(grep -c '^FAIL: ' "$work/results")
grep -v '^ok ' "$work/results"
echo "e2e_bad_valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
