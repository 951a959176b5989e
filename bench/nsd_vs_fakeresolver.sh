#!/usr/bin/env bash
# nsd_vs_fakeresolver.sh - serves the same zone and query file with fakeresolver
# and with NSD on loopback and compares them, in one run:
#   1. throughput: dnsperf rounds alternating between the two servers, the
#      server pinned to one CPU and dnsperf to the other; QPS, lost queries,
#      average latency per round, then the medians and the ratio;
#   2. latency at one query in flight: p50 and p99 from dnsperf -v;
#   3. a zone of 1,000,000 A records: load time and resident memory.
# Then it marks each target of the issue MET or NOT MET.
#
# Usage: bench/nsd_vs_fakeresolver.sh [--quick] [--rounds N] [--duration SEC]
#        [--records N] [--big-records N] [--no-big] [--keep] [--strict]
# Every setting can also come from the environment (see usage below).
# Needs: nsd, dnsperf, dig, taskset, python3, and fakeresolver built
# (cmake -S . -B build && cmake --build build -j2).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CLIENTS=${CLIENTS:-4}
RECORDS=${RECORDS:-100000}
QUERIES=${QUERIES:-100000}
BIG_RECORDS=${BIG_RECORDS:-1000000}
LAT_SECONDS=${LAT_SECONDS:-3}
LAT_QPS=${LAT_QPS:-1000}
LAT_ROUNDS=${LAT_ROUNDS:-3}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-180}
SEED=${SEED:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NSD_MINIMAL_RESPONSES=${NSD_MINIMAL_RESPONSES:-yes}
NICE=${NICE:--10}
FAKERESOLVER=${FAKERESOLVER:-$repo/build/fakeresolver/fakeresolver}
NSD=${NSD:-nsd}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}
BIG=${BIG:-1}
CAP=${CAP:-50}

ORIGIN=bench.test.
# Targets from the issue.
TARGET_QPS_RATIO=1.0
TARGET_LOAD_SECONDS=10

usage() {
	cat <<EOF
Usage: $0 [options]
  --quick           smoke run: 1 round of 2 s, 10,000 records, 100,000-record big zone
  --rounds N        dnsperf rounds per server (ROUNDS, default 3)
  --duration SEC    length of one round (DURATION, default 10)
  --records N       A records in the throughput zone (RECORDS, default 100000)
  --big-records N   A records in the load/memory zone (BIG_RECORDS, default 1000000)
  --no-big          skip the big-zone load and memory part (BIG=0)
  --cap PCT         part 1b: each server limited to PCT% of its CPU by a cgroup, so that
                    the server, not dnsperf, is the limit (CAP, default 50; 0: no part 1b)
  --keep            keep the scratch directory and print its path (KEEP=1)
  --strict          exit 1 if a target is NOT MET (STRICT=1)
Environment only: WARMUP (s, default 2), CLIENTS (dnsperf -c, default 4),
  QUERIES (query file lines, 100000), LAT_SECONDS (3), LAT_QPS (1000, 0 = unpaced),
  LAT_ROUNDS (latency runs per server, 3),
  LOAD_TIMEOUT (s, 180), SEED (1), SERVER_CPU (0), CLIENT_CPU (1),
  NSD_MINIMAL_RESPONSES (yes), FAKERESOLVER (binary), FAKERESOLVER_ARGS (more
  arguments for it, split on spaces), NSD (binary),
  NICE (niceness of the servers and dnsperf, -10; 0 to share the CPUs evenly).
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) ROUNDS=1 DURATION=2 WARMUP=0 RECORDS=10000 BIG_RECORDS=100000 LAT_SECONDS=1 LAT_ROUNDS=1 ;;
	--rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
	--duration) DURATION=${2:?--duration needs seconds}; shift ;;
	--records) RECORDS=${2:?--records needs a number}; shift ;;
	--big-records) BIG_RECORDS=${2:?--big-records needs a number}; shift ;;
	--no-big) BIG=0 ;;
	--cap) CAP=${2:?--cap needs a percentage}; shift ;;
	--keep) KEEP=1 ;;
	--strict) STRICT=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$0: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

for v in ROUNDS DURATION WARMUP CLIENTS RECORDS QUERIES BIG_RECORDS LAT_SECONDS LAT_QPS LAT_ROUNDS \
	LOAD_TIMEOUT SEED SERVER_CPU CLIENT_CPU CAP; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
if [ "$CAP" != 0 ] && { [ "$CAP" -lt 10 ] || [ "$CAP" -gt 95 ]; }; then
	die "CAP must be 0 (no part 1b) or from 10 to 95 (% of a CPU), not $CAP"
fi
[[ $NICE =~ ^-?[0-9]+$ ]] || die "NICE must be a whole number, not '$NICE'"
if [ "$NICE" -lt 0 ] && [ "$(id -u)" != 0 ]; then
	NICE=0 # only root may raise a priority
fi
if [ "$ROUNDS" -lt 1 ] || [ "$DURATION" -lt 1 ] || [ "$RECORDS" -lt 1 ]; then
	die "ROUNDS, DURATION and RECORDS must be at least 1"
fi
[ -x "$FAKERESOLVER" ] ||
	die "$FAKERESOLVER is not built: cd $repo && cmake -S . -B build && cmake --build build -j2"
for tool in "$NSD" dnsperf dig taskset python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install nsd dnsperf bind9-dnsutils util-linux python3)"
done
ncpu=$(nproc)
if [ "$SERVER_CPU" -ge "$ncpu" ] || [ "$CLIENT_CPU" -ge "$ncpu" ] || [ "$SERVER_CPU" = "$CLIENT_CPU" ]; then
	die "need two distinct CPUs for SERVER_CPU=$SERVER_CPU and CLIENT_CPU=$CLIENT_CPU (this machine has $ncpu)"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/nsd_vs_fakeresolver.XXXXXX")
# Server PIDs we started; cleanup stops each of them (and NSD's children).
pids=()
autogroup_saved= # the session's autogroup niceness to restore, if we changed it

descendants() { # descendants PID: every process below PID, one PID a line
	local kid
	for kid in $(pgrep -P "$1" || true); do
		echo "$kid"
		descendants "$kid"
	done
}

# Stops a server we started and everything below it (NSD forks a main process,
# which forks the server child): SIGTERM, a bounded wait, then SIGKILL.
stop_pid() {
	local pid=$1 kid id i procs=()
	for kid in $(descendants "$pid"); do procs+=("$kid:$(proc_id "$kid" | cut -d' ' -f1)"); done
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	# NSD's processes stop with it; one still here after 2 s more is killed.
	for kid in "${procs[@]}"; do
		for ((i = 0; i < 40; i++)); do
			id=$(proc_id "${kid%%:*}")
			if [ "${id% *}" != "${kid#*:}" ] || [ "${id#* }" = Z ]; then continue 2; fi
			sleep 0.05
		done
		kill -KILL "${kid%%:*}" 2>/dev/null || true
	done
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$?
	cap_release
	for pid in "${pids[@]}"; do stop_pid "$pid"; done
	if [ -n "$autogroup_saved" ]; then echo "$autogroup_saved" >"/proc/$$/autogroup" || true; fi
	if [ "$KEEP" = 1 ]; then
		echo "scratch directory kept: $scratch"
	else
		rm -rf "$scratch"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- CPU caps for part 1b ----
# Each server gets a cgroup of its own with the same CPU limit (CAP% of one
# CPU, in periods of a few milliseconds so that the queue a throttled pause
# builds stays far below the socket buffer), so that the server is the
# bottleneck instead of dnsperf. cgroup v2 (Debian 12's default: cpu.max) or
# v1's cpu hierarchy (cpu.cfs_quota_us); root only.
cg_kind='' cg_root='' cg_dirs=()
cap_setup() {
	if [ -w /sys/fs/cgroup/cgroup.subtree_control ] && grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		cg_kind=v2 cg_root=/sys/fs/cgroup
		grep -qw cpu "$cg_root/cgroup.subtree_control" ||
			echo +cpu 2>/dev/null >"$cg_root/cgroup.subtree_control" || cg_kind=''
	elif [ -w /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
		cg_kind=v1 cg_root=/sys/fs/cgroup/cpu
	fi
	[ -n "$cg_kind" ]
}
# cap_make NAME: makes the cgroup cap_dir, limited to CAP% of one CPU.
cap_make() {
	local period=2000 quota
	[ "$CAP" -lt 50 ] && period=$((100000 / CAP)) # the kernel's smallest quota is 1 ms
	quota=$((period * CAP / 100))
	cap_dir="$cg_root/dnschaos-bench.$$.$1"
	mkdir "$cap_dir" || return 1
	cg_dirs+=("$cap_dir")
	if [ "$cg_kind" = v2 ]; then
		echo "$quota $period" >"$cap_dir/cpu.max"
	else
		echo "$period" >"$cap_dir/cpu.cfs_period_us" && echo "$quota" >"$cap_dir/cpu.cfs_quota_us"
	fi
}
# cap_move DIR PID...: the processes, every thread, into DIR.
cap_move() {
	local dir=$1 p
	shift
	for p in "$@"; do echo "$p" >"$dir/cgroup.procs" || return 1; done
}
# cap_release: every process back to the root cgroup, our cgroups removed.
cap_release() {
	local dir p
	for dir in "${cg_dirs[@]}"; do
		[ -d "$dir" ] || continue
		while read -r p; do echo "$p" 2>/dev/null >"$cg_root/cgroup.procs" || true; done <"$dir/cgroup.procs"
		rmdir "$dir" 2>/dev/null || true
	done
	cg_dirs=()
}

# A shared machine: a negative niceness lets the servers and dnsperf take the
# CPUs from other work while they run, so that the figures are theirs. With
# autogroup scheduling (Debian's default) niceness only counts inside one
# session, and other sessions' work competes as a whole; so the niceness of
# this session's autogroup is raised too, and restored on exit.
if [ "$NICE" != 0 ] && [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] &&
	autogroup_saved=$(awk '{ print $NF }' "/proc/$$/autogroup" 2>/dev/null) &&
	echo "$NICE" 2>/dev/null >"/proc/$$/autogroup"; then
	:
else
	autogroup_saved=
fi

forget_pid() { # removes a stopped PID from pids
	local keep=() p
	for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	pids=("${keep[@]}")
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# Writes an NSD config that keeps every file NSD writes inside the scratch dir.
# nsd_conf FILE PORT ZONEFILE
nsd_conf() {
	cat >"$1" <<EOF
server:
	server-count: 1
	ip-address: 127.0.0.1@$2
	port: $2
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$scratch"
	database: ""
	zonelistfile: "$scratch/nsd.zone.list"
	xfrdfile: ""
	xfrdir: "$scratch"
	pidfile: "$scratch/nsd.$2.pid"
	logfile: "$scratch/nsd.$2.log"
	zonefiles-write: 0
	verbosity: 0
	# Debian's build rate-limits by default; that would throttle the benchmark.
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
	# yes: the same answer sections as fakeresolver (no NS and glue added to
	# every positive answer), so both servers send the same bytes.
	minimal-responses: $NSD_MINIMAL_RESPONSES
remote-control:
	control-enable: no
zone:
	name: "$ORIGIN"
	zonefile: "$3"
EOF
}

# soa_answered PORT: true if the server answers the zone's SOA over UDP now.
# (2024010101 is the serial gen_zone.py writes.)
soa_answered() {
	local a
	a=$(dig +short +time=1 +tries=1 +norec -p "$1" @127.0.0.1 "$ORIGIN" SOA 2>/dev/null || true)
	[[ $a == *" 2024010101 "* ]]
}

# start_nsd NAME PORT ZONEFILE: starts NSD in the foreground (-d) in the
# background of this script on SERVER_CPU; sets started_pid and started_at.
start_nsd() {
	local conf="$scratch/nsd.$1.conf"
	nsd_conf "$conf" "$2" "$3"
	nsd-checkconf "$conf" >/dev/null 2>&1 || { nsd-checkconf "$conf" >&2 || true; die "bad NSD config $conf"; }
	started_at=$(now)
	nice -n "$NICE" taskset -c "$SERVER_CPU" "$NSD" -d -c "$conf" >"$scratch/nsd.$1.out" 2>&1 &
	started_pid=$!
	pids+=("$started_pid")
}

# start_fakeresolver NAME PORT ZONEFILE: starts fakeresolver on SERVER_CPU;
# sets started_pid and started_at. Not --quiet: the "ready" line is the load time.
start_fakeresolver() {
	started_at=$(now)
	# shellcheck disable=SC2086 # FAKERESOLVER_ARGS is a list of words
	nice -n "$NICE" taskset -c "$SERVER_CPU" "$FAKERESOLVER" --listen "127.0.0.1:$2" --zone "$3" ${FAKERESOLVER_ARGS:-} \
		2>"$scratch/fakeresolver.$1.err" >/dev/null &
	started_pid=$!
	pids+=("$started_pid")
}

# wait_soa PID PORT LOGFILE: bounded wait until the server answers the SOA;
# prints the time it happened.
wait_soa() {
	local deadline
	deadline=$(($(date +%s) + LOAD_TIMEOUT))
	while ! soa_answered "$2"; do
		kill -0 "$1" 2>/dev/null || { cat "$3" >&2; die "server PID $1 exited before answering (log above)"; }
		[ "$(date +%s)" -lt "$deadline" ] || die "no SOA answer on port $2 within $LOAD_TIMEOUT s (LOAD_TIMEOUT)"
		sleep 0.02
	done
	now
}

# wait_ready PID ERRFILE: bounded wait for fakeresolver's "ready" line; prints when.
wait_ready() {
	local deadline
	deadline=$(($(date +%s) + LOAD_TIMEOUT))
	while ! grep -q '^fakeresolver: ready' "$2"; do
		kill -0 "$1" 2>/dev/null || { cat "$2" >&2; die "fakeresolver exited before it was ready (log above)"; }
		[ "$(date +%s)" -lt "$deadline" ] || die "fakeresolver not ready within $LOAD_TIMEOUT s (LOAD_TIMEOUT)"
		sleep 0.01
	done
	now
}

# kib FIELD PID: a "Field:   N kB" line of /proc/PID/status or smaps_rollup.
kib() {
	local file=/proc/$2/status
	[ "$1" = Pss ] && file=/proc/$2/smaps_rollup
	[ -r "$file" ] || { echo 0; return; }
	awk -v f="$1:" '$1 == f { n = $2 } END { print n + 0 }' "$file"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# run_dnsperf PORT SECONDS OUT: the throughput load, dnsperf on CLIENT_CPU.
run_dnsperf() {
	timeout $(($2 + 60)) nice -n "$NICE" taskset -c "$CLIENT_CPU" \
		dnsperf -c "$CLIENTS" -l "$2" -s 127.0.0.1 -p "$1" -d "$queries" >"$3" 2>&1 ||
		{ cat "$3" >&2; die "dnsperf failed against port $1"; }
}

# parse_dnsperf OUT: prints "sent completed lost qps avg_latency_us response_bytes".
parse_dnsperf() {
	awk '
		/Queries sent:/ { sent = $3 }
		/Queries completed:/ { done = $3 }
		/Queries lost:/ { lost = $3 }
		/Queries per second:/ { qps = $4 }
		/Average Latency \(s\):/ { lat = $4 * 1e6 }
		/Average packet size:/ { resp = $NF }
		END {
			if (sent == "" || qps == "") exit 1
			printf "%d %d %d %.0f %.0f %s\n", sent, done, lost, qps, lat, resp
		}' "$1" || { cat "$1" >&2; die "cannot read dnsperf output $1"; }
}

# tree_ticks PID: user + system CPU time of PID and all below it (NSD's
# processes), in clock ticks.
tree_ticks() {
	local pid total=0
	for pid in "$1" $(descendants "$1"); do total=$((total + $(cpu_ticks "$pid"))); done
	echo "$total"
}
clk_tck=$(getconf CLK_TCK)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'; }

alive() { # alive PID NAME LOG: fails the run if a server died under load
	kill -0 "$1" 2>/dev/null || { cat "$3" >&2; die "$2 (PID $1) died during the benchmark (log above)"; }
}

noisy=0

# ---- setup ----

echo "== nsd_vs_fakeresolver: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n), $ncpu CPUs"
echo "   fakeresolver: $FAKERESOLVER ($("$FAKERESOLVER" --version 2>&1 | head -1)), built $(date -u -r "$FAKERESOLVER" '+%Y-%m-%d %H:%M UTC')"
if head=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null); then
	dirty=$(git -C "$repo" status --porcelain -- fakeresolver | wc -l)
	echo "   source: commit $head$([ "$dirty" = 0 ] || echo ", $dirty uncommitted change(s) under fakeresolver/")"
fi
echo "   NSD: $("$NSD" -v 2>&1 | head -1), server-count 1, rrl-ratelimit 0, minimal-responses $NSD_MINIMAL_RESPONSES"
echo "   dnsperf: $(dnsperf -h 2>&1 | awk '/^Version/ { print $2; exit }'), -c $CLIENTS, $ROUNDS x ${DURATION} s per server, warm-up ${WARMUP} s"
echo "   pinning: servers on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU (taskset), both at nice $NICE$([ -z "$autogroup_saved" ] || echo ", session autogroup at nice $NICE")"
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
busy_report "at the start"
echo "   scratch: $scratch"

zone="$scratch/bench.zone"
queries="$scratch/queries.txt"
python3 "$here/gen_zone.py" --records "$RECORDS" --seed "$SEED" --origin "$ORIGIN" \
	--zone "$zone" --queries "$queries" --query-count "$QUERIES" --stats 2>"$scratch/gen.err" ||
	{ cat "$scratch/gen.err" >&2; die "gen_zone.py failed"; }
echo "   zone: $RECORDS A records + apex SOA/NS/MX/TXT + CNAMEs; $(sed 's/^gen_zone: //' "$scratch/gen.err")"

# Both servers run for the whole throughput and latency part, each on its own
# port and both pinned to SERVER_CPU, and only one is driven at a time. The idle
# one sleeps in epoll and takes no CPU, and keeping both up means every round
# measures the same warm processes (no start-up or page-fault cost inside a
# round); alternating the order each round (A B, B A, ...) cancels slow drift
# of the shared machine. The big-zone part starts each server alone.
nsd_port=$(free_port 127.0.0.1)
start_nsd small "$nsd_port" "$zone"
nsd_pid=$started_pid
wait_soa "$nsd_pid" "$nsd_port" "$scratch/nsd.small.out" >/dev/null
fr_port=$(free_port 127.0.0.1)
start_fakeresolver small "$fr_port" "$zone"
fr_pid=$started_pid
wait_ready "$fr_pid" "$scratch/fakeresolver.small.err" >/dev/null
soa_answered "$fr_port" || die "fakeresolver is ready but does not answer the SOA on port $fr_port"

# The two must give the same answers, or the comparison means nothing.
answer() { # answer PORT "NAME TYPE": status line and records, sorted, without the ID
	# shellcheck disable=SC2086 # $2 is "name type"
	dig +norec +noedns +time=2 +tries=1 -p "$1" @127.0.0.1 $2 |
		grep -E 'status:|^[^;]' | sed 's/id: [0-9]*//' | sort
}
for q in "h1.$ORIGIN A" "h1.$ORIGIN AAAA" "nx1.$ORIGIN A" "www.$ORIGIN A" "$ORIGIN MX"; do
	a=$(answer "$nsd_port" "$q")
	b=$(answer "$fr_port" "$q")
	if [ "$a" != "$b" ]; then
		echo "   note: answers differ for '$q' (NSD vs fakeresolver):"
		diff <(echo "$a") <(echo "$b") | sed 's/^/     /' || true
	fi
done

names=(NSD fakeresolver)
ports=("$nsd_port" "$fr_port")
spids=("$nsd_pid" "$fr_pid")
slogs=("$scratch/nsd.small.out" "$scratch/fakeresolver.small.err")

if [ "$WARMUP" -gt 0 ]; then
	for s in 0 1; do run_dnsperf "${ports[$s]}" "$WARMUP" "$scratch/warmup.$s.out"; done
fi

# ---- 1. throughput rounds ----

# throughput_rounds PART: the alternating rounds, their table and summary;
# sets med_0/med_1 (median QPS of NSD/fakeresolver), qps_ratio, lost_*, sent_*,
# cpu_med_* and cpq_med_*.
throughput_rounds() {
	local part=$1 r s out c0 c1 t0 t1 sent completed lost qps lat resp cpu_pct cpu_us
	# "server CPU" is the CPU time the server (all its processes) used during the
	# round, in % of one CPU; near 100% (or near the cap) the server is the
	# bottleneck, well below it dnsperf (or another process on the machine) is.
	# "CPU/query" is that time per answered query: the server's cost, which
	# noise affects less than QPS.
	printf '%-6s %-13s %10s %10s %7s %9s %9s %7s %7s %10s\n' round server sent completed lost QPS "avg lat" "resp B" \
		"srv CPU" "CPU/query"
	cpu_0=() cpu_1=() cpq_0=() cpq_1=()
	qps_0=() qps_1=() lost_0=0 lost_1=0 sent_0=0 sent_1=0
	for ((r = 1; r <= ROUNDS; r++)); do
		order=(0 1)
		[ $((r % 2)) -eq 0 ] && order=(1 0)
		declare -A round_qps=()
		for s in "${order[@]}"; do
			out="$scratch/round.$part.$r.${names[$s]}.out"
			c0=$(tree_ticks "${spids[$s]}") t0=$(now)
			run_dnsperf "${ports[$s]}" "$DURATION" "$out"
			c1=$(tree_ticks "${spids[$s]}") t1=$(now)
			alive "${spids[$s]}" "${names[$s]}" "${slogs[$s]}"
			read -r sent completed lost qps lat resp <<<"$(parse_dnsperf "$out")"
			read -r cpu_pct cpu_us <<<"$(awk -v c="$((c1 - c0))" -v hz="$clk_tck" -v t="$(elapsed "$t0" "$t1")" \
				-v n="$completed" 'BEGIN { printf "%.0f %.2f\n", 100 * c / hz / t, n ? 1e6 * c / hz / n : 0 }')"
			printf '%-6s %-13s %10d %10d %7d %9d %6d us %7s %6d%% %7.2f us\n' "$r" "${names[$s]}" "$sent" \
				"$completed" "$lost" "$qps" "$lat" "$resp" "$cpu_pct" "$cpu_us"
			round_qps[$s]=$qps
			if [ "$s" = 0 ]; then
				qps_0+=("$qps") lost_0=$((lost_0 + lost)) sent_0=$((sent_0 + sent))
				cpu_0+=("$cpu_pct") cpq_0+=("$cpu_us")
			else
				qps_1+=("$qps") lost_1=$((lost_1 + lost)) sent_1=$((sent_1 + sent))
				cpu_1+=("$cpu_pct") cpq_1+=("$cpu_us")
			fi
		done
		printf '%-6s %-13s %s\n' "" "ratio" "fakeresolver/NSD = $(ratio "${round_qps[1]}" "${round_qps[0]}")x"
		unset round_qps
	done
	med_0=$(median "${qps_0[@]}")
	med_1=$(median "${qps_1[@]}")
	qps_ratio=$(ratio "$med_1" "$med_0")
	echo
	echo "summary over $ROUNDS round(s):"
	cpq_med_0=$(median "${cpq_0[@]}") cpq_med_1=$(median "${cpq_1[@]}")
	cpu_med_0=$(median "${cpu_0[@]}") cpu_med_1=$(median "${cpu_1[@]}")
	printf '  %-13s median QPS %9.0f  (rounds: %s)  lost %d of %d sent  srv CPU %s%%  CPU/query %s us\n' \
		NSD "$med_0" "${qps_0[*]}" "$lost_0" "$sent_0" "$cpu_med_0" "$cpq_med_0"
	printf '  %-13s median QPS %9.0f  (rounds: %s)  lost %d of %d sent  srv CPU %s%%  CPU/query %s us\n' \
		fakeresolver "$med_1" "${qps_1[*]}" "$lost_1" "$sent_1" "$cpu_med_1" "$cpq_med_1"
	echo "  ratio fakeresolver/NSD (medians): QPS ${qps_ratio}x, CPU per query $(ratio "$cpq_med_1" "$cpq_med_0")x"
}

echo
echo "== 1. throughput: dnsperf -c $CLIENTS -l $DURATION, $QUERIES-line query file, alternating"
throughput_rounds uncapped
saturated=$(awk -v a="$cpu_med_0" -v b="$cpu_med_1" 'BEGIN { print (a >= 90 && b >= 90) ? 1 : 0 }')
if [ "$saturated" = 0 ]; then
	echo "  note: a server used under 90% of its CPU: it waited for queries, so these QPS are the"
	echo "  load dnsperf could offer (its ceiling, or less when other work takes CPU 1), not the"
	echo "  server's limit; CPU/query is the server's own cost, and part 1b the server-bound comparison."
fi
u_med_0=$med_0 u_med_1=$med_1 u_ratio=$qps_ratio u_lost_0=$lost_0 u_lost_1=$lost_1 u_sent_1=$sent_1
u_cpu_0=$cpu_med_0 u_cpu_1=$cpu_med_1 u_cpq_0=$cpq_med_0 u_cpq_1=$cpq_med_1

capped=0
if [ "$CAP" != 0 ]; then
	echo
	if ! cap_setup; then
		echo "== 1b. skipped: no cgroup CPU controller this script may use (root, and cgroup v2 with the cpu"
		echo "   controller or v1's cpu hierarchy, are needed); CAP=0 skips it silently"
	else
		echo "== 1b. server-bound throughput: each server in a cgroup of its own limited to $CAP% of CPU $SERVER_CPU"
		echo "   (cgroup $cg_kind), so that the server is the limit and not dnsperf; otherwise as part 1"
		mapfile -t nsd_procs < <(descendants "$nsd_pid")
		if ! { cap_make nsd && cap_move "$cap_dir" "$nsd_pid" "${nsd_procs[@]}" &&
			cap_make fakeresolver && cap_move "$cap_dir" "$fr_pid"; }; then
			die "cannot move the servers into their cgroups under $cg_root"
		fi
		throughput_rounds capped
		cap_release
		capped=1
		c_med_0=$med_0 c_med_1=$med_1 c_ratio=$qps_ratio c_lost_0=$lost_0 c_lost_1=$lost_1 c_sent_1=$sent_1
	fi
fi

# ---- 2. latency at one query in flight ----

# dnsperf has no percentiles; -v prints one line per query:
#   "> NOERROR h5.bench.test. A 0.000048"  (rcode, query, latency in seconds)
#   "> T h5.bench.test. A"                 (timed out: no latency)
# With "-q 1" alone this dnsperf sends only some 20-150 queries/s: its sender
# re-checks the in-flight count before the receiver thread has counted the
# answer, then sleeps until the receiver's next 100 ms poll timeout. -Q paces
# the sender (LAT_QPS per second, 0 = unpaced) so that it mostly finds the
# previous answer counted; still one query in flight. The race can still
# strike once the sender falls behind its pace, so the sample count varies:
# LAT_ROUNDS alternating runs per server are pooled, and the count is printed.
echo
pace=()
[ "$LAT_QPS" -gt 0 ] && pace=(-Q "$LAT_QPS")
echo "== 2. latency: dnsperf -v -c 1 -q 1 ${pace[*]} -l $LAT_SECONDS, $LAT_ROUNDS alternating run(s) per server pooled (one query in flight)"
printf '%-13s %8s %8s %8s %8s %8s\n' server samples p50 p90 p99 lost
for ((r = 1; r <= LAT_ROUNDS; r++)); do
	order=(0 1)
	[ $((r % 2)) -eq 0 ] && order=(1 0)
	for s in "${order[@]}"; do
		out="$scratch/latency.$r.${names[$s]}.out"
		timeout $((LAT_SECONDS + 60)) nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf -v -c 1 -q 1 "${pace[@]}" \
			-l "$LAT_SECONDS" -s 127.0.0.1 -p "${ports[$s]}" -d "$queries" >"$out" 2>&1 ||
			{ cat "$out" >&2; die "dnsperf -v failed against ${names[$s]}"; }
		alive "${spids[$s]}" "${names[$s]}" "${slogs[$s]}"
	done
done
declare -A p50=() p99=()
for s in 0 1; do
	files=("$scratch"/latency.*."${names[$s]}".out)
	ltimeouts=$(cat "${files[@]}" | grep -c '^> T ' || true)
	read -r n lp50 lp90 lp99 <<<"$(awk '/^> [A-Z]+ / && $2 != "T" { print $NF * 1e6 }' "${files[@]}" |
		sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print 0, 0, 0, 0; exit }
			printf "%d %.0f %.0f %.0f\n", NR, v[int(NR * 0.50 + 0.999999)],
				v[int(NR * 0.90 + 0.999999)], v[int(NR * 0.99 + 0.999999)]
		}')"
	[ "$n" -gt 0 ] || { cat "${files[@]}" >&2; die "no latency samples from ${names[$s]}"; }
	printf '%-13s %8d %5d us %5d us %5d us %8d\n' "${names[$s]}" "$n" "$lp50" "$lp90" "$lp99" "$ltimeouts"
	p50[$s]=$lp50 p99[$s]=$lp99
done
echo "  ratio fakeresolver/NSD: p50 $(ratio "${p50[1]}" "${p50[0]}")x, p99 $(ratio "${p99[1]}" "${p99[0]}")x"

stop_pid "$fr_pid"; forget_pid "$fr_pid"
stop_pid "$nsd_pid"; forget_pid "$nsd_pid"

# ---- 3. big zone: load time and memory ----

big_done=0
if [ "$BIG" = 1 ]; then
	echo
	echo "== 3. big zone: $BIG_RECORDS A records, each server started alone on CPU $SERVER_CPU"
	big="$scratch/big.zone"
	t0=$(now)
	python3 "$here/gen_zone.py" --records "$BIG_RECORDS" --seed "$SEED" --origin "$ORIGIN" --zone "$big" ||
		die "gen_zone.py failed for the big zone"
	echo "  generated $(wc -l <"$big") lines, $(($(stat -c %s "$big") / 1024 / 1024)) MiB in $(elapsed "$t0" "$(now)") s"
	# Read the file once so that neither server pays for the first disk read.
	cat "$big" >/dev/null

	port=$(free_port 127.0.0.1)
	start_fakeresolver big "$port" "$big"
	t_ready=$(wait_ready "$started_pid" "$scratch/fakeresolver.big.err")
	t_soa=$(wait_soa "$started_pid" "$port" "$scratch/fakeresolver.big.err")
	fr_load=$(elapsed "$started_at" "$t_ready")
	fr_load_soa=$(elapsed "$started_at" "$t_soa")
	sleep 1
	fr_rss=$(kib VmRSS "$started_pid")
	fr_pss=$(kib Pss "$started_pid")
	fr_hwm=$(kib VmHWM "$started_pid")
	echo "  fakeresolver: 'ready' after $fr_load s, first SOA answer after $fr_load_soa s"
	echo "                $(grep -m1 'fakeresolver: zone' "$scratch/fakeresolver.big.err" | sed 's/^fakeresolver: //')"
	echo "                VmRSS $(mib "$fr_rss") MiB (Pss $(mib "$fr_pss") MiB, peak VmHWM $(mib "$fr_hwm") MiB during the load)"
	stop_pid "$started_pid"; forget_pid "$started_pid"

	port=$(free_port 127.0.0.1)
	start_nsd big "$port" "$big"
	nsd_big_pid=$started_pid
	t_soa=$(wait_soa "$nsd_big_pid" "$port" "$scratch/nsd.big.out")
	nsd_load=$(elapsed "$started_at" "$t_soa")
	sleep 1
	echo "  NSD: first SOA answer after $nsd_load s"
	nsd_rss_sum=0 nsd_pss_sum=0 nsd_rss_max=0 nsd_rss_max_who=
	for pid in "$nsd_big_pid" $(descendants "$nsd_big_pid"); do
		# NSD renames its processes: the one started becomes "nsd: xfrd";
		# its child "nsd: main" loads the zones and forks "nsd: server 1",
		# which answers, sharing the zone data with main copy-on-write.
		who=$(cat "/proc/$pid/comm" 2>/dev/null || echo '?')
		case "$who" in
		*xfrd*) role="$who (zone transfers)" ;;
		*main*) role="$who (loaded the zone)" ;;
		*server*) role="$who (answers queries)" ;;
		*) role="$who" ;;
		esac
		rss=$(kib VmRSS "$pid") pss=$(kib Pss "$pid")
		printf '       PID %-7s %-34s VmRSS %7s MiB  Pss %7s MiB\n' "$pid" "$role" "$(mib "$rss")" "$(mib "$pss")"
		nsd_rss_sum=$((nsd_rss_sum + rss)) nsd_pss_sum=$((nsd_pss_sum + pss))
		if [ "$rss" -gt "$nsd_rss_max" ]; then nsd_rss_max=$rss nsd_rss_max_who=$role; fi
	done
	echo "       sum of VmRSS $(mib "$nsd_rss_sum") MiB (counts pages the processes share once per process),"
	echo "       sum of Pss $(mib "$nsd_pss_sum") MiB (each shared page counted once: NSD's real footprint),"
	echo "       largest single VmRSS $(mib "$nsd_rss_max") MiB: ${nsd_rss_max_who}"
	stop_pid "$nsd_big_pid"; forget_pid "$nsd_big_pid"
	echo "  ratios fakeresolver/NSD: load $(ratio "$fr_load_soa" "$nsd_load")x (first SOA answer each),"\
		"memory $(ratio "$fr_rss" "$nsd_pss_sum")x of NSD's Pss sum, $(ratio "$fr_rss" "$nsd_rss_sum")x of its VmRSS sum,"\
		"$(ratio "$fr_rss" "$nsd_rss_max")x of its largest process"
	big_done=1
fi

# ---- targets ----

met=0 total=0
verdict() { # verdict TEXT OBSERVED CONDITION(awk expression that is true when met)
	local ok
	ok=$(awk "BEGIN { print ($3) ? 1 : 0 }")
	total=$((total + 1))
	if [ "$ok" = 1 ]; then met=$((met + 1)); ok=MET; else ok="NOT MET"; fi
	printf '  %-38s %-62s %s\n' "$1" "$2" "$ok"
}
echo
echo "== targets (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
busy_report "at the end"
verdict "QPS >= ${TARGET_QPS_RATIO}x NSD (medians, part 1)" \
	"$(printf '%.0f vs NSD %.0f = %sx (bound %sx)' "$u_med_1" "$u_med_0" "$u_ratio" "$TARGET_QPS_RATIO")" \
	"$u_med_1 >= $TARGET_QPS_RATIO * $u_med_0"
verdict "zero lost queries (fakeresolver, 1)" \
	"$u_lost_1 lost of $u_sent_1 sent (bound 0; NSD lost $u_lost_0)" "$u_lost_1 == 0"
if [ "$capped" = 1 ]; then
	verdict "QPS >= ${TARGET_QPS_RATIO}x NSD (capped $CAP%, part 1b)" \
		"$(printf '%.0f vs NSD %.0f = %sx (bound %sx)' "$c_med_1" "$c_med_0" "$c_ratio" "$TARGET_QPS_RATIO")" \
		"$c_med_1 >= $TARGET_QPS_RATIO * $c_med_0"
	verdict "zero lost queries (fakeresolver, 1b)" \
		"$c_lost_1 lost of $c_sent_1 sent (bound 0; NSD lost $c_lost_0)" "$c_lost_1 == 0"
fi
verdict "p50 latency <= NSD" \
	"${p50[1]} us vs NSD ${p50[0]} us (bound ${p50[0]} us)" "${p50[1]} <= ${p50[0]}"
if [ "$big_done" = 1 ]; then
	verdict "load $BIG_RECORDS records < ${TARGET_LOAD_SECONDS} s" \
		"$fr_load s to 'ready' (bound ${TARGET_LOAD_SECONDS} s; NSD $nsd_load s)" "$fr_load < $TARGET_LOAD_SECONDS"
	verdict "RSS <= NSD ($BIG_RECORDS records)" \
		"$(mib "$fr_rss") MiB vs NSD $(mib "$nsd_pss_sum") MiB Pss sum (bound; RSS sum $(mib "$nsd_rss_sum"))" \
		"$fr_rss <= $nsd_pss_sum"
fi
echo "  $met of $total targets met"
if [ "$saturated" = 0 ]; then
	echo "  (QPS in part 1: a server was not saturated, srv CPU NSD ${u_cpu_0}% / fakeresolver ${u_cpu_1}%;"
	echo "  CPU per query fakeresolver $u_cpq_1 us vs NSD $u_cpq_0 us = $(ratio "$u_cpq_1" "$u_cpq_0")x)"
fi
if [ "$noisy" = 1 ]; then
	echo "  (other processes competed for the CPUs during this run: see the warnings above)"
fi
[ "$STRICT" = 1 ] && [ "$met" -lt "$total" ] && exit 1
exit 0
