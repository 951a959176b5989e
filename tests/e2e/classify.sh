#!/usr/bin/env bash
# Answer classes end to end (docs/history.md, "Classification"), with real
# runs of tests/classify/*.lua:
#  1. a resolver booted from a stale disk copy fails "no stale answer"; the
#     history's classes are re-derived by `dnschaos check`, which refuses
#     (exit 3, naming the line) a history whose "stale" was rewritten to
#     "fresh", a version line removed, or a zone file that changed or is gone;
#  2. a disk copy with the published serial, or a higher one, and old data
#     gives stale answers: "no stale answer" fails (exit 1);
#  3. family "both" through a per-query VIP, the A from the published
#     version and the AAAA from a stale copy: the lookup is stale and its
#     stale_records name the AAAA alone;
#  4. the stale-zone demo (scenarios/stale_zone_reboot.lua) still passes, and
#     `dnschaos check` re-derives its verdict.
# Usage: classify.sh PATH/TO/dnschaos PATH/TO/tests/classify PATH/TO/scenarios
set -uo pipefail
bin=${1:?dnschaos binary}
dir=${2:?tests/classify directory}
demo=${3:?scenarios directory}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
failed=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
indent() { sed 's/^/     /' | tail -20; }

# want NAME COMMAND...: the exit status is want (output in $work/out).
expect_code() {
	local want=$1 name=$2
	shift 2
	"$@" >"$work/out" 2>&1
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name: exit $rc"; else
		bad "$name: exit $rc, want $want"; indent <"$work/out"; fi
}

# A self-contained copy of stale_disk.lua (its zones beside it), so that its
# zone files can be edited and removed.
mkdir -p "$work/s/zones"
cp "$demo/zones/internal.v1.zone" "$demo/zones/internal.v2.zone" "$work/s/zones/"
sed 's|\.\./\.\./scenarios/zones/|zones/|' "$dir/stale_disk.lua" >"$work/s/stale.lua"

# The runs, side by side (they mostly wait on timers).
run_bg() { # name scenario
	timeout -k 5 120 "$bin" run "$2" --history "$work/$1.jsonl" >"$work/$1.out" 2>&1 &
	pids+=($!)
	names+=("$1")
}
names=()
run_bg stale "$work/s/stale.lua"
run_bg same "$dir/same_serial.lua"
run_bg higher "$dir/higher_serial.lua"
run_bg mixed "$dir/mixed_family.lua"
run_bg demo "$demo/stale_zone_reboot.lua"
declare -A rc
for k in "${!pids[@]}"; do
	wait "${pids[$k]}"
	rc[${names[$k]}]=$?
done
pids=()
want_run() { # name code what
	if [ "${rc[$1]}" -eq "$2" ]; then ok "$3: exit ${rc[$1]}"; else
		bad "$3: exit ${rc[$1]}, want $2"; indent <"$work/$1.out"; fi
}

# 1. Stale disk copy: FAIL, and check refuses what the versions do not say.
want_run stale 1 "a stale disk copy fails 'no stale answer'"
grep -q '"class":"stale"' "$work/stale.jsonl" || bad "no stale answer recorded"
expect_code 1 "check re-derives the FAIL" "$bin" check "$work/stale.jsonl" "$work/s/stale.lua"

sed 's/"class":"stale"/"class":"fresh"/' "$work/stale.jsonl" >"$work/tampered.jsonl"
expect_code 3 "check refuses stale rewritten to fresh" \
	"$bin" check "$work/tampered.jsonl" "$work/s/stale.lua"
line=$(sed -nE 's/.*tampered\.jsonl:([0-9]+): lookup [0-9]+ of app: recorded class fresh, the recorded zone versions give stale.*/\1/p' "$work/out")
if [ -n "$line" ] && sed -n "${line}p" "$work/tampered.jsonl" | grep -q '"class":"fresh"'; then
	ok "the refusal names line $line, the first rewritten lookup"
else
	bad "the refusal does not name a rewritten lookup line:"; indent <"$work/out"
fi

grep -v '"type":"version".*"serial":2026110301' "$work/stale.jsonl" >"$work/noversion.jsonl"
expect_code 3 "check refuses a boot whose version line was removed" \
	"$bin" check "$work/noversion.jsonl" "$work/s/stale.lua"
grep -q "names no version line" "$work/out" || { bad "message:"; indent <"$work/out"; }

vline=$(grep -n '"type":"version".*"serial":2026110301' "$work/stale.jsonl" | cut -d: -f1)
sed -i 's/10\.20\.0\.15/10.20.0.16/' "$work/s/zones/internal.v1.zone"
expect_code 3 "check refuses a zone file that no longer holds the recorded version" \
	"$bin" check "$work/stale.jsonl" "$work/s/stale.lua"
grep -q "stale.jsonl:$vline: .*zones/internal.v1.zone no longer holds" "$work/out" &&
	ok "the refusal names the version line ($vline) and the file" ||
	{ bad "message does not name line $vline and the file:"; indent <"$work/out"; }
cp "$demo/zones/internal.v1.zone" "$work/s/zones/"
expect_code 1 "the file restored, check judges again" \
	"$bin" check "$work/stale.jsonl" "$work/s/stale.lua"
# A missing file: the scenario itself cannot load it either, so the history
# is checked against a scenario that no longer names it.
sed -e '/^local on_disk/d' -e 's/zone = on_disk/zone = published/' "$work/s/stale.lua" \
	>"$work/s/nodisk.lua"
mv "$work/s/zones/internal.v1.zone" "$work/s/zones/gone"
expect_code 3 "check refuses a version whose file is gone" \
	"$bin" check "$work/stale.jsonl" "$work/s/nodisk.lua"
grep -q "stale.jsonl:$vline: cannot load the recorded zone version" "$work/out" ||
	{ bad "message does not name line $vline:"; indent <"$work/out"; }

# 2. A copy with the published serial, or a higher one: stale all the same.
want_run same 1 "a same-serial stale copy fails 'no stale answer'"
want_run higher 1 "a higher-serial stale copy fails 'no stale answer'"
for n in same higher; do
	grep -q '"class":"wrong"' "$work/$n.jsonl" && bad "$n: answers classified wrong"
done

# 3. A mixed answer: stale, the AAAA named.
want_run mixed 1 "a mixed A/AAAA answer fails 'no stale answer'"
python3 - "$work/mixed.jsonl" <<'PY' && ok "mixed answers are stale, the AAAA alone named" || bad "mixed answers"
import json, sys
mixed = 0
for l in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(l)
    if e["type"] != "lookup" or e["event"] != "ok":
        continue
    if sorted(e["answers"]) == ["10.20.0.42", "fd00:20::15"]:
        mixed += 1
        if e.get("class") != "stale" or e.get("stale_records") != ["fd00:20::15"]:
            sys.exit("lookup %d: class %s, stale_records %s" % (e["id"], e.get("class"), e.get("stale_records")))
    if e.get("class") == "wrong":
        sys.exit("lookup %d is wrong: %s" % (e["id"], l))
if mixed == 0:
    sys.exit("no lookup got the A from r1 and the AAAA from r2")
print("%d mixed answers" % mixed)
PY

# 4. The stale-zone demo still passes, and check agrees.
want_run demo 0 "scenarios/stale_zone_reboot.lua passes"
expect_code 0 "check re-derives the demo's PASS" \
	"$bin" check "$work/demo.jsonl" "$demo/stale_zone_reboot.lua"

echo "classify: $failed failed"
[ "$failed" -eq 0 ]
