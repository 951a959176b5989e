#!/usr/bin/env bash
# The history format against its documentation: every tests/scenarios/*.lua
# is run with --history, and each history must pass check_history.py (every
# line against docs/history.schema.json, plus the promises across lines:
# meta first, t never decreasing, the end line's count, faults and lookups
# consistent). First, the checker itself must reject broken histories made
# from a real one, so that a pass means something. Skipped (77) without
# python3-jsonschema.
# Usage: history_schema.sh PATH/TO/dnschaos PATH/TO/tests/scenarios
set -uo pipefail
bin=${1:?dnschaos binary}
dir=${2:?scenario test directory}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check=$here/check_history.py
if ! python3 -c 'import jsonschema' 2>/dev/null; then
	echo "history_schema: SKIP: the Python module jsonschema is missing (python3-jsonschema)"
	exit 77
fi
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done  # timeout passes TERM on
	rm -rf "$work"
}
trap cleanup EXIT
indent() { sed 's/^/  /'; }
passed=0
failed=0
start=$SECONDS

# The scenarios run side by side (they mostly wait on timers); the scenario's
# own verdict is e2e_scenarios' business, its history is this test's.
names=()
for f in "$dir"/*.lua; do
	n=$(basename "$f" .lua)
	names+=("$n")
	timeout -k 5 120 "$bin" run "$f" --history "$work/$n.jsonl" >"$work/$n.out" 2>&1 &
	pids+=($!)
done

# Meanwhile: the checker must catch what is wrong. Each case is a history
# made from a small real one, the message expected, and the checker's
# options; "ok" cases must pass. A generator that fails is a failure, and
# every case listed must have run (none listed is a failure too).
python3 - "$work/cases" <<'PY' || { rc=$?; failed=$((failed + 1)); echo "FAIL: the checker's cases could not be made (exit $rc)"; }
import json, os, sys
out = sys.argv[1]
os.makedirs(out)
good = [
    '{"t":0.000000,"type":"meta","schema":1,"dnschaos":"0.1.0","scenario":"x.lua","name":"x","seed":7,"duration":2.000,"ldns":"1.8.3","libevent":"2.1.12-stable","lua":"Lua 5.4.4","c-ares":"1.18.1","libunbound":"1.17.1","glibc":"2.36","started_unix":"1795000000"}',
    '{"t":0.000120,"type":"version","zone":"internal.","serial":2026112502,"digest":"be5b243c2fe0d1c095e3316a92345e29775f5221fdc763d05d183f765f386a9e","known":"published","file":"zones/internal.v2.zone"}',
    '{"t":0.000120,"type":"publish","source":"truth","zone":"internal.","serial":2026112502,"digest":"be5b243c2fe0d1c095e3316a92345e29775f5221fdc763d05d183f765f386a9e","file":"zones/internal.v2.zone","initial":true}',
    '{"t":0.000310,"type":"state","resolver":"r1","state":"up","why":"booted","address":"127.0.0.11:40233"}',
    '{"t":0.000311,"type":"boot","resolver":"r1","from":"source","ok":true,"zones":["internal. 2026112502"],"digests":["be5b243c2fe0d1c095e3316a92345e29775f5221fdc763d05d183f765f386a9e"]}',
    '{"t":0.100000,"type":"fault","target":"r1","fault":"delay","id":1,"action":"inject","duration":2.000,"delay_ms":250.000,"jitter_ms":50.000,"dist":"normal"}',
    '{"t":0.200000,"type":"lookup","event":"invoke","client":"app","stack":"c-ares","id":1,"name":"db-primary.internal","family":"A","target":"r1"}',
    '{"t":0.200500,"type":"query","resolver":"r1","transport":"udp","src":"127.0.100.1:41873","id":1187,"qname":"db-primary.internal.","qtype":"A","client":"app","lookup":1,"cause":"first","action":"answered","rcode":"NOERROR","an":1,"serial":2026112502,"delay_fault":1,"delay_ms":262.114}',
    '{"t":0.463000,"type":"lookup","event":"ok","client":"app","stack":"c-ares","id":1,"name":"db-primary.internal","latency_ms":263.000,"answers":["10.20.0.42"],"rcode":"NOERROR","class":"fresh","serial":2026112502,"digest":"be5b243c2fe0d1c095e3316a92345e29775f5221fdc763d05d183f765f386a9e","wire":1}',
    '{"t":0.500000,"type":"fault","target":"r1","fault":"delay","id":1,"action":"heal"}',
    '{"t":0.600000,"type":"log","message":"done"}',
    '{"t":2.000420,"type":"end","reason":"duration","lines":12}',
]

DECL_SC = '{"t":0.000000,"type":"declare","what":"scenario","where":"x.lua:1","cwd":"/tmp","opts":{"duration":2,"name":"x","seed":7}}'
DECL_R = '{"t":0.000000,"type":"declare","what":"resolver","where":"x.lua:3","opts":{"name":"r1","source":{"$ref":"zone_source","name":"truth"},"zones":[{"$ref":"zone","file":"zones/internal.v2.zone"}],"gate":{"answer":"servfail"}}}'
RUNNING = '{"t":0.000400,"type":"running"}'
RATE = '{"t":0.150000,"type":"rate","client":"app","rate":12.500}'

def fix_count(ls):
    """Makes the end line's count right again after lines were added or removed."""
    ls = list(ls)
    for i, l in enumerate(ls):
        if '"type":"end"' in l:
            o = json.loads(l)
            ls[i] = l.replace('"lines":%d' % o["lines"], '"lines":%d' % len(ls))
    return ls

def sub(i, a, b, ls=good):
    ls = list(ls)
    assert a in ls[i], (i, a)
    ls[i] = ls[i].replace(a, b, 1)
    return ls

def insert(i, line, ls=good):
    return fix_count(ls[:i] + [line] + ls[i:])

def drop(i, ls=good):
    return fix_count(ls[:i] + ls[i + 1:])

class Cut(str):
    """A last line written without its "\\n"."""

def long_log(n):
    return '{"t":0.550000,"type":"log","message":"%s"}' % ("x" * n)

def aligned_case(pad):
    """A 3000-byte log line after the fault heal, padded to the next page (as
    the writer does) or not."""
    ls = good[:10] + [long_log(3000)] + good[10:]
    ls = fix_count(ls)
    size = sum(len(l) + 1 for l in ls[:10])
    if pad and (size % 4096) + len(ls[10]) + 1 > 4096:
        ls[9] += " " * (4096 - size % 4096)
    return ls

cases = [
    # name, lines (written as they are), the message expected (regex), options
    ("good", good, "ok", "--aligned"),
    ("good-padded", sub(4, "]}", "]}      "), "ok", ""),
    ("unknown-type-and-field", insert(10, '{"t":0.600000,"type":"future","x":[1]}', sub(3, '"why"', '"new_field":{"a":1},"why"')), "ok", ""),
    ("cut-allowed", good[:7] + [Cut(good[7][:40])], "ok", "--allow-cut"),
    ("aligned", aligned_case(True), "ok", "--aligned"),
    ("straddles", aligned_case(False), "straddles the 4 KiB boundary", "--aligned"),
    ("t-back", sub(4, '"t":0.000311', '"t":0.000300'), "t goes back", ""),
    ("t-decimals", sub(10, '"t":0.600000', '"t":0.6'), "not with 6 decimals", ""),
    ("t-negative", sub(2, '"t":0.000120', '"t":-0.000120'), "minimum|less than", ""),
    ("t-not-first", sub(10, '{"t":0.600000,"type":"log"', '{"type":"log","t":0.600000'), "first keys", ""),
    ("duplicate-key", sub(10, '"message":"done"', '"message":"done","message":"x"'), "more than once", ""),
    ("nan", sub(7, '"delay_ms":262.114', '"delay_ms":NaN'), "NaN is not JSON", ""),
    ("exponent", sub(7, '"delay_ms":262.114', '"delay_ms":2.62114e2'), "exponent", ""),
    ("float-id", sub(7, '"id":1187', '"id":1187.0'), "not of type 'integer'", ""),
    ("string-serial", sub(2, '"serial":2026112502', '"serial":"2026112502"'), "not of type 'integer'", ""),
    ("bad-enum", sub(5, '"dist":"normal"', '"dist":"gaussian"'), "is not one of", ""),
    ("missing-field", sub(3, '"why":"booted",', ''), "'why' is a required property", ""),
    ("heal-with-inject-field", sub(9, '"action":"heal"', '"action":"heal","duration":1.000'), "not expected here", ""),
    ("boot-failed-without-error", sub(4, '"ok":true', '"ok":false'), "'error' is a required property", ""),
    ("no-meta", drop(0), "meta line", ""),
    ("no-end", good[:-1], "not an end line", ""),
    ("end-count", sub(11, '"lines":12', '"lines":13'), '"lines" is 13', ""),
    ("end-not-last", good + [good[10]], "not the last line", ""),
    ("cut-line", good[:-1] + [Cut(good[-1][:30])], "does not end in", ""),
    ("blank-line", insert(6, ''), "blank line", ""),
    ("bad-utf8", sub(10, "done", "d\udcffne"), "not valid UTF-8", ""),
    ("trailing-tab", sub(10, '"done"}', '"done"}\t'), "only spaces", ""),
    ("lookup-twice", insert(7, good[6].replace('"t":0.200000', '"t":0.200100')), "invoked again", ""),
    ("completion-without-invoke", sub(6, '"id":1,', '"id":9,'), "never invoked", ""),
    ("join-unknown-lookup", sub(7, '"lookup":1', '"lookup":5'), "not invoked before", ""),
    ("join-other-client", sub(7, '"client":"app"', '"client":"other"'), "lookup 1 is client 'app'", ""),
    ("join-without-lookup", sub(7, '"lookup":1,', ''), "'lookup' is a dependency|'lookup' is a required", ""),
    ("wire-count", sub(8, '"wire":1', '"wire":2'), "wire is 2, but 1", ""),
    ("latency", sub(8, '"latency_ms":263.000', '"latency_ms":200.000'), "latency_ms 200.000", ""),
    ("never-completed", drop(8), "never completes", ""),
    ("completion-mismatch", sub(8, '"stack":"c-ares"', '"stack":"ldns"'), "completes with stack", ""),
    ("ok-without-answers", sub(8, '"answers":["10.20.0.42"],', ''), "'answers' is a required", ""),
    ("answers-not-addresses", sub(8, '"10.20.0.42"', '"10.20.0.420"'), "10.20.0.420. matches none of", ""),
    ("heal-unknown-fault", sub(9, '"id":1', '"id":2'), "never injected", ""),
    ("query-unknown-fault", sub(7, '"delay_fault":1', '"delay_fault":3'), "not injected before", ""),
    ("not-cut-allowed", good[:7] + [Cut(good[7][:40])], "does not end in", ""),
    # zone versions: once each, named by digest before they are referenced
    ("version-twice", insert(2, good[1]), "recorded again", ""),
    ("version-bad-digest", sub(1, '"digest":"be5b', '"digest":"XX5b'), "does not match", ""),
    ("version-transfer-with-file", sub(1, '"known":"published"', '"known":"transfer"'), "not expected here", ""),
    ("publish-unknown-digest", sub(2, '"digest":"be5b', '"digest":"ee5b'), "names no version line", ""),
    ("publish-before-version", fix_count([good[0], good[2], good[1]] + good[3:]), "names no version line", ""),
    ("boot-without-digests", sub(4, ',"digests":["' + good[1].split('"digest":"')[1][:64] + '"]', ''), "'digests' is a required", ""),
    ("lookup-unknown-digest", sub(8, '"digest":"be5b', '"digest":"ee5b'), "names no version line", ""),
    ("stale-without-records", sub(8, '"class":"fresh"', '"class":"stale"'), "'stale_records' is a required", ""),
    ("stale-record-not-answer", sub(8, '"class":"fresh"', '"class":"stale","stale_records":["10.20.0.15"]'), "not among its answers", ""),
    ("wrong-with-serial", sub(8, '"class":"fresh"', '"class":"wrong","wrong_records":["10.20.0.42"]'), "not expected here", ""),
    ("stale-record-ok", sub(8, '"class":"fresh"', '"class":"stale","stale_records":["10.20.0.42"]'), "ok", ""),
    # declare, running and rate lines (what `dnschaos replay` reads)
    ("declare-ok", fix_count([good[0], DECL_SC, DECL_R] + good[1:5] + [RUNNING] + good[5:6] + [RATE] + good[6:]), "ok", ""),
    ("declare-scenario-without-cwd", insert(1, DECL_SC.replace(',"cwd":"/tmp"', '')), "'cwd' is a required", ""),
    ("declare-cwd-elsewhere", insert(1, DECL_R.replace('"where"', '"cwd":"/tmp","where"')), "not expected here", ""),
    ("declare-unknown-what", insert(1, DECL_R.replace('"what":"resolver"', '"what":"router"')), "is not one of", ""),
    ("declare-not-at-0", insert(1, DECL_R.replace('"t":0.000000', '"t":0.000100')), "was expected", ""),
    ("declare-bad-ref", insert(1, DECL_R.replace('{"$ref":"zone_source","name":"truth"}', '{"$ref":7}')), "matches none of", ""),
    ("rate-without-rate", insert(7, RATE.replace(',"rate":12.500', '')), "'rate' is a required", ""),
]
with open(os.path.join(out, "list"), "w") as lst:
    for name, ls, want, opt in cases:
        with open(os.path.join(out, name + ".jsonl"), "wb") as f:
            for l in ls:
                f.write(l.encode("utf-8", "surrogateescape") + (b"" if isinstance(l, Cut) else b"\n"))
        lst.write("%s\t%s\t%s\n" % (name, opt or "-", want))
PY
ran=0
while IFS=$'\t' read -r name opt want; do
	ran=$((ran + 1))
	args=()
	[ "$opt" != - ] && args=("$opt")
	out=$(python3 "$check" "${args[@]}" "$work/cases/$name.jsonl" 2>&1)
	rc=$?
	if [ "$want" = ok ]; then
		if [ "$rc" -eq 0 ]; then passed=$((passed + 1)); else
			failed=$((failed + 1)); echo "FAIL: checker case $name: rejected a good history:"
			indent <<<"$out"; fi
	elif [ "$rc" -eq 1 ] && grep -Eq -- "$want" <<<"$out"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: checker case $name: exit $rc (want 1) and /$want/ in:"; indent <<<"$out"
	fi
done <"$work/cases/list"
listed=$(wc -l <"$work/cases/list")
if [ "${listed:-0}" -eq 0 ] || [ "$ran" -ne "$listed" ]; then
	failed=$((failed + 1)); echo "FAIL: checker self-test: $ran cases run, ${listed:-no} listed"
fi
echo "history_schema: checker self-test: $passed passed, $failed failed ($ran cases)"

# The scenarios' histories.
for k in "${!pids[@]}"; do
	n=${names[$k]}
	wait "${pids[$k]}"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "note: $n.lua exited $rc (its history is checked all the same):"
		tail -5 "$work/$n.out" | sed 's/^/  /'
	fi
	if [ ! -s "$work/$n.jsonl" ]; then
		failed=$((failed + 1)); echo "FAIL: $n.lua wrote no history (exit $rc)"; continue
	fi
	if python3 "$check" --aligned "$work/$n.jsonl"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); echo "FAIL: the history of $n.lua (exit $rc) does not match docs/history.md"
	fi
done
pids=()

echo "history_schema: $passed passed, $failed failed, $((SECONDS - start)) s"
[ "$failed" -eq 0 ]
