#!/usr/bin/env bash
# bench/stability.sh end to end, on scenarios of a second and a half (not
# --busy: that only adds stress-ng): the verdict and outcome counts equal the
# number of runs, a scenario that fails every run is reported "fail 2/2"
# (stable: exit 0), runs that disagree are reported UNSTABLE (exit 1), a run
# without a verdict exits 4, bad arguments exit 2, --busy without stress-ng
# exits 3; serial and --jobs 2 both keep one JSON report per run.
# Usage: stability.sh PATH/TO/dnschaos PATH/TO/source-tree
set -uo pipefail
bin=${1:?dnschaos binary}
src=${2:?source tree}
script=$src/bench/stability.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }

# run NAME WANT ARGS...: bench/stability.sh ARGS into $work/NAME.txt, expecting exit WANT.
run() {
	local name=$1 want=$2 rc=0
	shift 2
	timeout 300 bash "$script" --dnschaos "$bin" "$@" >"$work/$name.txt" 2>&1 || rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name: exit $rc"; else
		bad "$name: exit $rc, want $want"; sed 's/^/     /' "$work/$name.txt" | tail -30; fi
}
# has NAME REGEX WHAT: the output of run NAME has a line matching REGEX.
has() {
	if grep -Eq -- "$2" "$work/$1.txt"; then ok "$1: $3"; else
		bad "$1: $3: no line matching '$2' in:"; sed 's/^/     /' "$work/$1.txt" | tail -30; fi
}
count() { # want what files...
	local want=$1 what=$2
	shift 2
	if [ "$#" -eq "$want" ] && [ -f "$1" ]; then ok "$what: $# files"; else bad "$what: $# files, want $want"; fi
}

# The verdict scenarios, in a folder of their own beside a link to the zones:
# --jobs runs copies of a scenario in a temporary folder, where only paths
# inside the scenario's folder resolve.
sc=$work/sc
mkdir "$sc"
ln -s "$src/scenarios/zones" "$sc/zones"
for f in pass fail; do
	sed 's|"\.\./\.\./scenarios/zones/|"zones/|' "$src/tests/verdict/$f.lua" >"$sc/$f.lua"
	grep -q '"zones/internal' "$sc/$f.lua" || bad "$f.lua: the zone path was not rewritten"
done
cp "$src/tests/scenarios/bad/bad_zone_file.lua" "$sc/bad.lua"

# Serial: a passing and a failing scenario, two runs each: both stable, exit 0.
run serial 0 --runs 2 --out "$work/o-serial" "$sc/pass.lua" "$sc/fail.lua"
has serial "/pass\.lua: pass 2/2$" "pass 2/2"
has serial "/fail\.lua: fail 2/2$" "the failing scenario is reported fail 2/2"
has serial "^  no wrong answer +<= 0 +fail 2/2 " "its failing expectation: fail 2/2"
has serial "^  lookups succeed +>= 0\.99 +pass 2/2 +1 +1 +1$" "min / median / max beside the bound"
has serial "^  fast +<= 100 ms +pass 2/2 " "the pass scenario's latency row"
count 4 "serial: one JSON report per run" "$work"/o-serial/{pass,fail}-0[12].json
count 4 "serial: one history per run" "$work"/o-serial/{pass,fail}-0[12].jsonl
grep -q '"verdict":"fail"' "$work/o-serial/fail-02.json" && ok "serial: fail-02.json says fail" ||
	bad "serial: fail-02.json"
python3 - "$work/o-serial/summary.json" <<'PY' && ok "summary.json: verdict counts" || bad "summary.json"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["runs"] == 2
assert [x["verdicts"] for x in s["scenarios"]] == [{"pass": 2}, {"fail": 2}], s
assert all(x["stable"] for x in s["scenarios"])
PY

# --jobs 2: the runs as one suite; every expectation once, counted over both runs.
run jobs 0 --runs 2 --jobs 2 --out "$work/o-jobs" "$sc/pass.lua"
has jobs "/pass\.lua: pass 2/2$" "pass 2/2 under --jobs 2"
has jobs "^  lookups succeed +>= 0\.99 +pass 2/2 " "expectation counted over the copies"
n=$(grep -c "lookups succeed" "$work/jobs.txt")
[ "$n" -eq 1 ] && ok "jobs: one row per expectation" || bad "jobs: $n rows for one expectation"
count 2 "jobs: one JSON report per run" "$work"/o-jobs/pass-0[12].json
count 2 "jobs: one history per run" "$work"/o-jobs/pass-histories/pass-0[12].jsonl

# Runs that disagree: a dnschaos that plays fail.lua instead on its second run.
cat >"$work/flaky" <<EOF
#!/usr/bin/env bash
[ "\$1" = run ] || exec "$bin" "\$@"
n=\$(cat "$work/count" 2>/dev/null || echo 0); echo \$((n + 1)) >"$work/count"
shift
if [ "\$n" = 1 ]; then shift; set -- "$sc/fail.lua" "\$@"; fi
exec "$bin" run "\$@"
EOF
chmod +x "$work/flaky"
rc=0
timeout 300 bash "$script" --dnschaos "$work/flaky" --runs 3 --out "$work/o-flaky" "$sc/pass.lua" \
	>"$work/flaky.txt" 2>&1 || rc=$?
[ "$rc" -eq 1 ] && ok "flaky: exit 1" || { bad "flaky: exit $rc, want 1"; tail -20 "$work/flaky.txt"; }
has flaky "/pass\.lua: pass 2/3, fail 1/3 +<-- UNSTABLE$" "verdicts that differ are counted and flagged"

# A run without a verdict (bad input): exit 4, its message shown.
run badinput 4 --runs 1 --out "$work/o-bad" "$sc/bad.lua"
has badinput "bad\.lua: bad_input 1/1" "counted as bad_input"
has badinput "run 1: exit 3, no report: .*bad\.lua:[0-9]+" "the run's message, with file:line"

# Bad arguments: exit 2, a message naming what is wrong, nothing run.
run noargs 2
has noargs "no scenario given" "no scenario"
run runs0 2 --runs 0 "$sc/pass.lua"
has runs0 "--runs: '0' is not a number from 1 to 1000" "--runs 0"
run runsx 2 --runs x "$sc/pass.lua"
has runsx "--runs: 'x'" "--runs x"
run jobs0 2 --jobs 0 "$sc/pass.lua"
has jobs0 "--jobs: '0'" "--jobs 0"
run unknown 2 --frobnicate "$sc/pass.lua"
has unknown "unknown option '--frobnicate'" "unknown option"
run missing 2 "$sc/nope.lua"
has missing "nope\.lua: no such scenario file" "missing scenario"
run nonempty 2 --out "$work/o-serial" "$sc/pass.lua"
has nonempty "is not empty" "--out must be empty"
run outside 2 --jobs 2 "$src/tests/verdict/pass.lua"
has outside "refers to a path outside its folder" "--jobs refuses ../ paths"
run nobin 2 --dnschaos "$work/nope" "$sc/pass.lua"
has nobin "is not an executable file" "--dnschaos missing"

# --busy without stress-ng: exit 3 before anything runs. A PATH of the tools
# the script needs before it starts stress-ng, and not stress-ng.
mkdir "$work/bin"
for t in bash dirname basename grep mkdir ls mktemp python3 cut cat rm; do
	ln -s "$(command -v "$t")" "$work/bin/$t"
done
rc=0
to=$(command -v timeout)
PATH=$work/bin "$to" 60 "$work/bin/bash" "$script" --dnschaos "$bin" --busy --runs 1 \
	--out "$work/o-busy" "$sc/pass.lua" >"$work/busy.txt" 2>&1 || rc=$?
[ "$rc" -eq 3 ] && ok "busy without stress-ng: exit 3" || { bad "busy: exit $rc, want 3"; cat "$work/busy.txt"; }
has busy "--busy needs stress-ng" "says why"
[ -d "$work/o-busy" ] && [ -z "$(ls -A "$work/o-busy")" ] && ok "busy without stress-ng: nothing run" || bad "busy: runs were made"

run help 0 --help
has help "^Usage: bench/stability.sh" "--help"

[ "$failed" -eq 0 ] || { echo "$failed check(s) failed"; exit 1; }
echo "all stability.sh checks passed"
