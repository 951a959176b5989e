#!/usr/bin/env bash
# Hostile files (issue 12): a FIFO or /dev/zero as a zone file ends at once
# with a clear error (it hung fakeresolver --zone and s:zone); the history and
# reports are 0600 unless --umask says otherwise; a report path that cannot be
# written stops the run before it starts; one report that fails stops no other.
# Every command runs under `timeout`, so a hang is a failure, not a blocked CI.
# Usage: hostile_files.sh PATH/TO/dnschaos PATH/TO/fakeresolver PROJECT_SOURCE_DIR
set -uo pipefail
bin=${1:?dnschaos binary}
fr=${2:?fakeresolver binary}
src=${3:?project source directory}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }

# expect_code WANT NAME COMMAND...: exit code and output ($work/out); 124 = timed out.
expect_code() {
	local want=$1 name=$2
	shift 2
	timeout -k 5 60 "$@" >"$work/out" 2>&1
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name: exit $rc"; else
		bad "$name: exit $rc, want $want$([ "$rc" -eq 124 ] && echo ' (it hung)')"
		sed 's/^/     /' "$work/out" | tail -20
	fi
}
says() { # name text: the last command's output holds text
	if grep -qF -- "$2" "$work/out"; then ok "$1"; else
		bad "$1: no '$2' in:"; sed 's/^/     /' "$work/out" | tail -20; fi
}
mode() { stat -c %a "$1" 2>/dev/null || echo none; }

# ---- zone files that are not regular files ----
mkfifo "$work/fifo.zone"
expect_code 3 "fakeresolver --zone FIFO" "$fr" --listen 127.0.0.1:0 --zone "$work/fifo.zone"
says "the FIFO is named" "$work/fifo.zone: a FIFO, not a regular file"
expect_code 3 "fakeresolver --zone /dev/zero" "$fr" --listen 127.0.0.1:0 --zone /dev/zero
says "/dev/zero is named" "/dev/zero: a character device, not a regular file"

cat >"$work/fifo.lua" <<'LUA'
local s = scenario{ name = "fifo zone", duration = 1 }
local z = s:zone("fifo.zone")
LUA
expect_code 3 "s:zone of a FIFO" "$bin" run "$work/fifo.lua"
says "s:zone names the scenario line and the FIFO" "fifo.lua:2:"
says "s:zone says why" "a FIFO, not a regular file"

# ---- report paths checked before the run ----
# The scenario lives beside its zones (they are found from the scenario's directory).
run_lua="$src/tests/verdict/pass.lua"
expect_code 3 "--junit in a missing directory stops the run before it starts" \
	"$bin" run "$run_lua" --history "$work/never.jsonl" --junit "$work/no/such/dir/j.xml"
says "--junit names the path" "--junit: $work/no/such/dir/j.xml"
[ ! -e "$work/never.jsonl" ] && ok "no history written: the run never started" ||
	bad "a history was written: the run started"
ln -s "$work/victim" "$work/link.json"
expect_code 3 "--json at a symbolic link is refused before the run" \
	"$bin" run "$run_lua" --history "$work/never.jsonl" --json "$work/link.json"
says "--json says why" "symbolic link"
[ ! -e "$work/never.jsonl" ] && [ ! -e "$work/victim" ] && ok "nothing written" ||
	bad "the run started or wrote through the link"
expect_code 3 "--umask takes an octal mask" "$bin" run "$run_lua" --umask 999
says "--umask says what it wants" "--umask: '999' is not an octal mask"

# ---- every report that can be written is; modes ----
if [ -w /dev/full ]; then
	expect_code 4 "a report that fails (--junit /dev/full): exit 4" \
		"$bin" run "$run_lua" --history "$work/h.jsonl" --junit /dev/full \
		--json "$work/r.json" --report "$work/html" -q
	says "the failed report is named" "--junit: cannot write the JUnit report /dev/full"
	grep -q '"verdict":"pass"' "$work/r.json" 2>/dev/null &&
		ok "--json still written after --junit failed" || bad "--json not written"
	[ -s "$work/html/index.html" ] && ok "--report still written after --junit failed" ||
		bad "--report not written"
else
	echo "skip /dev/full is not writable here"
fi

rm -rf "$work/h.jsonl" "$work/r.json" "$work/html"
(umask 022 && exec timeout -k 5 120 "$bin" run "$run_lua" --history "$work/h.jsonl" \
	--json "$work/r.json" --junit "$work/r.xml" --report "$work/html/sub" -q) >"$work/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok "run with every report: exit 0" || bad "run with every report: exit $rc"
for f in h.jsonl r.json r.xml html/sub/index.html; do
	[ "$(mode "$work/$f")" = 600 ] && ok "$f is 0600 under umask 022" ||
		bad "$f is $(mode "$work/$f"), want 600"
done
[ "$(mode "$work/html")" = 700 ] && [ "$(mode "$work/html/sub")" = 700 ] &&
	ok "report directories are 0700" || bad "report directories $(mode "$work/html") $(mode "$work/html/sub")"

rm -rf "$work/h2.jsonl" "$work/r2.json" "$work/html2"
(umask 077 && exec timeout -k 5 120 "$bin" run "$run_lua" --history "$work/h2.jsonl" \
	--json "$work/r2.json" --report "$work/html2" --umask 022 -q) >"$work/out" 2>&1
rc=$?
[ "$rc" -eq 0 ] && ok "run with --umask 022: exit 0" || bad "run with --umask 022: exit $rc"
for f in h2.jsonl r2.json html2/index.html; do
	[ "$(mode "$work/$f")" = 644 ] && ok "$f is 0644 with --umask 022" ||
		bad "$f is $(mode "$work/$f"), want 644"
done
[ "$(mode "$work/html2")" = 755 ] && ok "report directory 0755 with --umask 022" ||
	bad "report directory $(mode "$work/html2"), want 755"
grep -q '"type":"end"' "$work/h2.jsonl" && ok "the pre-created history was written" ||
	bad "the history holds no end line"

# check writes its reports by the same rules.
expect_code 3 "check: a bad --json path is refused before reading" \
	"$bin" check "$work/h.jsonl" "$run_lua" --json "$work/no/dir/c.json"
expect_code 0 "check writes its reports" "$bin" check "$work/h.jsonl" "$run_lua" \
	--json "$work/c.json" -q
[ "$(mode "$work/c.json")" = 600 ] && ok "check's --json is 0600" || bad "c.json is $(mode "$work/c.json")"

echo "$failed failed"
[ "$failed" -eq 0 ]
