#!/usr/bin/env bash
# s:vip{ kind = "dnsdist" } end to end, with Debian's dnsdist (skipped, exit
# 77, when it is not installed):
#  - start and stop: dnsdist runs while the run does, on the VIP's address,
#    and none is left after it; none either a few seconds after the harness
#    is SIGKILLed mid-run (spawn.c's guardian);
#  - its generated configuration turns security polling off before and after
#    everything else (read while it runs);
#  - health read-back: a backend stopped and started again (detection_time
#    PASS), then hung (detection_time PASS on a sound bound, FAIL on one the
#    run breaks: dnsdist needs two timed-out checks); readmission PASS
#    and FAIL (bound 0) for a gated backend that reboots stale, and FAIL
#    outright when dnsdist sends queries to one serving a stale copy;
#  - a user's file, its newServer names mapped to farm members; a file whose
#    names do not match, and one with a syntax error, refused at the s:vip
#    line naming their file and line (exit 3); options dnsdist cannot honour
#    refused; dnsdist missing: exit 4, saying so.
# dnsdist's processes are found by their -C argument, under this test's own
# TMPDIR (the run writes the configuration there).
# Usage: vip_dnsdist.sh PATH/TO/dnschaos PATH/TO/scenarios/zones
set -uo pipefail
bin=$(cd "$(dirname "${1:?dnschaos binary}")" && pwd)/$(basename "$1")
zones=$(cd "${2:?zone folder}" && pwd)
if ! command -v dnsdist >/dev/null && ! [ -x /usr/bin/dnsdist ]; then
	echo "SKIP: dnsdist is not installed (apt-get install dnsdist)"
	exit 77
fi
work=$(mktemp -d)
export TMPDIR=$work
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	pkill -KILL -f -- "-C $work/" 2>/dev/null # this test's own dnsdists only
	rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
ours() { pgrep -f -- "-C $work/" | wc -l; }
# outcome JSON NAME: the outcome of expectation NAME in a --json summary
outcome() {
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for e in d["expectations"]:
    if e["name"]==sys.argv[2]: print(e["outcome"], e.get("observed")); break
else: print("missing")' "$1" "$2"
}
expect_outcome() { # JSON NAME OUTCOME
	local got
	got=$(outcome "$1" "$2")
	if [ "${got%% *}" = "$3" ]; then ok "$2: $got"; else fail "$2: want $3, got $got"; fi
}

# ---- start, stop, the poll suffix, and no dnsdist left ----
cat >"$work/basic.lua" <<LUA
local s = scenario{ name = "dnsdist basic", duration = 3, seed = 1 }
local zone = s:zone("$zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
local r2 = s:resolver{ name = "r2", zone = zone }
local v = s:vip{ name = "dd", kind = "dnsdist", backends = { r1, r2 } }
s:client{ name = "app", stack = "ldns", target = v, names = "db-primary.internal", rate = 20,
          from = 0.3, to = 2.7, timeout = 1, attempts = 1 }
s:expect{ "all answered", success_rate{ client = "app" }, at_least = 0.99, baseline = true }
LUA
"$bin" run "$work/basic.lua" --history "$work/basic.jsonl" --json "$work/basic.json" \
	>"$work/basic.out" 2>&1 &
pid=$!
seen=0
for _ in $(seq 100); do
	[ "$(ours)" -ge 1 ] && { seen=1; break; }
	sleep 0.05
done
conf=$(ls "$work"/dnschaos-dnsdist.*/dnsdist.conf 2>/dev/null | head -1)
[ "$seen" = 1 ] && ok "dnsdist runs during the run" || fail "no dnsdist seen during the run"
if [ -n "$conf" ] && cp "$conf" "$work/seen.conf" 2>/dev/null; then
	first=$(grep -v '^--' "$work/seen.conf" | head -1)
	tail2=$(grep -A1 'setSecurityPollSuffix("")' "$work/seen.conf" | tail -1)
	[ "$first" = 'setSecurityPollSuffix("")' ] && [ "$(grep -c 'setSecurityPollSuffix("")' "$work/seen.conf")" -eq 2 ] &&
		[[ $tail2 == setLocal\(* ]] && ok "security polling off first and last" ||
		fail "security polling not off first and last: $(cat "$work/seen.conf")"
else
	fail "no configuration file seen under $work"
fi
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] && ok "basic run passes" || { fail "basic run exit $rc"; cat "$work/basic.out"; }
expect_outcome "$work/basic.json" "all answered" pass
grep -q '"type":"vip","vip":"dd","address":"[^"]*","kind":"dnsdist","policy":"roundrobin","config":"generated","poll_ms":100,"checks":false' "$work/basic.jsonl" &&
	ok "vip line" || fail "vip line: $(grep '"type":"vip"' "$work/basic.jsonl")"
grep -q '"type":"backend_stats","vip":"dd","backend":"r2"' "$work/basic.jsonl" &&
	ok "backend_stats lines" || fail "no backend_stats line for r2"
sleep 0.5
[ "$(ours)" = 0 ] && ok "no dnsdist left after the run" || fail "$(ours) dnsdist left after the run"
ls "$work"/dnschaos-dnsdist.* >/dev/null 2>&1 && fail "configuration folder left" || ok "configuration folder removed"

# ---- SIGKILL of the harness mid-run ----
sed 's/duration = 3/duration = 60/' "$work/basic.lua" >"$work/long.lua"
"$bin" run "$work/long.lua" --history "$work/long.jsonl" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
	grep -q '"type":"backend_stats"' "$work/long.jsonl" 2>/dev/null && break
	sleep 0.05
done
[ "$(ours)" -ge 1 ] && ok "dnsdist up before the kill" || fail "no dnsdist before the kill"
kill -KILL "$pid"
wait "$pid" 2>/dev/null
pid=
left=1
for _ in $(seq 50); do
	left=$(ours)
	[ "$left" = 0 ] && break
	sleep 0.1
done
[ "$left" = 0 ] && ok "no dnsdist left after SIGKILL of the harness" ||
	fail "$left dnsdist left after SIGKILL of the harness"

# ---- dnsdist dying under a running run stops it, saying so ----
"$bin" run "$work/long.lua" --history "$work/died.jsonl" >"$work/died.out" 2>&1 &
pid=$!
for _ in $(seq 200); do
	grep -q '"type":"backend_stats"' "$work/died.jsonl" 2>/dev/null && break
	sleep 0.05
done
pkill -KILL -f -- "dnsdist --supervised --disable-syslog -C $work/" 2>/dev/null
wait "$pid"
rc=$?
pid=
if [ "$rc" = 4 ] && grep -q "long.lua:5: vip 'dd': dnsdist ended during the run" "$work/died.out"; then
	ok "dnsdist killed mid-run: exit 4, named"
else
	fail "dnsdist killed mid-run: exit $rc, $(cat "$work/died.out")"
fi

# ---- health read-back: detection_time and readmission ----
cat >"$work/health.lua" <<LUA
local s = scenario{ name = "dnsdist health", duration = 12, seed = 2 }
local zone = s:zone("$zones/internal.v2.zone")
local on_disk = s:zone("$zones/internal.v1.zone")
local truth = s:zone_source{ name = "truth", zone = zone }
-- Faults at 3 s: three dnsdists start first, and on a loaded machine that takes a while.
-- r2 stopped and started again: dnsdist 1.7 marks a closed port down at its first
-- failed check, whatever maxCheckFailures, so at most about a check interval after
-- the stop. Then hung: a check timing out counts against fall = 2, the next comes a
-- check interval (and dnsdist's wait for the timeout) later: 1 s or more.
local r1 = s:resolver{ name = "r1", zone = zone }
local r2 = s:resolver{ name = "r2", zone = zone }
local stopped = s:vip{ name = "stopped", kind = "dnsdist", backends = { r1, r2 },
                       health = { check = "rcode", name = "internal", interval = 1, timeout = 0.25,
                                  rise = 1, fall = 2 } }
s:at(3, r2, "stop")
s:at(4.5, r2, "start")
s:at(7.5, r2, "hang")
-- reboots stale, gates itself and fetches the published zone: out until current
local g1 = s:resolver{ name = "g1", boot = "source", gate = { answer = "servfail", reload = true } }
local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail", reload = true } }
local gated = s:vip{ name = "gated", kind = "dnsdist", backends = { g1, g2 },
                     health = { check = "rcode", interval = 1, timeout = 0.25, rise = 1, fall = 1 } }
s:at(3, g2, "crash", { down = 2.5, zone = on_disk })
-- reboots stale without a gate: dnsdist's rcode check lets it in, behind
local p1 = s:resolver{ name = "p1", boot = "source" }
local p2 = s:resolver{ name = "p2", boot = "source" }
local unprotected = s:vip{ name = "unprotected", kind = "dnsdist", backends = { p1, p2 },
                           health = { check = "rcode", interval = 1, timeout = 0.25, rise = 1, fall = 1 } }
s:at(3, p2, "crash", { down = 1.5, zone = on_disk })
for _, v in ipairs{ stopped, gated, unprotected } do
  s:client{ name = "app-" .. v.name, stack = "ldns", target = v, names = "db-primary.internal",
            rate = 20, from = 0, to = 11.5, timeout = 1, attempts = 2 }
end
s:expect{ "detection sound", detection_time{ backend = r2, vip = stopped, to = 4.4 }, at_most = 2.5 }
s:expect{ "hang detection sound", detection_time{ backend = r2, vip = stopped, from = 7 }, at_most = 4.5 }
s:expect{ "hang detection broken", detection_time{ backend = r2, vip = stopped, from = 7 }, at_most = 0.5 }
s:expect{ "readmission sound", readmission{ backend = g2, vip = gated }, at_most = 2.5 }
s:expect{ "readmission broken", readmission{ backend = g2, vip = gated }, at_most = 0 }
s:expect{ "readmission behind", readmission{ backend = p2, vip = unprotected }, at_most = 2.5 }
s:expect{ "amplification unjoined", amplification{ client = "app-stopped" }, at_most = 3 }
s:expect{ "failure_span unjoined", failure_span{ backend = r2, vip = stopped }, at_most = 3 }
LUA
"$bin" run "$work/health.lua" --history "$work/health.jsonl" --json "$work/health.json" \
	>"$work/health.out" 2>&1
rc=$?
[ "$rc" = 1 ] && ok "health run: FAIL (exit 1)" || { fail "health run exit $rc"; cat "$work/health.out"; }
expect_outcome "$work/health.json" "detection sound" pass
expect_outcome "$work/health.json" "hang detection sound" pass
expect_outcome "$work/health.json" "hang detection broken" fail
expect_outcome "$work/health.json" "readmission sound" pass
expect_outcome "$work/health.json" "readmission broken" fail
expect_outcome "$work/health.json" "readmission behind" fail
grep -q "dnsdist unprotected sent [0-9]* quer[a-z]* to p2 while it served" "$work/health.json" &&
	ok "readmission behind: from dnsdist's counters" || fail "readmission behind: not from the counters"
expect_outcome "$work/health.json" "amplification unjoined" inconclusive
expect_outcome "$work/health.json" "failure_span unjoined" inconclusive
grep -q '"type":"health","vip":"stopped","backend":"r2","event":"down"' "$work/health.jsonl" &&
	grep -q '"type":"health","vip":"stopped","backend":"r2","event":"up"' "$work/health.jsonl" &&
	ok "r2 down and up again in the history" || fail "no down/up lines for r2"
# its lines as docs/history.schema.json says (77: no python3-jsonschema here)
python3 "$(dirname "$0")/check_history.py" "$work/health.jsonl" >"$work/schema.out" 2>&1
case $? in
0) ok "health history matches the schema" ;;
77) echo "skip: schema check (python3-jsonschema missing)" ;;
*) fail "health history against the schema: $(head -5 "$work/schema.out")" ;;
esac
# the same verdicts from the history alone
"$bin" check "$work/health.jsonl" "$work/health.lua" >/dev/null 2>&1
[ "$?" = 1 ] && ok "dnschaos check agrees" || fail "dnschaos check differs"

# ---- a user's configuration file ----
cat >"$work/their.conf" <<'CONF'
-- their production file: addresses replaced by the run, names mapped
newServer({ address = "192.0.2.1:53", name = "ns-a", checkName = "internal.", checkType = "SOA",
            mustResolve = true })
newServer({ address = "192.0.2.2:53", name = "ns-b", checkName = "internal.", checkType = "SOA",
            mustResolve = true })
setServerPolicy(leastOutstanding)
setSecurityPollSuffix("secpoll.powerdns.com.")
setLocal("0.0.0.0:53")
CONF
cat >"$work/user.lua" <<LUA
local s = scenario{ name = "dnsdist user file", duration = 3, seed = 3 }
local zone = s:zone("$zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
local r2 = s:resolver{ name = "r2", zone = zone }
local v = s:vip{ name = "theirs", kind = "dnsdist", config = "their.conf",
                 backends = { { resolver = r1, server = "ns-a" }, { resolver = r2, server = "ns-b" } } }
s:client{ name = "app", stack = "ldns", target = v, names = "db-primary.internal", rate = 20,
          from = 0.5, to = 2.7, timeout = 1, attempts = 1 }
s:expect{ "all answered", success_rate{ client = "app" }, at_least = 0.99, baseline = true }
LUA
"$bin" run "$work/user.lua" --history "$work/user.jsonl" --json "$work/user.json" >"$work/user.out" 2>&1
rc=$?
[ "$rc" = 0 ] && ok "user's file: run passes" || { fail "user's file: exit $rc"; cat "$work/user.out"; }
expect_outcome "$work/user.json" "all answered" pass
grep -q "\"config\":\"$work/their.conf\"" "$work/user.jsonl" && ok "vip line names their file" ||
	fail "vip line: $(grep '"type":"vip"' "$work/user.jsonl")"
python3 "$(dirname "$0")/check_history.py" "$work/user.jsonl" >"$work/schema.out" 2>&1
case $? in
0) ok "user's file history matches the schema" ;;
77) echo "skip: schema check (python3-jsonschema missing)" ;;
*) fail "user's file history against the schema: $(head -5 "$work/schema.out")" ;;
esac
for b in r1 r2; do
	grep -q "\"type\":\"backend_stats\",\"vip\":\"theirs\",\"backend\":\"$b\"" "$work/user.jsonl" &&
		ok "their ns mapped to $b gets queries" || fail "no queries to $b"
done

# refused files and options: exit 3, the message naming where
refused() { # NAME WANT-IN-MESSAGE LUA-OPTIONS [CODE]
	local name=$1 want=$2 opts=$3 code=${4:-3}
	cat >"$work/$name.lua" <<LUA
local s = scenario{ name = "$name", duration = 1 }
local zone = s:zone("$zones/internal.v2.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
local r2 = s:resolver{ name = "r2", zone = zone }
local v = s:vip{ name = "v", kind = "dnsdist", $opts }
LUA
	"$bin" run "$work/$name.lua" >"$work/$name.out" 2>&1
	local rc=$?
	if [ "$rc" = "$code" ] && grep -qF -- "$want" "$work/$name.out"; then
		ok "$name: exit $rc, says '$want'"
	else
		fail "$name: exit $rc (want $code), output: $(cat "$work/$name.out")"
	fi
}
printf 'newServer({ address = "192.0.2.1:53", name = "ns-a" })\nnewServer({ address = "192.0.2.3:53", name = "other" })\n' >"$work/unmapped.conf"
refused unmapped "unmapped.conf:2: dnschaos: newServer name 'other' is not a farm member" \
	'config = "unmapped.conf", backends = { { resolver = r1, server = "ns-a" }, r2 }'
printf 'newServer({ address = "192.0.2.1:53", name = "ns-a" })\n' >"$work/short.conf"
refused missing_server "has no newServer named 'r2'" \
	'config = "short.conf", backends = { { resolver = r1, server = "ns-a" }, r2 }'
printf 'newServer({ address = "192.0.2.1:53", name = "r1" })\nnewServer({ address = "192.0.2.2:53", name = "r2" })\nsetServerPolicy(\n' >"$work/syntax.conf"
refused syntax "syntax.conf:4:" 'config = "syntax.conf", backends = { r1, r2 }'
printf 'newServer({ address = "192.0.2.1:53", name = "r1" })\nnewServer({ address = "192.0.2.2:53", name = "r2" })\nlocal rl = newRemoteLogger("192.0.2.9:4242")\n' >"$work/logger.conf"
refused remote_logger "logger.conf:3: dnschaos: newRemoteLogger sends outside the run" \
	'config = "logger.conf", backends = { r1, r2 }'
refused missing_file "missing_file.lua:5: vip (kind = \"dnsdist\"): config = 'nothere.conf': cannot read" \
	'config = "nothere.conf", backends = { r1, r2 }'
refused flow "policy = 'flow'" 'backends = { r1, r2 }, policy = "flow"'
refused serial "check = 'serial'" \
	'backends = { r1, r2 }, health = { check = "serial", source = s:zone_source{ name = "t", zone = zone } }'
refused subsecond "whole seconds" 'backends = { r1, r2 }, health = { check = "alive", interval = 0.5 }'
refused on_refused "on_refused is an option of the userspace VIP" 'backends = { r1, r2 }, on_refused = "icmp"'
DNSCHAOS_DNSDIST=/nonexistent/dnsdist refused missing_dnsdist "needs dnsdist" 'backends = { r1, r2 }' 4

echo "vip_dnsdist: $passed passed, $failed failed"
[ "$failed" = 0 ]
