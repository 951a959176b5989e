#!/usr/bin/env bash
# End-to-end test of the fakeresolver daemon: starts it on an ephemeral
# loopback port and checks it with dig (answers, TCP, AXFR, EDNS), SIGHUP
# reloads (good and bad), the query log, clean exits and exit codes.
# Usage: daemon.sh PATH/TO/fakeresolver PATH/TO/scenarios/zones
set -uo pipefail

bin=${1:?fakeresolver binary}
zones=${2:?zone directory}
work=$(mktemp -d)
pid=
passed=0
failed=0

cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

check() { # description, got, want
	if [ "$2" == "$3" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		printf 'FAIL: %s\n  got:  %s\n  want: %s\n' "$1" "$2" "$3"
	fi
}

check_match() { # description, text, extended regex
	if grep -Eq -- "$3" <<<"$2"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		printf 'FAIL: %s\n  text: %s\n  does not match: %s\n' "$1" "$2" "$3"
	fi
}

# Starts the daemon in the background; sets pid and port. Fails after 5 s.
start() {
	: >"$work/stderr"
	"$bin" --listen 127.0.0.1:0 "$@" 2>"$work/stderr" &
	pid=$!
	for _ in $(seq 50); do
		grep -q 'fakeresolver: ready' "$work/stderr" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$work/stderr" | head -1 | cut -d: -f2)
	if [ -z "$port" ]; then
		echo "daemon did not start:"; cat "$work/stderr"; exit 1
	fi
}

# Sends a signal and waits (bounded) for the daemon to exit; sets status.
stop() {
	kill "-$1" "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null # still running after 5 s: a hang, and a failure
	wait "$pid"
	status=$?
	pid=
}

q() { dig +time=2 +tries=1 @127.0.0.1 -p "$port" "$@"; }

wait_for_line() { # file, pattern: bounded wait for a line to appear
	for _ in $(seq 50); do grep -q -- "$2" "$1" && return 0; sleep 0.1; done
	return 1
}

cp "$zones/internal.v1.zone" "$work/internal.zone"
umask 022 # the query log must be 0600 whatever the umask lets through
start --zone "$work/internal.zone" --query-log "$work/queries.jsonl"
check "query log created 0600" "$(stat -c %a "$work/queries.jsonl")" "600"

check "A answer from the served version" "$(q +short db-primary.internal A)" "10.20.0.15"
check "AA flag set" "$(q db-primary.internal A | grep -c 'flags: qr aa')" "1"
check "NXDOMAIN" "$(q nope.internal A | grep -oE 'status: [A-Z]+')" "status: NXDOMAIN"
check "REFUSED outside the zone" "$(q example.com A | grep -oE 'status: [A-Z]+')" "status: REFUSED"
check "CNAME chain followed" "$(q +short api.internal A | tr '\n' ' ')" "web.internal. 10.20.1.10 10.20.1.11 "
check "TCP works" "$(q +tcp +short db-primary.internal A)" "10.20.0.15"
check "EDNS payload 1232 advertised" "$(q db-primary.internal A | grep -oE 'udp: [0-9]+')" "udp: 1232"
check "no OPT without EDNS" "$(q +noedns db-primary.internal A | grep -c 'OPT PSEUDOSECTION')" "0"
check "AXFR: SOA + 17 records + SOA" "$(q internal AXFR | grep -v '^;' | grep -c IN)" "18"
check "letter case echoed" "$(q DB-Primary.Internal A | grep -A1 'QUESTION SECTION' | tail -1 | awk '{print $1}')" ";DB-Primary.Internal."

# A good reload switches the served version.
cp "$zones/internal.v2.zone" "$work/internal.zone"
kill -HUP "$pid"
wait_for_line "$work/stderr" 'reload done'
check "reload serves the new serial" "$(q +short internal SOA | awk '{print $3}')" "2026112502"
check "reload serves the new data" "$(q +short db-primary.internal A)" "10.20.0.42"

# A bad reload keeps the old version and names the file and line.
printf 'internal. 300 IN SOA ns1 host 1 2 3 4 5\nbroken line here\n' >"$work/internal.zone"
: >"$work/stderr.before"; cp "$work/stderr" "$work/stderr.before"
kill -HUP "$pid"
for _ in $(seq 50); do [ "$(grep -c 'reload done' "$work/stderr")" -ge 2 ] && break; sleep 0.1; done
check_match "bad reload names file:line" "$(grep "$work/internal.zone:" "$work/stderr")" "internal\.zone:2: "
check_match "bad reload says what still serves" "$(cat "$work/stderr")" "still serving internal\. serial 2026112502"
check "bad reload keeps serving the old version" "$(q +short db-primary.internal A)" "10.20.0.42"

# Every query-log line is JSON with the fields the history will need.
check "query log is valid JSON lines" "$(python3 - "$work/queries.jsonl" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert {"t", "transport", "src", "id", "action"} <= e.keys(), e
    n += 1
print("ok" if n >= 10 else "only %d lines" % n)
PY
)" "ok"
check_match "query log records the serial used" "$(tail -1 "$work/queries.jsonl")" '"serial":2026112502'

stop TERM
check "SIGTERM exits 0" "$status" "0"
# The zone file is broken now: startup must refuse it.
"$bin" --listen 127.0.0.1:0 --zone "$work/internal.zone" 2>"$work/err"; rc=$?
check "bad zone at startup exits 3" "$rc" "3"
check_match "bad zone at startup names file:line" "$(cat "$work/err")" "internal\.zone:2: "

cp "$zones/internal.v2.zone" "$work/internal.zone"
# The query log is never opened through a symbolic link (O_NOFOLLOW).
ln -s "$work/elsewhere" "$work/link.jsonl"
"$bin" --listen 127.0.0.1:0 --zone "$work/internal.zone" --query-log "$work/link.jsonl" \
	2>"$work/err" & lpid=$!
for _ in $(seq 50); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$lpid" 2>/dev/null
wait "$lpid"; rc=$?
check "query log through a symlink exits 3" "$rc" "3"
check "query log symlink target not created" "$([ -e "$work/elsewhere" ] && echo created || echo absent)" "absent"
check_match "query log symlink refusal names the file" "$(cat "$work/err")" "--query-log $work/link.jsonl: "

start --zone "$work/internal.zone"
stop INT
check "SIGINT exits 0" "$status" "0"

"$bin" --help >"$work/out" 2>&1; rc=$?
check "--help exits 0" "$rc" "0"
check_match "--help documents exit codes" "$(cat "$work/out")" "Exit status"
"$bin" --version >"$work/out" 2>&1; rc=$?
check "--version exits 0" "$rc" "0"
"$bin" --bogus 2>/dev/null; rc=$?
check "unknown option exits 3" "$rc" "3"
"$bin" --zone "$work/internal.zone" 2>/dev/null; rc=$?
check "missing --listen exits 3" "$rc" "3"
"$bin" --listen 10.1.2.3:53 --zone "$work/internal.zone" 2>"$work/err"; rc=$?
check "non-loopback address exits 3" "$rc" "3"
check_match "non-loopback refusal says why" "$(cat "$work/err")" "not a loopback address"
"$bin" --listen 127.0.0.1:99999 --zone "$work/internal.zone" 2>"$work/err"; rc=$?
check "bad port exits 3" "$rc" "3"
"$bin" --listen 127.0.0.1:0 --zone "$work/missing.zone" 2>"$work/err"; rc=$?
check "missing zone file exits 3" "$rc" "3"
check_match "missing zone file named" "$(cat "$work/err")" "missing\.zone: cannot open"
"$bin" --listen 127.0.0.1:0 --zone "$zones/internal.v1.zone" --zone "$zones/internal.v2.zone" 2>"$work/err"; rc=$?
check "duplicate origin exits 3" "$rc" "3"
check_match "duplicate origin explained" "$(cat "$work/err")" "already loaded"

start --zone "$work/internal.zone"
busy=$port
"$bin" --listen "127.0.0.1:$busy" --zone "$work/internal.zone" 2>"$work/err"; rc=$?
check "port in use exits 4" "$rc" "4"
check_match "port in use names the address" "$(cat "$work/err")" "cannot listen on 127\.0\.0\.1:$busy"
stop TERM

echo "e2e_daemon: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
