# shellcheck shell=bash
# lib.sh - helpers the benchmark scripts share; sourced, not run.
# The caller defines a `noisy` flag (busy_report sets it).

# free_port [HOST]: a port free for both UDP and TCP on HOST (loopback,
# default 127.0.0.1) right now.
free_port() {
	python3 - "${1:-127.0.0.1}" <<'PY'
import socket, sys
host = sys.argv[1]
for _ in range(100):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((host, 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind((host, port))
    except OSError:
        continue
    finally:
        u.close()
        t.close()
    print(port)
    sys.exit(0)
sys.exit("no free loopback port found on " + host)
PY
}

# busy_report WHEN: names the processes (not ours) that used 10% of a CPU or
# more over the last second, and sets noisy=1. Other work on this shared
# machine takes CPU from the measured processes; a reader should discount
# such a run.
busy_report() {
	local busy
	busy=$(top -b -n 2 -d 1 -c -w 250 | awk -v me="$$" '
		/^top -/ { n++ }
		n == 2 && /^ *PID/ { h = 1; next }
		n == 2 && h && $9 + 0 >= 10 && $1 != me {
			printf "%4.0f%% PID %s ", $9, $1
			for (i = 12; i <= NF; i++) printf "%s ", $i
			print ""
		}' | cut -c1-140)
	[ -n "$busy" ] || return 0
	# shellcheck disable=SC2034 # the caller's flag
	noisy=1
	echo "   WARNING: other processes busy $1 (% of one CPU over 1 s); figures will be low and noisy:"
	while IFS= read -r line; do echo "     $line"; done <<<"$busy"
}

die() { echo "bench: $*" >&2; exit 2; }
now() { echo "$EPOCHREALTIME"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# first N: the first N lines of stdin, reading all of it (head would make the
# writer die of SIGPIPE, and pipefail the script).
first() { awk -v n="$1" 'NR <= n'; }
# proc_id PID: "start-time state" from /proc/PID/stat, empty if there is no
# such process; the start time tells a process from a later one with its PID.
proc_id() { awk '{ sub(/^.*\) /, ""); print $20, $1 }' "/proc/$1/stat" 2>/dev/null || true; }
# cpu_ticks PID: user + system CPU time of PID (all its threads), in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# machine_ticks: CPU time used on the whole machine so far (user, nice, system,
# irq, softirq of every CPU), in clock ticks.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
