#!/usr/bin/env bash
# Runs tests/facts/*.lua (real client stacks against VIPs with a hung or a
# stopped backend) and asserts what each stack does, as docs/stacks.md
# states it, from their histories (facts.py).
# Usage: facts.sh PATH/TO/dnschaos PATH/TO/tests/facts
set -euo pipefail
bin=${1:?dnschaos binary}
dir=${2:?facts scenario directory}
work=$(mktemp -d)
# On failure the histories stay, to be read: a fact that broke once may not break again.
trap 'rc=$?; if [ $rc -eq 0 ]; then rm -rf "$work"; else echo "histories kept in $work"; fi' EXIT

# run NAME EXPECTED_EXIT [PREFIX...]: runs tests/facts/NAME.lua, history in $work/NAME.jsonl
run() {
	local name=$1 want=$2 rc=0
	shift 2
	timeout -k 5 60 "$@" "$bin" run "$dir/${name%-*}.lua" --history "$work/$name.jsonl" \
		"${noraw_args[@]}" >"$work/$name.out" 2>&1 || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: ${name%-*}.lua ended with exit $rc, not $want"; sed 's/^/  /' "$work/$name.out"
		exit 1
	fi
}

# The relayed port unreachable needs a raw socket (root, or CAP_NET_RAW).
noraw_args=()
raw=yes
python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)' \
	2>/dev/null || raw=no

run half_vip 0
run unbound_nocache 0
if [ $raw = yes ]; then
	# Its two expectations pass: glibc fails over at once from the stopped backend.
	run stop_vip 0
	python3 "$(dirname "$0")/facts.py" "$work/half_vip.jsonl" "$work/unbound_nocache.jsonl" \
		"$work/stop_vip.jsonl"
else
	echo "skip the relayed port unreachable: this process cannot open a raw socket (not root)"
	python3 "$(dirname "$0")/facts.py" "$work/half_vip.jsonl" "$work/unbound_nocache.jsonl"
fi

# Without a raw socket (CAP_NET_RAW dropped, or not root): the run says so at
# start, its clients see silence, and the expectations about them are
# inconclusive (exit 2), not failed.
if [ $raw = yes ]; then
	command -v setpriv >/dev/null || { echo "FAIL: setpriv (util-linux) is needed"; exit 1; }
	# --no-sandbox: a user namespace gives its first process every capability
	# in it again, CAP_NET_RAW included, whatever the bounding set outside.
	noraw_args=(--no-sandbox)
	run stop_vip-noraw 2 setpriv --inh-caps=-net_raw --bounding-set=-net_raw
	noraw_args=()
else
	run stop_vip-noraw 2
fi
out=$work/stop_vip-noraw.out
if grep -q "warning: .*stop_vip.lua:[0-9]*: vip 'vip-glibc-stop': cannot open a raw socket" "$out" &&
	[ "$(grep -c 'could not relay' "$out")" -ge 2 ]; then
	echo "ok   without a raw socket the run says so at the s:vip line, and both expectations are inconclusive"
else
	echo "FAIL without a raw socket: no warning at start, or expectations not inconclusive"
	sed 's/^/  /' "$out"; exit 1
fi
python3 "$(dirname "$0")/facts.py" --noicmp "$work/stop_vip-noraw.jsonl"

# Each stack's own defaults against a silent resolver (about 18 s).
run defaults 0
python3 "$(dirname "$0")/facts.py" --defaults "$work/defaults.jsonl"

# A run whose ldns lookups are blocked on a silent resolver still ends on
# time (1.5 s of scenario; ldns alone would wait out 5 s x 3 tries).
start=$(date +%s%N)
timeout -k 5 60 "$bin" run "$dir/ldns_stop.lua" -q >"$work/ldns.out" 2>&1 || {
	echo "FAIL ldns_stop.lua did not complete"; cat "$work/ldns.out"; exit 1; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$ms" -lt 5000 ]; then echo "ok   a run with blocked ldns lookups ends in $ms ms"
else echo "FAIL a run with blocked ldns lookups took $ms ms to end"; exit 1; fi
