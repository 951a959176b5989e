#!/usr/bin/env bash
# A run ends promptly even when its clients' worker threads are stuck in
# their stack: glibc getaddrinfo asking a loopback UDP socket that never
# answers, with timeout = 30 and attempts = 2 (a minute per lookup, and a
# SIGURG nudge does not shorten it: glibc resumes its poll). The reap waits
# on the loop, at most 5 s after the clients stop, then leaves those
# workers behind (harness/clients/client.h, client_reap). Asserts: the run
# exits 0 well before the lookups could have ended (under 30 s of wall
# time for a 1 s run; before, the reap joined them: about 60 s), and the
# history is whole: the lookups in flight recorded as cancelled, then the
# end line, last, within 1 + 5 s of run time plus a margin for a loaded
# machine (under 20 s).
# Usage: client_stop.sh PATH/TO/dnschaos
set -uo pipefail
bin=${1:?dnschaos binary}
work=$(mktemp -d)
hole=
cleanup() {
	[ -n "$hole" ] && kill "$hole" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# A UDP socket that reads nothing and answers nothing (so no port unreachable).
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
time.sleep(300)
' >"$work/port" &
hole=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")
cat >"$work/stuck.lua" <<LUA
local s = scenario{ name = "stuck workers", duration = 1 }
s:client{ name = "stuck", stack = "glibc", target = "127.0.0.1:$port",
          names = "db-primary.internal", concurrency = 4, timeout = 30, attempts = 2 }
LUA
start=$(date +%s%N)
# --no-sandbox: the silent socket is this script's, on the host's loopback (in
# the sandbox the port would be closed and the lookups fail at once).
timeout -k 5 170 "$bin" run "$work/stuck.lua" --no-sandbox --history "$work/h.jsonl" >"$work/out" 2>&1
rc=$?
took=$((($(date +%s%N) - start) / 1000000)) # ms
if [ "$rc" -eq 0 ]; then ok "the run exited 0"; else fail "the run exited $rc"; sed 's/^/  /' "$work/out"; fi
if [ "$took" -lt 30000 ]; then
	ok "it ended in $took ms, before the stuck lookups could"
else
	fail "it took $took ms: the reap waited for the stuck lookups"
fi
python3 - "$work/h.jsonl" <<'PY' && ok "history: 4 cancelled lookups, then the end line, at t < 20" || fail "history"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
end = [i for i, l in enumerate(lines) if l.get("type") == "end"]
cancelled = [l for l in lines if l.get("type") == "lookup" and l.get("event") == "cancelled"]
ok = len(end) == 1 and end[0] == len(lines) - 1 and lines[-1]["t"] < 20 and len(cancelled) == 4
if not ok:
    print("  end lines at", end, "of", len(lines), "t", lines[-1].get("t"), "cancelled", len(cancelled))
sys.exit(0 if ok else 1)
PY
echo "e2e_client_stop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
