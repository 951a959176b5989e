#!/usr/bin/env bash
# `dnschaos check` on hostile histories: every bad history of the reader's
# fuzz corpus exits 3 naming FILE:LINE; a FIFO, a device and a directory are
# refused at once (a FIFO blocked open() for good); a 1 GiB line (a sparse
# file, no disk used) is refused at its line with little memory (it was read
# whole: a gigabyte).
# Usage: check_refuses.sh PATH/TO/dnschaos PATH/TO/tests/fuzz/corpus/hist PATH/TO/scenario.lua
set -uo pipefail
bin=${1:?dnschaos binary}
corpus=${2:?the history corpus directory}
scenario=${3:?a scenario file}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
ok() { echo "ok   $*"; }
bad() {
	echo "FAIL $*"
	failed=$((failed + 1))
}

# check NAME FILE WANT: `dnschaos check FILE` must exit 3 within 60 s, its
# message starting with "dnschaos: FILE" then WANT (a grep -E pattern).
check() {
	local name=$1 file=$2 want=$3 rc
	timeout 60 "$bin" check "$file" "$scenario" -q >"$work/out" 2>&1
	rc=$?
	if [ "$rc" -eq 124 ]; then
		bad "$name: still running after 60 s"
	elif [ "$rc" -ne 3 ]; then
		bad "$name: exit $rc, want 3: $(head -c 300 "$work/out")"
	elif ! grep -qE "^dnschaos: $file$want" "$work/out"; then
		bad "$name: message: $(head -c 300 "$work/out")"
	else
		ok "$name: $(head -c 160 "$work/out")"
	fi
}

n=0
for f in "$corpus"/bad-*; do
	check "$(basename "$f")" "$f" ":[0-9]+: "
	n=$((n + 1))
done
[ "$n" -ge 10 ] || bad "only $n hostile histories in $corpus"

mkfifo "$work/fifo" || bad "mkfifo"
check "a FIFO" "$work/fifo" ": not a regular file \(a history is a file, not a FIFO\)"
check "/dev/zero" /dev/zero ": not a regular file \(a history is a file, not a device\)"
check "a directory" "$work" ": not a regular file \(a history is a file, not a directory\)"

# A meta line, then a line of a gigabyte of zero bytes with its "\n".
head -1 "$corpus/good-pass-cares-vip.jsonl" >"$work/big.jsonl"
truncate -s 1G "$work/big.jsonl" && echo >>"$work/big.jsonl" || bad "cannot make a sparse file"
python3 - "$bin" "$work/big.jsonl" "$scenario" >"$work/rss" <<'EOF'
import resource, subprocess, sys
r = subprocess.run([sys.argv[1], "check", sys.argv[2], sys.argv[3], "-q"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
print(r.returncode, mib, r.stderr.decode(errors="replace").strip())
EOF
read -r rc mib msg <"$work/rss"
want="dnschaos: $work/big.jsonl:2: a line longer than 16 MiB"
if [ "${mib:-512}" -ge 512 ]; then
	bad "a 1 GiB line: the peak resident size was ${mib:-?} MiB (exit ${rc:-?}: ${msg:-})"
elif [ "${rc:-}" != 3 ] || [ "${msg#"$want"}" = "$msg" ]; then
	bad "a 1 GiB line: exit ${rc:-?}: ${msg:-no message}"
else
	ok "a 1 GiB line: refused at line 2 with a peak resident size of $mib MiB"
fi

[ "$failed" -eq 0 ] || {
	echo "$failed failed"
	exit 1
}
echo "all passed"
