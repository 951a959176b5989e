#!/usr/bin/env bash
# vip_vs_dnsdist.sh - the VIP of `dnschaos run` next to dnsdist, Debian's DNS
# load balancer, in front of the same two fake resolvers, in one run:
#   1. throughput: dnsperf rounds rotating between the VIP (policy "query",
#      round robin per query as dnsdist does), the VIP with policy "flow",
#      dnsdist (round robin, no packet cache) and, for reference, one
#      backend directly; QPS, lost queries, and the CPU each side used;
#   2. latency at one query in flight: p50/p90/p99 direct to a backend and
#      through each balancer, and what each balancer adds at p50.
# Then it marks the issue's targets MET or NOT MET: the VIP at least 1.5x
# dnsdist's QPS, and its added p50 no more than dnsdist's.
#
# Two layouts (--layout). farm (the default, how the VIP is used): one
# `dnschaos run` holds two farm resolvers and the VIPs in front of them (one
# of them over loopback UDP, "vip-lo", for comparison), and dnsdist is put in
# front of the same two farm resolvers; the service (dnschaos, and dnsdist
# when it is measured) has one CPU, dnsperf the other. standalone: the VIP
# alone in a `dnschaos run`, in front of two fakeresolver daemons, exactly as
# dnsdist is; the balancer has one CPU, the backends and dnsperf the other.
#
# Usage: bench/vip_vs_dnsdist.sh [--quick] [--layout farm|standalone] [--rounds N]
#        [--duration SEC] [--records N] [--no-flow] [--profile] [--keep] [--strict]
# Every setting can also come from the environment (see --help).
# Needs: dnsdist, dnsperf, dig, taskset, python3 (perf for --profile), and the build:
#   cmake -S . -B build-bench2 -DDNSCHAOS_WERROR=ON && cmake --build build-bench2 -j2
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
LAT_SECONDS=${LAT_SECONDS:-3}
LAT_QPS=${LAT_QPS:-1000}
LAT_ROUNDS=${LAT_ROUNDS:-3}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-60}
SEED=${SEED:-1}
LB_CPU=${LB_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NICE=${NICE:--10}
VIP_ADDR=${VIP_ADDR:-127.0.0.53}
DNSDIST_ADDR=${DNSDIST_ADDR:-127.0.0.54}
BUILD=${BUILD:-$repo/build-bench2}
FAKERESOLVER=${FAKERESOLVER:-$BUILD/fakeresolver/fakeresolver}
DNSCHAOS=${DNSCHAOS:-$BUILD/harness/dnschaos}
DNSDIST=${DNSDIST:-dnsdist}
FLOW=${FLOW:-1}
LAYOUT=${LAYOUT:-farm}
BE_ADDR1=${BE_ADDR1:-127.0.0.61}
BE_ADDR2=${BE_ADDR2:-127.0.0.62}
OTHER_WARN=${OTHER_WARN:-15}
PROFILE=${PROFILE:-0}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}

ORIGIN=bench.test.
SCENARIO_STANDALONE=$here/scenarios/vip_bench.lua
SCENARIO_FARM=$here/scenarios/vip_farm_bench.lua
# Targets from the issue.
TARGET_QPS_RATIO=1.5

usage() {
	cat <<EOF
Usage: $0 [options]
  --quick           smoke run: 1 round of 2 s, 10,000 records, no warm-up, 1 latency run
  --layout L        farm: the VIPs and both backends in one dnschaos run, dnsdist in front
                    of the same farm resolvers (LAYOUT, default); standalone: the VIP alone,
                    in front of two fakeresolver daemons, as dnsdist is
  --rounds N        dnsperf rounds; each drives every target once (ROUNDS, default 3)
  --duration SEC    length of one round (DURATION, default 10)
  --records N       A records in the zone (RECORDS, default 100000)
  --no-flow         leave out the VIP with policy "flow" (FLOW=0)
  --profile         then one more VIP round under perf record -e task-clock -g,
                    and the top of perf report (PROFILE=1)
  --keep            keep the scratch directory and print its path (KEEP=1)
  --strict          exit 1 if a target is NOT MET (STRICT=1)
Environment only: WARMUP (s of untimed load per target before the rounds, 2),
  CLIENTS (dnsperf -c, 4), QUERIES (query file lines, 100000),
  LAT_SECONDS (3), LAT_QPS (1000, 0 = unpaced), LAT_ROUNDS (latency runs per target, 3),
  LOAD_TIMEOUT (s, 60), SEED (1), LB_CPU (the balancer's CPU, and in the farm layout
  the backends', 0), CLIENT_CPU (dnsperf's, and in the standalone layout the
  backends', 1), VIP_ADDR (127.0.0.53), DNSDIST_ADDR (127.0.0.54), BE_ADDR1, BE_ADDR2
  (the farm resolvers, 127.0.0.61, 127.0.0.62), NICE (-10; 0 to share the CPUs evenly),
  OTHER_WARN (% of a CPU used by other work in a round that marks the run disturbed, 15),
  BUILD (build directory, $repo/build-bench2), FAKERESOLVER, DNSCHAOS, DNSDIST (binaries).
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) ROUNDS=1 DURATION=2 WARMUP=0 RECORDS=10000 LAT_SECONDS=1 LAT_ROUNDS=1 ;;
	--rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
	--duration) DURATION=${2:?--duration needs seconds}; shift ;;
	--records) RECORDS=${2:?--records needs a number}; shift ;;
	--layout) LAYOUT=${2:?--layout needs farm or standalone}; shift ;;
	--no-flow) FLOW=0 ;;
	--profile) PROFILE=1 ;;
	--keep) KEEP=1 ;;
	--strict) STRICT=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$0: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

for v in ROUNDS DURATION WARMUP CLIENTS RECORDS QUERIES LAT_SECONDS LAT_QPS LAT_ROUNDS LOAD_TIMEOUT SEED \
	LB_CPU CLIENT_CPU OTHER_WARN; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[[ $NICE =~ ^-?[0-9]+$ ]] || die "NICE must be a whole number, not '$NICE'"
if [ "$NICE" -lt 0 ] && [ "$(id -u)" != 0 ]; then
	NICE=0 # only root may raise a priority
fi
if [ "$ROUNDS" -lt 1 ] || [ "$DURATION" -lt 1 ] || [ "$RECORDS" -lt 1 ] || [ "$LAT_ROUNDS" -lt 1 ] ||
	[ "$LAT_SECONDS" -lt 1 ]; then
	die "ROUNDS, DURATION, RECORDS, LAT_ROUNDS and LAT_SECONDS must be at least 1"
fi
case "$LAYOUT" in
farm) SCENARIO=$SCENARIO_FARM ;;
standalone) SCENARIO=$SCENARIO_STANDALONE ;;
*) die "--layout must be farm or standalone, not '$LAYOUT'" ;;
esac
for a in VIP_ADDR DNSDIST_ADDR BE_ADDR1 BE_ADDR2; do
	[[ ${!a} =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$a must be in 127.0.0.0/8, not '${!a}'"
done
[ "$VIP_ADDR" != "$DNSDIST_ADDR" ] || die "VIP_ADDR and DNSDIST_ADDR must differ"
[ "$LAYOUT" = standalone ] || [ "$BE_ADDR1" != "$BE_ADDR2" ] || die "BE_ADDR1 and BE_ADDR2 must differ"
for b in "$FAKERESOLVER" "$DNSCHAOS"; do
	[ -x "$b" ] || die "$b is not built: cd $repo && cmake -S . -B build-bench2 -DDNSCHAOS_WERROR=ON" \
		"&& cmake --build build-bench2 -j2 (or set BUILD=dir)"
done
[ -r "$SCENARIO" ] || die "$SCENARIO is missing"
command -v "$DNSDIST" >/dev/null || die "$DNSDIST is not installed (apt-get install dnsdist)"
tools=(dnsperf dig taskset python3 top)
[ "$PROFILE" = 1 ] && tools+=(perf)
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null ||
		die "$tool is not installed (apt-get install dnsperf bind9-dnsutils util-linux python3 procps linux-perf)"
done
ncpu=$(nproc)
if [ "$LB_CPU" -ge "$ncpu" ] || [ "$CLIENT_CPU" -ge "$ncpu" ] || [ "$LB_CPU" = "$CLIENT_CPU" ]; then
	die "need two distinct CPUs for LB_CPU=$LB_CPU and CLIENT_CPU=$CLIENT_CPU (this machine has $ncpu)"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/vip_vs_dnsdist.XXXXXX")
pids=()             # processes we started and have not stopped yet
autogroup_saved=    # the session's autogroup niceness to restore, if we changed it

# stop_pid PID [SIGNAL]: the signal (TERM), a bounded wait, then SIGKILL; sets
# stopped_rc to the exit status. dnschaos exits 2 after SIGINT or SIGTERM.
stop_pid() {
	local pid=$1 sig=${2:-TERM} i keep=() p
	stopped_rc=
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(proc_id "$pid" | cut -d' ' -f2)" = Z ] && break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	stopped_rc=0
	wait "$pid" 2>/dev/null || stopped_rc=$?
	for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
	pids=("${keep[@]}")
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$? pid
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
# set -e stops on an unexpected failure; say where, rather than stop silently.
trap 'echo "bench: unexpected failure (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

# A shared machine: a negative niceness lets the servers and dnsperf take the
# CPUs from other work while they run. With autogroup scheduling (Debian's
# default) niceness only counts inside one session, so the niceness of this
# session's autogroup is raised too, and restored on exit.
if [ "$NICE" != 0 ] && [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] &&
	autogroup_saved=$(awk '{ print $NF }' "/proc/$$/autogroup" 2>/dev/null) &&
	echo "$NICE" 2>/dev/null >"/proc/$$/autogroup"; then
	:
else
	autogroup_saved=
fi

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'; }

# cpu_split PID: "user system" CPU time of PID (all its threads), in clock ticks.
cpu_split() { awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat" 2>/dev/null || echo 0 0; }
clk_tck=$(getconf CLK_TCK)
# cpu_pct TICKS SECONDS: TICKS in % of one CPU over SECONDS.
cpu_pct() { awk -v c="$1" -v hz="$clk_tck" -v t="$2" 'BEGIN { printf "%.0f", (t > 0) ? 100 * c / hz / t : 0 }'; }
# cpu_stat N: "busy total" ticks of CPU N so far, from /proc/stat (busy: user,
# nice, system, irq, softirq, steal; total adds idle and iowait).
cpu_stat() {
	awk -v c="cpu$1" '$1 == c { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat
}
# proc_snapshot: "pid ticks name" of every process now (user + system, all threads).
proc_snapshot() {
	# cat fails when a process exits between the glob and the read: not an error.
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{
		name = $0; sub(/^[^(]*\(/, "", name); sub(/\) [^)]*$/, "", name); gsub(/ /, "_", name)
		rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
		print $1, f[12] + f[13], name
	}'
}

# top_others BEFORE AFTER SECONDS PID...: the processes, other than the PIDs
# given, that used 3% of a CPU or more between two snapshots, busiest first.
top_others() {
	awk -v t="$3" -v hz="$clk_tck" -v ours=" ${*:4} " '
		FNR == NR { before[$1] = $2; next }
		index(ours, " " $1 " ") == 0 {
			pct = 100 * ($2 - before[$1]) / hz / t
			if (pct >= 3) printf "%.0f%% PID %s (%s)\n", pct, $1, $3
		}' "$1" "$2" | sort -rn | first 4 | paste -sd, - | sed 's/,/, /g'
}

# machine_busy: busy ticks of all CPUs so far (the "cpu" line of /proc/stat).
machine_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
busy_pct() { awk -v b="$1" -v t="$2" 'BEGIN { printf "%.0f", (t > 0) ? 100 * b / t : 0 }'; }

# wait_line PID FILE REGEX WHAT: bounded wait until FILE has a line matching REGEX.
wait_line() {
	local deadline
	deadline=$(($(date +%s) + LOAD_TIMEOUT))
	while ! grep -qE "$3" "$2" 2>/dev/null; do
		kill -0 "$1" 2>/dev/null || { cat "$2" "$2.err" >&2 2>/dev/null; die "$4 (PID $1) exited before it was ready (log above)"; }
		[ "$(date +%s)" -lt "$deadline" ] || die "$4 not ready within $LOAD_TIMEOUT s (LOAD_TIMEOUT)"
		sleep 0.01
	done
}

# answers HOST PORT: true if the zone's SOA is answered there now (serial from gen_zone.py).
answers() {
	local a
	a=$(dig +short +time=1 +tries=1 +norec -p "$2" "@$1" "$ORIGIN" SOA 2>/dev/null || true)
	[[ $a == *" 2024010101 "* ]]
}

# wait_answers PID HOST PORT LOG WHAT: bounded wait until the SOA is answered there.
wait_answers() {
	local deadline
	deadline=$(($(date +%s) + LOAD_TIMEOUT))
	while ! answers "$2" "$3"; do
		kill -0 "$1" 2>/dev/null || { cat "$4" >&2; die "$5 (PID $1) exited before answering (log above)"; }
		[ "$(date +%s)" -lt "$deadline" ] || die "$5: no SOA answer on $2 port $3 within $LOAD_TIMEOUT s (LOAD_TIMEOUT)"
		sleep 0.05
	done
}

# run_dnsperf HOST PORT SECONDS OUT [ARGS...]: the throughput load, dnsperf on CLIENT_CPU.
run_dnsperf() {
	timeout $(($3 + 60)) nice -n "$NICE" taskset -c "$CLIENT_CPU" \
		dnsperf -c "$CLIENTS" -l "$3" -s "$1" -p "$2" -d "$queries" "${@:5}" >"$4" 2>&1 ||
		{ cat "$4" >&2; die "dnsperf failed against $1 port $2"; }
}

# timed_dnsperf: run_dnsperf with the same arguments; sets client_ticks to the
# CPU time dnsperf used (bash's time of its children), in clock ticks.
timed_dnsperf() {
	local TIMEFORMAT='%3U %3S'
	{ time run_dnsperf "$@" 2>&3; } 3>&2 2>"$4.time"
	client_ticks=$(awk -v hz="$clk_tck" '{ printf "%.0f", ($1 + $2) * hz }' "$4.time")
}

# parse_dnsperf OUT: prints "sent completed lost qps avg_latency_us".
parse_dnsperf() {
	awk '
		/Queries sent:/ { sent = $3 }
		/Queries completed:/ { done = $3 }
		/Queries lost:/ { lost = $3 }
		/Queries per second:/ { qps = $4 }
		/Average Latency \(s\):/ { lat = $4 * 1e6 }
		END {
			if (sent == "" || qps == "") exit 1
			printf "%d %d %d %.0f %.0f\n", sent, done, lost, qps, lat
		}' "$1" || { cat "$1" >&2; die "cannot read dnsperf output $1"; }
}

noisy=0

alive() { # alive PID NAME LOG: fails the run if a process died under load
	if ! kill -0 "$1" 2>/dev/null || [ "$(proc_id "$1" | cut -d' ' -f2)" = Z ]; then
		cat "$3" >&2
		die "$2 (PID $1) died during the benchmark (log above)"
	fi
}

# ---- the processes ----

# start_backend N PORT: fakeresolver N on CLIENT_CPU (it shares the CPU with
# dnsperf: the balancer under test has the other CPU to itself).
start_backend() {
	local log="$scratch/backend$1.err"
	# Not --quiet: that hides the "ready" line too (it prints nothing per query either way).
	nice -n "$NICE" taskset -c "$CLIENT_CPU" "$FAKERESOLVER" --listen "127.0.0.1:$2" --zone "$zone" \
		>/dev/null 2>"$log" &
	started_pid=$!
	pids+=("$started_pid")
	wait_line "$started_pid" "$log" '^fakeresolver: ready' "fakeresolver $1"
	answers 127.0.0.1 "$2" || die "fakeresolver $1 is ready but does not answer the SOA on port $2"
}

# fill_scenario SRC DST NAME=VALUE...: copies the scenario SRC to DST with each
# line "local NAME = ..." set to VALUE (a Lua expression); every one must be there.
fill_scenario() {
	local src=$1 dst=$2 kv name value
	shift 2
	cp "$src" "$dst"
	for kv in "$@"; do
		name=${kv%%=*} value=${kv#*=}
		sed -i "s|^local $name = .*|local $name = $value|" "$dst"
		grep -qxF "local $name = $value" "$dst" ||
			die "cannot set $name in $dst (keep the line 'local $name = ...' of $src as it is)"
	done
}

# run_scenario FILE WHAT: `dnschaos run FILE` on LB_CPU, no history, until it
# prints its "serving" line.
run_scenario() {
	local log="${1%.lua}.out"
	# --no-sandbox: dnsperf and dnsdist, outside the run, reach the farm on the host's loopback.
	nice -n "$NICE" taskset -c "$LB_CPU" "$DNSCHAOS" run "$1" --no-sandbox >"$log" 2>"$log.err" &
	started_pid=$!
	pids+=("$started_pid")
	wait_line "$started_pid" "$log" '\] serving ' "dnschaos run ($2)"
}

# start_vip POLICY PORT: vip_bench.lua, the VIP alone in front of the two daemons.
start_vip() {
	local sc="$scratch/vip.$1.lua"
	fill_scenario "$SCENARIO" "$sc" ADDRESS="\"$VIP_ADDR:$2\"" BACKEND1="\"127.0.0.1:$be_port1\"" \
		BACKEND2="\"127.0.0.1:$be_port2\"" POLICY="\"$1\"" DURATION="$run_bound"
	run_scenario "$sc" "VIP, policy $1"
	wait_answers "$started_pid" "$VIP_ADDR" "$2" "${sc%.lua}.out.err" "the VIP (policy $1)"
}

# start_farm: vip_farm_bench.lua, the two farm resolvers on be_host1:be_port1 and
# be_host2:be_port2 and the VIPs on VIP_ADDR at the ports in farm_port[vip],
# [vip-flow], [vip-lo].
start_farm() {
	local sc="$scratch/farm.lua" v
	fill_scenario "$SCENARIO" "$sc" ZONE="\"$zone\"" R1="\"$be_host1:$be_port1\"" R2="\"$be_host2:$be_port2\"" \
		VIP="\"$VIP_ADDR:${farm_port[vip]}\"" VIP_FLOW="\"$VIP_ADDR:${farm_port[vip-flow]}\"" \
		VIP_LO="\"$VIP_ADDR:${farm_port[vip-lo]}\"" DURATION="$run_bound"
	run_scenario "$sc" farm
	wait_answers "$started_pid" "$be_host1" "$be_port1" "$scratch/farm.out.err" "farm resolver r1"
	wait_answers "$started_pid" "$be_host2" "$be_port2" "$scratch/farm.out.err" "farm resolver r2"
	for v in vip vip-flow vip-lo; do
		wait_answers "$started_pid" "$VIP_ADDR" "${farm_port[$v]}" "$scratch/farm.out.err" "the farm's $v"
	done
}

# start_dnsdist PORT: Debian's dnsdist on LB_CPU with its config in the scratch dir.
start_dnsdist() {
	local conf="$scratch/dnsdist.conf" log="$scratch/dnsdist.out"
	cat >"$conf" <<EOF
-- Written by bench/vip_vs_dnsdist.sh. Defaults otherwise: no packet cache
-- (none is set), health checks once a second, one UDP listener thread and
-- one responder thread per backend. No controlSocket: no console; run with
-- --supervised, so none on the terminal either.
setSecurityPollSuffix("") -- else it sends a version query off the machine at start
setLocal("$DNSDIST_ADDR:$1")
newServer({ address = "$be_host1:$be_port1" })
newServer({ address = "$be_host2:$be_port2" })
setServerPolicy(roundrobin) -- what the VIP's policy "query" does
EOF
	"$DNSDIST" --check-config -C "$conf" >"$log" 2>&1 || { cat "$log" >&2; die "dnsdist rejects $conf"; }
	nice -n "$NICE" taskset -c "$LB_CPU" "$DNSDIST" --supervised --disable-syslog -C "$conf" >"$log" 2>&1 &
	started_pid=$!
	pids+=("$started_pid")
	wait_answers "$started_pid" "$DNSDIST_ADDR" "$1" "$log" dnsdist
}

# ---- setup ----

variants=(direct vip)
[ "$FLOW" = 1 ] && variants+=(vip-flow)
[ "$LAYOUT" = farm ] && variants+=(vip-lo)
variants+=(dnsdist)
nvar=${#variants[@]}
# How long the VIP's scenario runs: past the end of this script's run; the
# script stops it with SIGINT.
run_bound=$((600 + LOAD_TIMEOUT + nvar * (WARMUP + ROUNDS * (DURATION + 15) + 2 * LAT_ROUNDS * (LAT_SECONDS + 15)) +
	PROFILE * (DURATION + 60)))

pace=()
[ "$LAT_QPS" -gt 0 ] && pace=(-Q "$LAT_QPS")
echo "== vip_vs_dnsdist: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n), $ncpu CPUs"
echo "   dnschaos: $DNSCHAOS ($("$DNSCHAOS" --version 2>&1 | head -1)), built $(date -u -r "$DNSCHAOS" '+%Y-%m-%d %H:%M UTC')"
if head=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null); then
	dirty=$(git -C "$repo" status --porcelain -- fakeresolver harness | wc -l)
	echo "   source: commit $head$([ "$dirty" = 0 ] || echo ", $dirty uncommitted change(s) under fakeresolver/ harness/")"
fi
# A binary older than its source measures code that is no longer there.
newer=$(find "$repo/harness" "$repo/fakeresolver" -name '*.[ch]' -newer "$DNSCHAOS" 2>/dev/null | wc -l)
if [ "$newer" -gt 0 ]; then
	echo "   WARNING: $newer source file(s) under harness/ fakeresolver/ are newer than $DNSCHAOS: rebuild"
	echo "   (cmake --build $BUILD -j2), or this run measures older code"
fi
echo "   dnsdist: $("$DNSDIST" --version 2>&1 | head -1); round robin, no packet cache, security poll off, no console"
if [ "$LAYOUT" = farm ]; then
	echo "   layout: farm. One dnschaos run: two farm resolvers (the backends, the same zone) and three VIPs"
	echo "   in front of them: vip (policy query, queries handed over in-process), vip-flow (policy flow,"
	echo "   in-process), vip-lo (policy query, over loopback UDP); dnsdist in front of the same two"
else
	echo "   layout: standalone. backends: 2 x fakeresolver ($FAKERESOLVER), the same zone; the VIP alone"
	echo "   in a dnschaos run in front of them, as dnsdist is"
fi
echo "   dnsperf: $(dnsperf -h 2>&1 | awk '/^Version/ { print $2; exit }'), -c $CLIENTS, $ROUNDS round(s) x $nvar target(s) x ${DURATION} s, warm-up ${WARMUP} s each"
if [ "$LAYOUT" = farm ]; then
	echo "   pinning: the service (dnschaos with backends and VIPs; dnsdist) on CPU $LB_CPU, dnsperf alone on" \
		"CPU $CLIENT_CPU (taskset), all at nice $NICE$([ -z "$autogroup_saved" ] || echo ", session autogroup at nice $NICE")"
else
	echo "   pinning: balancer alone on CPU $LB_CPU; both backends and dnsperf on CPU $CLIENT_CPU (taskset), all at nice" \
		"$NICE$([ -z "$autogroup_saved" ] || echo ", session autogroup at nice $NICE")"
fi
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
busy_report "at the start"
echo "   scratch: $scratch"

zone="$scratch/bench.zone"
queries="$scratch/queries.txt"
python3 "$here/gen_zone.py" --records "$RECORDS" --seed "$SEED" --origin "$ORIGIN" \
	--zone "$zone" --queries "$queries" --query-count "$QUERIES" --stats 2>"$scratch/gen.err" ||
	{ cat "$scratch/gen.err" >&2; die "gen_zone.py failed"; }
echo "   zone: $RECORDS A records + apex SOA/NS/MX/TXT + CNAMEs; $(sed 's/^gen_zone: //' "$scratch/gen.err")"

# Every process runs for the whole benchmark and only one target is driven at
# a time: the idle balancers sleep in epoll (dnsdist's health checks, once a
# second per backend, are all they do), and every round measures the same warm
# processes. The backends first, so that dnsdist finds them up at its start.
declare -A host_of=() port_of=() pid_of=() log_of=() bal_of=() svc_of=()
if [ "$LAYOUT" = farm ]; then
	be_host1=$BE_ADDR1 be_host2=$BE_ADDR2
	be_port1=$(free_port "$be_host1")
	be_port2=$(free_port "$be_host2")
	declare -A farm_port=()
	for v in vip vip-flow vip-lo; do
		# free_port only reports a port free now: take three distinct ones.
		while :; do
			p=$(free_port "$VIP_ADDR")
			case " ${farm_port[*]} " in *" $p "*) ;; *) break ;; esac
		done
		farm_port[$v]=$p
	done
	start_farm
	farm_pid=$started_pid
	dnschaos_pids=("$farm_pid")
	host_of[direct]=$be_host1 port_of[direct]=$be_port1 pid_of[direct]=$farm_pid log_of[direct]=$scratch/farm.out.err
	bal_of[direct]='' svc_of[direct]=$farm_pid
	for v in vip vip-flow vip-lo; do
		host_of[$v]=$VIP_ADDR port_of[$v]=${farm_port[$v]} pid_of[$v]=$farm_pid log_of[$v]=$scratch/farm.out.err
		# The VIP's process is the backends' too: its CPU is the whole service's.
		bal_of[$v]=$farm_pid svc_of[$v]=$farm_pid
	done
	be_pids=("$farm_pid")
else
	be_host1=127.0.0.1 be_host2=127.0.0.1
	be_port1=$(free_port 127.0.0.1)
	start_backend 1 "$be_port1"
	be_pid1=$started_pid
	be_port2=$(free_port 127.0.0.1)
	start_backend 2 "$be_port2"
	be_pid2=$started_pid
	be_pids=("$be_pid1" "$be_pid2")
	dnschaos_pids=()
	host_of[direct]=127.0.0.1 port_of[direct]=$be_port1 pid_of[direct]=$be_pid1 log_of[direct]=$scratch/backend1.err
	bal_of[direct]='' svc_of[direct]="$be_pid1 $be_pid2"
	port=$(free_port "$VIP_ADDR")
	start_vip query "$port"
	host_of[vip]=$VIP_ADDR port_of[vip]=$port pid_of[vip]=$started_pid log_of[vip]=$scratch/vip.query.out.err
	dnschaos_pids+=("$started_pid")
	if [ "$FLOW" = 1 ]; then
		port=$(free_port "$VIP_ADDR")
		start_vip flow "$port"
		host_of[vip-flow]=$VIP_ADDR port_of[vip-flow]=$port pid_of[vip-flow]=$started_pid
		log_of[vip-flow]=$scratch/vip.flow.out.err
		dnschaos_pids+=("$started_pid")
	fi
	for v in vip vip-flow; do
		[ -n "${pid_of[$v]:-}" ] || continue
		bal_of[$v]=${pid_of[$v]} svc_of[$v]="${pid_of[$v]} $be_pid1 $be_pid2"
	done
fi
port=$(free_port "$DNSDIST_ADDR")
start_dnsdist "$port"
host_of[dnsdist]=$DNSDIST_ADDR port_of[dnsdist]=$port pid_of[dnsdist]=$started_pid log_of[dnsdist]=$scratch/dnsdist.out
bal_of[dnsdist]=$started_pid svc_of[dnsdist]="$started_pid ${be_pids[*]}"
printf '   listening: backends %s:%s and %s:%s' "$be_host1" "$be_port1" "$be_host2" "$be_port2"
for v in "${variants[@]}"; do [ "$v" = direct ] || printf ', %s %s:%s' "$v" "${host_of[$v]}" "${port_of[$v]}"; done
echo

# A balancer must pass the answers on unchanged, or the comparison means nothing.
answer() { # answer HOST PORT "NAME TYPE": status line and records, sorted, without the ID
	# shellcheck disable=SC2086 # $3 is "name type"
	dig +norec +noedns +time=2 +tries=1 -p "$2" "@$1" $3 |
		grep -E 'status:|^[^;]' | sed 's/id: [0-9]*//' | sort
}
for q in "h1.$ORIGIN A" "h1.$ORIGIN AAAA" "nx1.$ORIGIN A" "www.$ORIGIN A" "$ORIGIN MX"; do
	a=$(answer "$be_host1" "$be_port1" "$q")
	for v in "${variants[@]}"; do
		[ "$v" = direct ] && continue
		b=$(answer "${host_of[$v]}" "${port_of[$v]}" "$q")
		if [ "$a" != "$b" ]; then
			echo "   note: answers differ for '$q' (direct vs $v):"
			diff <(echo "$a") <(echo "$b") | sed 's/^/     /' || true
		fi
	done
done

if [ "$WARMUP" -gt 0 ]; then
	for v in "${variants[@]}"; do run_dnsperf "${host_of[$v]}" "${port_of[$v]}" "$WARMUP" "$scratch/warmup.$v.out"; done
fi

# ---- 1. throughput rounds ----

echo
echo "== 1. throughput: dnsperf -c $CLIENTS -l $DURATION, $QUERIES-line query file; targets rotate each round"
if [ "$LAYOUT" = farm ]; then
	echo "   direct = dnsperf to farm resolver r1 alone (reference: the farm answering with no balancer);"
	echo "   vip = policy query, vip-flow = policy flow, both handing queries to the farm resolvers in-process;"
	echo "   vip-lo = policy query over loopback UDP; dnsdist = round robin, in front of the same farm resolvers"
	echo "   bal CPU = the balancer's process (for the VIPs that is dnschaos, backends included) in % of one CPU;"
	echo "   backends = the farm's CPU % when it is not the balancer's process;"
else
	echo "   direct = dnsperf to backend 1 alone (reference: what CPU $CLIENT_CPU sustains without a balancer);"
	echo "   vip = dnschaos VIP, policy query; vip-flow = policy flow; dnsdist = round robin"
	echo "   bal CPU = the balancer's CPU time (all threads) in % of one CPU; backends = each fakeresolver's CPU %;"
fi
echo "   bal/q = the balancer's CPU per answered query; svc/q = balancer and backends per answered query;"
echo "   CPU$LB_CPU / CPU$CLIENT_CPU = how busy each CPU was (all processes and interrupts); other = the CPU time"
echo "   (of both CPUs, in % of one) not used by our processes or dnsperf: other work, interrupts"
printf '%-5s %-8s %9s %5s %7s %7s %7s %8s %9s %8s %7s %5s %5s %5s\n' round target completed lost QPS "avg lat" \
	"bal CPU" "bal/q" backends "svc/q" dnsperf "CPU$LB_CPU" "CPU$CLIENT_CPU" other
declare -A oth_of=() svq_of=() qps_of=() cpq_of=() ucpq_of=() scpq_of=() cpu_of=() lost_of=() sent_of=() c0_of=() c1_of=() be_of=()
for v in "${variants[@]}"; do
	qps_of[$v]='' cpq_of[$v]='' ucpq_of[$v]='' scpq_of[$v]='' cpu_of[$v]='' lost_of[$v]=0 sent_of[$v]=0
	c0_of[$v]='' c1_of[$v]='' be_of[$v]='' svq_of[$v]=''
done
# ours_ticks: CPU time of every process this script started (each PID once).
ours_ticks() {
	local p t=0
	for p in $(printf '%s\n' "${pids[@]}" | sort -u); do t=$((t + $(cpu_ticks "$p"))); done
	echo "$t"
}
# sum_ticks PID...: their CPU time added up.
sum_ticks() {
	local p t=0
	for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done
	echo "$t"
}
# per_query TICKS COMPLETED: microseconds of CPU per answered query.
per_query() { awk -v c="$1" -v hz="$clk_tck" -v n="$2" 'BEGIN { printf "%.2f", n ? 1e6 * c / hz / n : 0 }'; }
for ((r = 1; r <= ROUNDS; r++)); do
	# Rotate the order (0 1 2 3, 1 2 3 0, ...) so that drift of the shared
	# machine does not always hit the same target.
	declare -A round_qps=()
	for ((k = 0; k < nvar; k++)); do
		v=${variants[$(((r - 1 + k) % nvar))]}
		out="$scratch/round.$r.$v.out"
		bal=${bal_of[$v]}
		# shellcheck disable=SC2206 # a list of PIDs
		svc=(${svc_of[$v]})
		u0=0 s0=0 u1=0 s1=0
		[ -n "$bal" ] && read -r u0 s0 <<<"$(cpu_split "$bal")"
		v0=$(sum_ticks "${svc[@]}") o0=$(ours_ticks)
		e10=$(cpu_ticks "${be_pids[0]}") e20=$(cpu_ticks "${be_pids[-1]}")
		read -r l0 lt0 <<<"$(cpu_stat "$LB_CPU")"
		read -r k0 kt0 <<<"$(cpu_stat "$CLIENT_CPU")"
		proc_snapshot >"$scratch/procs.before"
		m0=$(machine_busy) t0=$(now)
		timed_dnsperf "${host_of[$v]}" "${port_of[$v]}" "$DURATION" "$out"
		t1=$(now)
		[ -n "$bal" ] && read -r u1 s1 <<<"$(cpu_split "$bal")"
		v1=$(sum_ticks "${svc[@]}") o1=$(ours_ticks)
		e11=$(cpu_ticks "${be_pids[0]}") e21=$(cpu_ticks "${be_pids[-1]}")
		read -r l1 lt1 <<<"$(cpu_stat "$LB_CPU")"
		read -r k1 kt1 <<<"$(cpu_stat "$CLIENT_CPU")"
		m1=$(machine_busy)
		proc_snapshot >"$scratch/procs.after"
		alive "${pid_of[$v]}" "$v" "${log_of[$v]}"
		t=$(elapsed "$t0" "$t1")
		read -r sent completed lost qps lat <<<"$(parse_dnsperf "$out")"
		if [ "${#be_pids[@]}" = 2 ]; then
			bes="$(cpu_pct "$((e11 - e10))" "$t")%+$(cpu_pct "$((e21 - e20))" "$t")%"
			be_of[$v]+=" $(cpu_pct "$((e11 - e10))" "$t"):$(cpu_pct "$((e21 - e20))" "$t")"
		elif [ "$bal" = "${be_pids[0]}" ]; then
			bes="in bal"
		else
			bes="$(cpu_pct "$((e11 - e10))" "$t")%"
		fi
		dp=$(cpu_pct "$client_ticks" "$t")
		cl=$(busy_pct "$((l1 - l0))" "$((lt1 - lt0))") cc=$(busy_pct "$((k1 - k0))" "$((kt1 - kt0))")
		# Everything but our processes and dnsperf: other processes, kernel
		# threads, and interrupt time the kernel charges to no process.
		oth=$((m1 - m0 - (o1 - o0) - client_ticks))
		[ "$oth" -ge 0 ] || oth=0 # the counters are sampled at slightly different times
		oth=$(cpu_pct "$oth" "$t")
		oth_of[$v]+=" $oth"
		if [ -n "$bal" ]; then
			bcpu=$(cpu_pct "$((u1 + s1 - u0 - s0))" "$t")
			bcpq=$(per_query "$((u1 + s1 - u0 - s0))" "$completed")
			# The user-space share of that, for the summary: the rest is the kernel's UDP path.
			uq=$(per_query "$((u1 - u0))" "$completed") sq=$(per_query "$((s1 - s0))" "$completed")
			cpu_of[$v]+=" $bcpu" cpq_of[$v]+=" $bcpq" ucpq_of[$v]+=" $uq" scpq_of[$v]+=" $sq"
			bcpu+=% bcpq+=" us"
		else
			bcpu=- bcpq=-
		fi
		svq=$(per_query "$((v1 - v0))" "$completed")
		printf '%-5s %-8s %9d %5d %7d %4d us %7s %8s %9s %5s us %6s%% %4s%% %4s%% %4s%%\n' "$r" "$v" "$completed" \
			"$lost" "$qps" "$lat" "$bcpu" "$bcpq" "$bes" "$svq" "$dp" "$cl" "$cc" "$oth"
		if [ "$oth" -ge "$OTHER_WARN" ]; then
			who=$(top_others "$scratch/procs.before" "$scratch/procs.after" "$t" "${pids[@]}")
			printf '%-5s %-8s %s\n' "" other "${who:-no single process: interrupts, or short-lived processes}" |
				cut -c1-150
		fi
		qps_of[$v]+=" $qps" c0_of[$v]+=" $cl" c1_of[$v]+=" $cc" svq_of[$v]+=" $svq"
		lost_of[$v]=$((lost_of[$v] + lost)) sent_of[$v]=$((sent_of[$v] + sent))
		round_qps[$v]=$qps
	done
	line="vip/dnsdist $(ratio "${round_qps[vip]}" "${round_qps[dnsdist]}")x"
	[ "$FLOW" = 1 ] && line+=", vip-flow/dnsdist $(ratio "${round_qps[vip-flow]}" "${round_qps[dnsdist]}")x"
	[ "$LAYOUT" = farm ] && line+=", vip-lo/dnsdist $(ratio "${round_qps[vip-lo]}" "${round_qps[dnsdist]}")x"
	printf '%-5s %-8s %s\n' "" ratio "$line"
	unset round_qps
done

echo
echo "summary over $ROUNDS round(s) (medians):"
declare -A med=() med_cpq=() med_cpu=() med_c0=() med_c1=() med_svq=()
for v in "${variants[@]}"; do
	# shellcheck disable=SC2086 # word lists
	med[$v]=$(median ${qps_of[$v]}) med_c0[$v]=$(median ${c0_of[$v]}) med_c1[$v]=$(median ${c1_of[$v]})
	# shellcheck disable=SC2086
	med_svq[$v]=$(median ${svq_of[$v]})
	printf '  %-8s QPS %7.0f (rounds:%s)  lost %d of %d' "$v" "${med[$v]}" "${qps_of[$v]}" "${lost_of[$v]}" \
		"${sent_of[$v]}"
	if [ -n "${bal_of[$v]}" ]; then
		# shellcheck disable=SC2086
		med_cpu[$v]=$(median ${cpu_of[$v]}) med_cpq[$v]=$(median ${cpq_of[$v]})
		# shellcheck disable=SC2086
		printf '  bal CPU %s%%  bal/q %s us (user %s, kernel %s)' "${med_cpu[$v]}" "${med_cpq[$v]}" \
			"$(median ${ucpq_of[$v]})" "$(median ${scpq_of[$v]})"
	fi
	printf '  svc/q %s us  CPU%s %s%%  CPU%s %s%%\n' "${med_svq[$v]}" "$LB_CPU" "${med_c0[$v]}" "$CLIENT_CPU" "${med_c1[$v]}"
done
qps_ratio=$(ratio "${med[vip]}" "${med[dnsdist]}")
for v in vip vip-flow vip-lo; do
	[ -n "${med[$v]:-}" ] || continue
	echo "  $v/dnsdist: QPS $(ratio "${med[$v]}" "${med[dnsdist]}")x, CPU per query: balancer" \
		"$(ratio "${med_cpq[$v]}" "${med_cpq[dnsdist]}")x, balancer and backends $(ratio "${med_svq[$v]}" "${med_svq[dnsdist]}")x"
done
echo "  each balancer / direct: $(for v in "${variants[@]}"; do [ "$v" = direct ] || printf '%s %sx  ' "$v" \
	"$(ratio "${med[$v]}" "${med[direct]}")"; done)"
# An extrapolation, not a measurement: the QPS each balanced service would
# reach on a whole CPU at its measured cost per query, if nothing else limited it.
echo "  extrapolated to a whole CPU (1 s / svc/q, not measured):$(for v in "${variants[@]}"; do
	awk -v v="$v" -v c="${med_svq[$v]}" 'BEGIN { printf " %s %.0f", v, (c > 0) ? 1e6 / c : 0 }'
done) QPS"
# Both backends must get queries, or a balancer is not balancing (standalone
# layout only: in the farm both backends are one process).
for v in "${variants[@]}"; do
	[ "$v" = direct ] && continue
	# shellcheck disable=SC2086
	for pair in ${be_of[$v]:-}; do
		awk -v a="${pair%:*}" -v b="${pair#*:}" 'BEGIN { exit !(a + b >= 10 && (a < (a + b) / 5 || b < (a + b) / 5)) }' &&
			echo "  note: $v sent most queries to one backend in a round (backend CPU ${pair%:*}% vs ${pair#*:}%)" && break
	done
done
# Who was the bottleneck: CPU $LB_CPU (the balancer, and in the farm layout the
# backends) near 100%, or CPU $CLIENT_CPU (dnsperf, and in the standalone
# layout the backends); then the QPS is not the balancer's limit.
client_bound=
for v in "${variants[@]}"; do
	[ "$v" = direct ] && continue
	awk -v b="${med_c0[$v]}" -v c="${med_c1[$v]}" 'BEGIN { exit !(b < 90 && c >= 90) }' && client_bound+=" $v"
done
# Other work during a round takes CPU from one side or the other.
other_max=0
for v in "${variants[@]}"; do
	# shellcheck disable=SC2086
	m=$(printf '%s\n' ${oth_of[$v]} | sort -g | tail -1)
	[ "$m" -gt "$other_max" ] && other_max=$m
done
if [ "$other_max" -ge "$OTHER_WARN" ]; then
	noisy=1
	echo "  note: other work took up to ${other_max}% of a CPU during a round (column 'other'; a few % is"
	echo "  interrupt time on a quiet machine): such rounds are disturbed, the median discounts one of three."
fi
# The target asks for more than CPU $CLIENT_CPU delivers with no balancer at all?
ceiling_low=$(awk -v d="${med[direct]}" -v x="${med[dnsdist]}" -v k="$TARGET_QPS_RATIO" 'BEGIN { print (k * x > d) ? 1 : 0 }')
if [ "$ceiling_low" = 1 ]; then
	echo "  note: ${TARGET_QPS_RATIO}x dnsdist's QPS is $(awk -v x="${med[dnsdist]}" -v k="$TARGET_QPS_RATIO" 'BEGIN { printf "%.0f", k * x }')," \
		"more than one backend reaches here with no balancer at all (direct, ${med[direct]}):"
	echo "  in this layout no balancer could show the target by QPS; CPU per query (svc/q) shows how far off it is."
fi
if [ -n "$client_bound" ]; then
	echo "  note: for$client_bound CPU $LB_CPU was under 90% busy while CPU $CLIENT_CPU was busy: the client"
	echo "  side set the pace, not the balancer; its QPS is a floor on what it can do, and CPU per query"
	echo "  (svc/q, bal/q) is the fairer comparison."
fi

# ---- 2. latency at one query in flight ----

# dnsperf has no percentiles; -v prints one line per query:
#   "> NOERROR h5.bench.test. A 0.000048"  (rcode, query, latency in seconds)
#   "> T h5.bench.test. A"                 (timed out: no latency)
# "-q 1" alone makes dnsperf 2.10 stall (its sender re-checks the in-flight
# count before the receiver has counted the answer, then sleeps until the
# receiver's next 100 ms poll); -Q paces the sender so that it mostly finds
# the answer counted. Still one query in flight. The sample count varies and
# is printed; LAT_ROUNDS runs per target, rotating, are pooled.
#
# Two layouts. "split", as in part 1: the balancer on LB_CPU, the rest on
# CLIENT_CPU, so a query through a balancer crosses CPUs four times and each
# crossing wakes a sleeping process on the other CPU. "shared": the balancers
# moved to CLIENT_CPU (taskset -a -p, every thread) for the time, so nothing
# crosses CPUs and what is left is the balancer's own path.
declare -A p50=() added=()

# pin_balancers CPU: moves every thread of each balancer to CPU.
pin_balancers() {
	local v
	for v in "${variants[@]}"; do
		[ "$v" = direct ] && continue
		taskset -a -p -c "$1" "${pid_of[$v]}" >/dev/null || die "cannot move $v (PID ${pid_of[$v]}) to CPU $1"
	done
}

# latency_runs LAYOUT: the rotating runs, the table, p50[LAYOUT:target] and added[...].
latency_runs() {
	local lay=$1 r k v out files ltimeouts n lp50 lp90 lp99 add who lat_t0
	printf '%-8s %8s %8s %8s %8s %8s %10s\n' target samples p50 p90 p99 lost "added p50"
	proc_snapshot >"$scratch/procs.before"
	lat_t0=$(now)
	for ((r = 1; r <= LAT_ROUNDS; r++)); do
		for ((k = 0; k < nvar; k++)); do
			v=${variants[$(((r - 1 + k) % nvar))]}
			out="$scratch/latency.$lay.$r.$v.out"
			timeout $((LAT_SECONDS + 60)) nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf -v -c 1 -q 1 \
				"${pace[@]}" -l "$LAT_SECONDS" -s "${host_of[$v]}" -p "${port_of[$v]}" -d "$queries" \
				>"$out" 2>&1 || { cat "$out" >&2; die "dnsperf -v failed against $v"; }
			alive "${pid_of[$v]}" "$v" "${log_of[$v]}"
		done
	done
	for v in "${variants[@]}"; do
		files=("$scratch"/latency."$lay".*."$v".out)
		ltimeouts=$(cat "${files[@]}" | grep -c '^> T ' || true)
		read -r n lp50 lp90 lp99 <<<"$(awk '/^> [A-Z]+ / && $2 != "T" { print $NF * 1e6 }' "${files[@]}" |
			sort -g | awk '
			{ v[NR] = $1 }
			END {
				if (NR == 0) { print 0, 0, 0, 0; exit }
				printf "%d %.0f %.0f %.0f\n", NR, v[int(NR * 0.50 + 0.999999)],
					v[int(NR * 0.90 + 0.999999)], v[int(NR * 0.99 + 0.999999)]
			}')"
		[ "$n" -gt 0 ] || { cat "${files[@]}" >&2; die "no latency samples from $v"; }
		p50[$lay:$v]=$lp50
		add=-
		if [ "$v" != direct ]; then
			added[$lay:$v]=$((lp50 - ${p50[$lay:direct]}))
			add="${added[$lay:$v]} us"
		fi
		printf '%-8s %8d %5d us %5d us %5d us %8d %10s\n' "$v" "$n" "$lp50" "$lp90" "$lp99" "$ltimeouts" "$add"
	done
	# At one query in flight the CPUs are mostly idle, and whatever else runs
	# decides how fast a sleeping process gets the CPU back: name it.
	proc_snapshot >"$scratch/procs.after"
	who=$(top_others "$scratch/procs.before" "$scratch/procs.after" "$(elapsed "$lat_t0" "$(now)")" "${pids[@]}")
	echo "  other work meanwhile: ${who:-none over 3% of a CPU}" | cut -c1-150
	printf '  vip/dnsdist: p50 %sx, added p50 %sx' "$(ratio "${p50[$lay:vip]}" "${p50[$lay:dnsdist]}")" \
		"$(ratio "${added[$lay:vip]}" "${added[$lay:dnsdist]}")"
	if [ "$FLOW" = 1 ]; then
		printf ' (vip-flow: p50 %sx, added %sx)' "$(ratio "${p50[$lay:vip-flow]}" "${p50[$lay:dnsdist]}")" \
			"$(ratio "${added[$lay:vip-flow]}" "${added[$lay:dnsdist]}")"
	fi
	echo
}

echo
echo "== 2. latency: dnsperf -v -c 1 -q 1 ${pace[*]} -l $LAT_SECONDS, $LAT_ROUNDS rotating run(s) per target pooled" \
	"(one query in flight)"
echo "   added p50 = the target's p50 minus direct's p50: what the balancer adds to one query"
echo "-- 2a. split: as in part 1 (balancer on CPU $LB_CPU, dnsperf on CPU $CLIENT_CPU)"
latency_runs split
echo "-- 2b. shared: the balancers (in the farm layout, with the backends) moved to CPU $CLIENT_CPU too" \
	"(nothing crosses CPUs)"
pin_balancers "$CLIENT_CPU"
latency_runs shared
pin_balancers "$LB_CPU"

# ---- optional profile ----

if [ "$PROFILE" = 1 ]; then
	echo
	echo "== profile: perf record -e task-clock -g on the VIP (policy query) during a ${DURATION} s dnsperf round"
	perf record -e task-clock -g -o "$scratch/perf.data" -p "${pid_of[vip]}" -- sleep "$((DURATION + 1))" \
		>"$scratch/perf.record.out" 2>&1 &
	perf_pid=$!
	sleep 0.5
	run_dnsperf "${host_of[vip]}" "${port_of[vip]}" "$DURATION" "$scratch/profile.dnsperf.out"
	wait "$perf_pid" || { cat "$scratch/perf.record.out" >&2; die "perf record failed"; }
	read -r _ _ _ qps _ <<<"$(parse_dnsperf "$scratch/profile.dnsperf.out")"
	echo "  QPS under perf: $qps (perf's own sampling costs some)"
	echo "  time by object (perf report --sort dso):"
	perf report -i "$scratch/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
		grep -E '^ +[0-9]' | first 6 | sed -e 's/^/  /' -e 's/ *$//'
	echo "  time by user-space function, what it calls included (--children, [.] only, >= 1%):"
	perf report -i "$scratch/perf.data" --stdio --children --sort symbol -g none --percent-limit 1 2>/dev/null |
		grep -E '^ +[0-9].*\[\.\]' | grep -v '\[\.\] 0x' | first 15 | sed -e 's/^/  /' -e 's/[ -]*$//'
	echo "  self time by symbol (--no-children --sort dso,symbol), top 20:"
	perf report -i "$scratch/perf.data" --stdio --no-children --sort dso,symbol -g none --percent-limit 0.5 \
		2>/dev/null | grep -E '^ +[0-9]' | first 20 | sed -e 's/^/  /' -e 's/[ -]*$//'
	echo "  (perf.data stays in the scratch directory with --keep)"
fi

# ---- stop ----

# dnschaos run stops on SIGINT with exit 2 ("interrupted"); anything else is a fault.
for p in "${dnschaos_pids[@]}"; do
	stop_pid "$p" INT
	if [ "$stopped_rc" != 2 ]; then
		for v in "${variants[@]}"; do
			[ "${pid_of[$v]}" = "$p" ] && log=${log_of[$v]}
		done
		cat "${log%.err}" "$log" >&2
		die "dnschaos run (PID $p) exited $stopped_rc after SIGINT, not 2 (interrupted)"
	fi
done

# ---- targets ----

met=0 total=0
verdict() { # verdict TEXT OBSERVED CONDITION(awk expression that is true when met)
	local ok
	ok=$(awk "BEGIN { print ($3) ? 1 : 0 }")
	total=$((total + 1))
	if [ "$ok" = 1 ]; then met=$((met + 1)); ok=MET; else ok="NOT MET"; fi
	printf '  %-36s %-72s %s\n' "$1" "$2" "$ok"
}
echo
echo "== targets (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
busy_report "at the end"
verdict "VIP QPS >= ${TARGET_QPS_RATIO}x dnsdist (medians)" \
	"$(printf '%.0f vs dnsdist %.0f = %sx (bound %sx)' "${med[vip]}" "${med[dnsdist]}" "$qps_ratio" "$TARGET_QPS_RATIO")" \
	"${med[vip]} >= $TARGET_QPS_RATIO * ${med[dnsdist]}"
for lay in split shared; do
	verdict "VIP added p50 <= dnsdist's, $lay" \
		"$(printf '%+d' "${added[$lay:vip]}") us (p50 ${p50[$lay:vip]} - direct ${p50[$lay:direct]}) vs dnsdist $(printf '%+d' "${added[$lay:dnsdist]}") us (bound)" \
		"${added[$lay:vip]} <= ${added[$lay:dnsdist]}"
done
echo "  $met of $total targets met"
if [ "$FLOW" = 1 ]; then
	echo "  (policy flow, not a target: QPS $(ratio "${med[vip-flow]}" "${med[dnsdist]}")x dnsdist's," \
		"added p50 $(printf '%+d' "${added[split:vip-flow]}") us vs $(printf '%+d' "${added[split:dnsdist]}") us split," \
		"$(printf '%+d' "${added[shared:vip-flow]}") us vs $(printf '%+d' "${added[shared:dnsdist]}") us shared)"
fi
if [ "$LAYOUT" = farm ] && [ -n "${med[vip-lo]:-}" ]; then
	echo "  (the VIP over loopback UDP, vip-lo: QPS $(ratio "${med[vip-lo]}" "${med[dnsdist]}")x dnsdist's, balancer and" \
		"backends ${med_svq[vip-lo]} us per query vs dnsdist's ${med_svq[dnsdist]} us: in-process delivery is" \
		"what makes the difference)"
fi
if [ -n "$client_bound" ] || [ "$ceiling_low" = 1 ]; then
	# The same bound on the service's own cost: capacity 1.5x dnsdist's on the same CPU.
	echo "  (QPS here is not only the balanced service's limit; by CPU per query (balancer and backends), vip" \
		"${med_svq[vip]} us vs dnsdist ${med_svq[dnsdist]} us: capacity $(ratio "${med_svq[dnsdist]}" "${med_svq[vip]}")x" \
		"dnsdist's; ${TARGET_QPS_RATIO}x needs at most" \
		"$(awk -v c="${med_svq[dnsdist]}" -v k="$TARGET_QPS_RATIO" 'BEGIN { printf "%.2f", c / k }') us)"
fi
if [ "$noisy" = 1 ]; then
	echo "  (other processes competed for the CPUs during this run: see the warnings above)"
fi
[ "$STRICT" = 1 ] && [ "$met" -lt "$total" ] && exit 1
exit 0
