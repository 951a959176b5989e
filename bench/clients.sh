#!/usr/bin/env bash
# clients.sh - how fast the clients of `dnschaos run` (real resolver
# libraries driven at the farm) go on one core, and what recording them
# costs, side by side in one run:
#   1. lookups per second per stack against one fake resolver serving
#      scenarios/zones/internal.v2.zone, names that exist, history on:
#      c-ares open loop at increasing rates (ok lookups/s, share ok, latency,
#      CPU per lookup), then each stack's maximum in a closed loop (c-ares and
#      libunbound 256 in flight; glibc, ldns and exec/dig 32 in flight on 32
#      threads; libunbound with its cache off, and on for comparison);
#   2. history lines written per second by the c-ares 20,000/s run;
#   3. the cost of recording: c-ares saturating the core (closed loop) with
#      the history on and off, rounds alternating, max ok lookups/s and their
#      ratio; and CPU per lookup on and off at a fixed 20,000/s.
# Every run is one `dnschaos run` of bench/clients_load.lua pinned to one CPU
# (taskset): the fake resolver and the client share that core, so the figures
# are for the whole farm+client on one core, the conservative figure. Then it
# marks the issue's targets MET or NOT MET: c-ares open loop at least 20,000
# lookups/s, and the history costing under 15% of the maximum.
#
# Usage: bench/clients.sh [--quick] [--rounds N] [--window SEC] [--profile]
#        [--keep] [--strict]
# Every setting can also come from the environment (see --help).
# Needs: taskset, top, dig (for exec), perf (for --profile), and the build,
# brought up to date here (cmake --build, a no-op when nothing changed):
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

RATES=${RATES:-10000 20000 40000 80000 120000}
FIXED_RATE=${FIXED_RATE:-20000}
STACKS=${STACKS:-c-ares glibc ldns libunbound libunbound+cache exec}
LOOP_CONC=${LOOP_CONC:-256}
THREADED_CONC=${THREADED_CONC:-32}
NAMES=${NAMES:-64}
LEAD=${LEAD:-0.5}
WINDOW=${WINDOW:-3}
SAT_WINDOW=${SAT_WINDOW:-5}
ROUNDS=${ROUNDS:-3}
CPU=${CPU:-1}
NICE=${NICE:--10}
OTHER_MAX=${OTHER_MAX:-15}
RETRIES=${RETRIES:-1}
QUIET_WAIT=${QUIET_WAIT:-20}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-30}
SEED=${SEED:-1}
ZONE=${ZONE:-$repo/scenarios/zones/internal.v2.zone}
BUILD=${BUILD:-$repo/build-bench}
DNSCHAOS=${DNSCHAOS:-$BUILD/harness/dnschaos}
NO_BUILD=${NO_BUILD:-0}
PROFILE=${PROFILE:-0}
KEEP=${KEEP:-0}
KEEP_HISTORY=${KEEP_HISTORY:-0}
STRICT=${STRICT:-0}

SCENARIO=$here/clients_load.lua
# Targets from the issue.
TARGET_RATE=20000   # c-ares open loop, lookups per second against the farm
TARGET_COST_PCT=15  # what the history may cost of the maximum ok lookups/s
SUSTAIN_PCT=98      # an open-loop rate is sustained at >= 98% of it in ok lookups/s ...
SUSTAIN_OK_PCT=99   # ... with >= 99% of the lookups invoked in the window ok

usage() {
	cat <<EOF
Usage: $0 [options]
  --quick           smoke run: open loop at 10000 and 20000/s, windows of 1 s,
                    1 round in part 3, no retries (about 25 s)
  --rounds N        part 3: rounds, each with the history on and off (ROUNDS, 3)
  --window SEC      length of a measurement window (WINDOW, 3; part 3's
                    saturation runs: SAT_WINDOW, 5)
  --profile         then perf record -g on c-ares saturating the core, with the
                    history on and off, and the top of perf report (PROFILE=1)
  --keep            keep the scratch directory and print its path (KEEP=1;
                    KEEP_HISTORY=1 keeps the history files in it too: GBs)
  --strict          exit 1 if a target is NOT MET (STRICT=1)
Environment only: RATES (open-loop rates of c-ares, "$RATES"),
  FIXED_RATE (part 2 and part 3's fixed rate, $FIXED_RATE),
  STACKS (part 1's closed-loop rows: c-ares glibc glibc-res ldns libunbound
  libunbound+cache exec; "$STACKS"),
  LOOP_CONC (in flight for c-ares and libunbound, $LOOP_CONC), THREADED_CONC (in flight
  and threads for glibc, glibc-res, ldns, exec, $THREADED_CONC), NAMES (names asked, 8-256, $NAMES),
  LEAD (s before a window, $LEAD), CPU (the CPU dnschaos is pinned to, $CPU; the
  script itself runs on the others), NICE (-10 when root; 0 to share the CPU evenly),
  OTHER_MAX (% of CPU $CPU that other work may use in a window, $OTHER_MAX),
  RETRIES (times a disturbed measurement is redone, $RETRIES), QUIET_WAIT (s to wait
  for a quiet CPU before, $QUIET_WAIT), LOAD_TIMEOUT (s, $LOAD_TIMEOUT), SEED ($SEED),
  ZONE (the zone served), BUILD (build directory, $repo/build-bench), DNSCHAOS
  (the binary; set it to skip the build check), NO_BUILD=1 (never build).
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) RATES="10000 20000" LEAD=0.3 WINDOW=1 SAT_WINDOW=1 ROUNDS=1 RETRIES=0 ;;
	--rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
	--window) WINDOW=${2:?--window needs seconds}; shift ;;
	--profile) PROFILE=1 ;;
	--keep) KEEP=1 ;;
	--strict) STRICT=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$0: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

for v in FIXED_RATE LOOP_CONC THREADED_CONC NAMES SAT_WINDOW ROUNDS CPU OTHER_MAX RETRIES QUIET_WAIT \
	LOAD_TIMEOUT SEED; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
for v in LEAD WINDOW; do
	[[ ${!v} =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "$v must be a number of seconds, not '${!v}'"
done
for r in $RATES; do
	if ! [[ $r =~ ^[0-9]+$ ]] || [ "$r" -lt 1 ] || [ "$r" -gt 1000000 ]; then
		die "RATES: '$r' is not a rate from 1 to 1000000"
	fi
done
[ -n "$RATES" ] || die "RATES is empty"
[[ $NICE =~ ^-?[0-9]+$ ]] || die "NICE must be a whole number, not '$NICE'"
if [ "$NICE" -lt 0 ] && [ "$(id -u)" != 0 ]; then
	NICE=0 # only root may raise a priority
fi
if [ "$ROUNDS" -lt 1 ] || [ "$SAT_WINDOW" -lt 1 ] || [ "$FIXED_RATE" -lt 1 ] || [ "$LOOP_CONC" -lt 1 ] ||
	[ "$THREADED_CONC" -lt 1 ]; then
	die "ROUNDS, SAT_WINDOW, FIXED_RATE, LOOP_CONC and THREADED_CONC must be at least 1"
fi
if [ "$NAMES" -lt 8 ] || [ "$NAMES" -gt 256 ]; then die "NAMES must be from 8 to 256"; fi
awk -v w="$WINDOW" -v l="$LEAD" 'BEGIN { exit !(w >= 0.5 && l >= 0.1) }' || die "WINDOW must be at least 0.5 s, LEAD 0.1 s"
for st in $STACKS; do
	case "$st" in
	c-ares | glibc | glibc-res | ldns | libunbound | libunbound+cache | exec) ;;
	*) die "STACKS: unknown stack '$st' (c-ares glibc glibc-res ldns libunbound libunbound+cache exec)" ;;
	esac
done
[ -r "$SCENARIO" ] || die "$SCENARIO is missing"
[ -r "$ZONE" ] || die "the zone $ZONE is missing"
tools=(taskset top)
[[ " $STACKS " == *" exec "* ]] && tools+=(dig)
[ "$PROFILE" = 1 ] && tools+=(perf)
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null ||
		die "$tool is not installed (apt-get install util-linux procps bind9-dnsutils linux-perf)"
done
ncpu=$(nproc)
[ "$ncpu" -ge 2 ] || die "needs two CPUs: dnschaos on one, this script on the other (this machine has $ncpu)"
[ "$CPU" -lt "$ncpu" ] || die "CPU=$CPU: this machine has CPUs 0 to $((ncpu - 1))"
# The script's own processes (polling, counting) stay off the measured CPU.
script_cpus=$(seq 0 $((ncpu - 1)) | grep -vx "$CPU" | paste -sd, -)

# ---- the build ----

# Built here (configured Release if the build directory is new), or brought up
# to date by the build system (a no-op when nothing changed), unless DNSCHAOS
# was given or NO_BUILD=1.
if [ "$NO_BUILD" != 1 ] && [ "$DNSCHAOS" = "$BUILD/harness/dnschaos" ]; then
	blog="${TMPDIR:-/tmp}/clients_bench.build.$$"
	before=$(stat -c %Y "$DNSCHAOS" 2>/dev/null || echo none)
	if [ ! -f "$BUILD/CMakeCache.txt" ]; then
		echo "== configuring $BUILD (Release)"
		cmake -S "$repo" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >"$blog" 2>&1 ||
			{ tail -20 "$blog" >&2; rm -f "$blog"; die "cmake configure failed"; }
	fi
	cmake --build "$BUILD" -j2 --target dnschaos >"$blog" 2>&1 ||
		{ tail -20 "$blog" >&2; rm -f "$blog"; die "the build of $DNSCHAOS failed"; }
	rm -f "$blog"
	[ "$(stat -c %Y "$DNSCHAOS" 2>/dev/null || echo none)" = "$before" ] || echo "== built $DNSCHAOS"
fi
[ -x "$DNSCHAOS" ] || die "$DNSCHAOS is not built: cd $repo && cmake -S . -B build-bench" \
	"-DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2 (or set BUILD=dir)"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/clients_bench.XXXXXX")
pids=()          # processes we started and have not stopped yet
autogroup_saved= # the session's autogroup niceness to restore, if we changed it

# stop_pid PID: SIGTERM, a bounded wait, then SIGKILL, and reaps it.
stop_pid() {
	local pid=$1 i keep=() p
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(proc_id "$pid" | cut -d' ' -f2)" = Z ] && break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
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

taskset -pc "$script_cpus" $$ >/dev/null

# A shared machine: a negative niceness lets dnschaos take its CPU from other
# work while it runs. With autogroup scheduling (Debian's default) niceness
# only counts inside one session, so the niceness of this session's autogroup
# is raised too, and restored on exit.
if [ "$NICE" != 0 ] && [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ] &&
	autogroup_saved=$(awk '{ print $NF }' "/proc/$$/autogroup" 2>/dev/null) &&
	echo "$NICE" 2>/dev/null >"/proc/$$/autogroup"; then
	:
else
	autogroup_saved=
fi

clk_tck=$(getconf CLK_TCK)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.3f", a / b }'; }

# proc_ticks PID: CPU time of PID, all its threads and its reaped children
# (exec's commands), in clock ticks.
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# cpu_busy N: busy ticks of CPU N so far (user, nice, system, irq, softirq, steal).
cpu_busy() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# proc_snapshot: "pid ticks name cpu" of every process now (user + system, all
# threads; cpu: the CPU it last ran on).
proc_snapshot() {
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk '{
		name = $0; sub(/^[^(]*\(/, "", name); sub(/\) [^)]*$/, "", name); gsub(/ /, "_", name)
		rest = $0; sub(/^.*\) /, "", rest); split(rest, f, " ")
		print $1, f[12] + f[13], name, f[37]
	}'
}
# top_others BEFORE AFTER SECONDS PID: the processes, other than PID and this
# script, last seen on CPU that used 3% of a CPU or more between two
# snapshots, busiest first.
top_others() {
	awk -v t="$3" -v hz="$clk_tck" -v ours="$4" -v me="$$" -v cpu="$CPU" '
		FNR == NR { before[$1] = $2; next }
		$1 != ours && $1 != me && $4 == cpu {
			pct = 100 * ($2 - before[$1]) / hz / t
			if (pct >= 3) printf "%.0f%% PID %s (%s)\n", pct, $1, $3
		}' "$1" "$2" | sort -rn | first 4 | paste -sd, - | sed 's/,/, /g'
}

noisy=0

# wait_line PID FILE REGEX SECONDS WHAT: bounded wait until FILE has a line matching REGEX.
wait_line() {
	local deadline
	deadline=$(awk -v n="$(now)" -v s="$4" 'BEGIN { printf "%.3f", n + s }')
	while ! grep -qE "$3" "$2" 2>/dev/null; do
		if ! kill -0 "$1" 2>/dev/null || [ "$(proc_id "$1" | cut -d' ' -f2)" = Z ]; then
			cat "$2" "$2.err" >&2 2>/dev/null
			die "$5 (PID $1) ended before it printed /$3/ (log above)"
		fi
		awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n > d) }' &&
			die "$5: no /$3/ within $4 s"
		sleep 0.005
	done
}

# wait_exit PID SECONDS WHAT: bounded wait for PID to exit; sets exit_rc.
wait_exit() {
	local i n
	n=$(awk -v s="$2" 'BEGIN { printf "%d", s * 20 }')
	for ((i = 0; i < n; i++)); do
		kill -0 "$1" 2>/dev/null || break
		[ "$(proc_id "$1" | cut -d' ' -f2)" = Z ] && break
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null && [ "$(proc_id "$1" | cut -d' ' -f2)" != Z ]; then
		stop_pid "$1"
		die "$3 (PID $1) did not exit within $2 s of its window's end; stopped"
	fi
	exit_rc=0
	wait "$1" 2>/dev/null || exit_rc=$?
	local keep=() p
	for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	pids=("${keep[@]}")
}

# stats_of FILE start|end: "t invoked ok failed timeouts overload wire" from
# the scenario's "window start/end" line (c:stats() printed at that time).
stats_of() {
	awk -v w="$2" '$0 ~ "\\] window " w " " {
		t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t)
		for (i = 1; i <= NF; i++) if (split($i, kv, "=") == 2) v[kv[1]] = kv[2]
		print t, v["invoked"], v["ok"], v["failed"], v["timeouts"], v["overload"], v["wire"]; found = 1; exit
	} END { if (!found) exit 1 }' "$1"
}

# hist_window FILE T0 T1 LATFILE: counts, from the history, what happened in
# the window [T0, T1): "invoked ok failed timeouts wire lines t_end", wire
# being the `query` lines (the wire queries the resolver saw), lines every
# line of the file and t_end the time of its `end` line. The latencies of the
# ok lookups go to LATFILE (none when it is "-").
hist_window() {
	LC_ALL=C awk -v t0="$2" -v t1="$3" -v lat="$4" '
		{
			c = index($0, ","); t = substr($0, 6, c - 6) + 0
			if (index($0, "\"type\":\"end\"")) tend = t
			if (t < t0 || t >= t1) next
			if (index($0, "\"type\":\"query\"")) { wire++; next }
			if (!index($0, "\"type\":\"lookup\"")) next
			if (index($0, "\"event\":\"invoke\"")) inv++
			else if (index($0, "\"event\":\"ok\"")) {
				ok++
				if (lat != "-") { i = index($0, "\"latency_ms\":"); print substr($0, i + 13) + 0 > lat }
			} else if (index($0, "\"event\":\"timeout\"")) tmo++
			else if (index($0, "\"event\":\"fail\"")) fail++
		}
		END { printf "%d %d %d %d %d %d %s\n", inv, ok, fail, tmo, wire, NR, (tend == "" ? 0 : tend) }' "$1"
}

# percentiles FILE: "p50 p99" of the numbers in FILE ("- -" if none).
percentiles() {
	[ -s "$1" ] || { echo "- -"; return; }
	sort -g "$1" | awk '{ a[NR] = $1 } END {
		p50 = a[int(0.50 * (NR - 1)) + 1]; p99 = a[int(0.99 * (NR - 1)) + 1]
		printf "%.3f %.3f\n", p50, p99 }'
}

# ---- one measurement ----

# run_one TAG STACK RATE CONC THREADS CACHE WINDOW HIST(0/1) [LAT(0/1)]: one
# `dnschaos run` of the load scenario pinned to CPU, with the client of STACK
# at RATE (open loop) or CONC in flight (RATE 0); reads its CPU time at the
# window's start and end. Sets R_* (see below).
run_one() {
	local tag=$1 stack=$2 rate=$3 conc=$4 threads=$5 cache=$6 win=$7 hist=$8 lat=${9:-0}
	local sc="$scratch/$tag.lua" out="$scratch/$tag.out" args=() pid c0 c1 k0 k1 t0 t1 s0 latf=-
	local ts inv0 ok0 fail0 tmo0 ovl0 te inv1 ok1 fail1 tmo1 ovl1
	sed -e "s|^local ZONE = .*|local ZONE = \"$ZONE\"|" \
		-e "s|^local STACK = .*|local STACK = \"$stack\"|" \
		-e "s|^local RATE = .*|local RATE = $rate|" \
		-e "s|^local CONCURRENCY = .*|local CONCURRENCY = $conc|" \
		-e "s|^local THREADS = .*|local THREADS = $threads|" \
		-e "s|^local CACHE = .*|local CACHE = $cache|" \
		-e "s|^local NAMES = .*|local NAMES = $NAMES|" \
		-e "s|^local LEAD = .*|local LEAD = $LEAD|" \
		-e "s|^local WINDOW = .*|local WINDOW = $win|" \
		-e "s|^local SEED = .*|local SEED = $SEED|" \
		"$SCENARIO" >"$sc"
	if [ "$(grep -cE '^local (ZONE|STACK|RATE|CONCURRENCY|THREADS|CACHE|NAMES|LEAD|WINDOW|SEED) = ' "$sc")" != 10 ] ||
		! grep -q "^local STACK = \"$stack\"" "$sc"; then
		die "cannot write the settings into $sc"
	fi
	R_hist=
	if [ "$hist" = 1 ]; then
		R_hist="$scratch/$tag.history.jsonl"
		args=(--history "$R_hist")
		[ "$lat" = 1 ] && latf="$scratch/$tag.lat"
	fi
	nice -n "$NICE" taskset -c "$CPU" "$DNSCHAOS" run "$sc" "${args[@]}" >"$out" 2>"$out.err" &
	pid=$!
	pids+=("$pid")
	wait_line "$pid" "$out" '\] window start ' "$(awk -v l="$LEAD" -v t="$LOAD_TIMEOUT" 'BEGIN { print l + t }')" \
		"dnschaos run ($tag)"
	c0=$(proc_ticks "$pid") k0=$(cpu_busy "$CPU") t0=$(now)
	proc_snapshot >"$scratch/snap0"
	wait_line "$pid" "$out" '\] window end ' "$(awk -v w="$win" -v t="$LOAD_TIMEOUT" 'BEGIN { print w + t }')" \
		"dnschaos run ($tag)"
	c1=$(proc_ticks "$pid") k1=$(cpu_busy "$CPU") t1=$(now)
	proc_snapshot >"$scratch/snap1"
	wait_exit "$pid" "$LOAD_TIMEOUT" "dnschaos run ($tag)"
	if [ "$exit_rc" != 0 ]; then
		cat "$out" "$out.err" >&2
		die "dnschaos run ($tag) exited $exit_rc, not 0"
	fi
	read -r ts inv0 ok0 fail0 tmo0 ovl0 _ <<<"$(stats_of "$out" start)" || die "no window start line in $out"
	read -r te inv1 ok1 fail1 tmo1 ovl1 _ <<<"$(stats_of "$out" end)" || die "no window end line in $out"
	s0=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	# R_win: the window on the run's clock; R_inv, R_ok, R_done (ok + failed +
	# timeouts), R_fail, R_ovl: lookups in it (R_ok from the history when on);
	# R_okps: ok lookups per second; R_share: ok / done in %; R_cpu: the
	# process's CPU in % of one CPU; R_cpuus: its CPU per lookup done;
	# R_other: what else ran on CPU, in %; R_wpl: wire queries per lookup done.
	R_win=$(awk -v a="$ts" -v b="$te" 'BEGIN { printf "%.3f", b - a }')
	R_inv=$((inv1 - inv0)) R_ok=$((ok1 - ok0)) R_fail=$((fail1 - fail0)) R_ovl=$((ovl1 - ovl0))
	R_done=$((R_ok + R_fail + tmo1 - tmo0))
	R_wpl=- R_p50=- R_p99=- R_lines=- R_bytes=- R_tend=- R_check=
	if [ -n "$R_hist" ]; then
		local h_inv h_ok h_fail h_tmo h_wire
		read -r h_inv h_ok h_fail h_tmo h_wire R_lines R_tend <<<"$(hist_window "$R_hist" "$ts" "$te" "$latf")"
		R_bytes=$(stat -c %s "$R_hist")
		if [ -z "$meta" ]; then meta=$(head -1 "$R_hist"); fi
		# The history and the client's counters must tell the same story.
		if awk -v a="$h_ok" -v b="$R_ok" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d > 10 + 0.01 * b) }'; then
			R_check=" (history: $h_ok ok, counters: $R_ok)"
		fi
		R_inv=$h_inv R_ok=$h_ok R_done=$((h_ok + h_fail + h_tmo))
		R_wpl=$(awk -v w="$h_wire" -v n="$R_done" 'BEGIN { printf "%.3f", n ? w / n : 0 }')
		if [ "$latf" != - ]; then read -r R_p50 R_p99 <<<"$(percentiles "$latf")"; rm -f "$latf"; fi
		[ "$KEEP_HISTORY" = 1 ] || rm -f "$R_hist" # can be GBs; the counts are what we keep
	fi
	read -r R_okps R_share R_cpu R_cpuus R_other <<<"$(awk -v ok="$R_ok" -v inv="$R_inv" -v done="$R_done" \
		-v w="$R_win" -v s="$s0" -v c="$((c1 - c0))" -v k="$((k1 - k0))" -v hz="$clk_tck" 'BEGIN {
		o = 100 * (k - c) / hz / s; if (o < 0) o = 0
		printf "%.0f %.2f %.0f %.2f %.0f\n", ok / w, done ? 100 * ok / done : 0, 100 * c / hz / s,
			done ? 1e6 * c / hz / done : 0, o }')"
	R_others=$(top_others "$scratch/snap0" "$scratch/snap1" "$s0" "$pid")
}

# measure ARGS...: run_one ARGS, redone (up to RETRIES times, after waiting up
# to QUIET_WAIT s for a quiet CPU) while other work used OTHER_MAX% of CPU or
# more in the window. Sets R_mark to what the table should say about that.
measure() {
	local attempt
	for ((attempt = 0; ; attempt++)); do
		run_one "$@"
		R_mark=
		[ "$R_other" -ge "$OTHER_MAX" ] || break
		if [ "$attempt" -ge "$RETRIES" ]; then
			R_mark=" disturbed, kept${R_others:+: $R_others}"
			kept_disturbed=$((kept_disturbed + 1))
			break
		fi
		echo "   (disturbed, redone: other ${R_other}% on CPU $CPU: ${R_others:-unnamed work})"
		redone=$((redone + 1))
		wait_quiet || echo "   (CPU $CPU still busy after ${QUIET_WAIT} s; measuring anyway)"
	done
}
redone=0 kept_disturbed=0

# wait_quiet: waits (at most QUIET_WAIT s) for 1 s in which CPU uses under OTHER_MAX%.
wait_quiet() {
	local deadline=$(($(date +%s) + QUIET_WAIT)) k0 k1
	while [ "$(date +%s)" -lt "$deadline" ]; do
		k0=$(cpu_busy "$CPU")
		sleep 1
		k1=$(cpu_busy "$CPU")
		[ $((100 * (k1 - k0) / clk_tck)) -lt "$OTHER_MAX" ] && return 0
	done
	return 1
}

# ---- header ----

started=$(date +%s)
meta=
echo "== clients: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n), $ncpu CPUs"
btype=$(awk -F= '/^CMAKE_BUILD_TYPE:/ { print $2 }' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
echo "   dnschaos: $DNSCHAOS ($("$DNSCHAOS" --version 2>&1 | head -1), built $(date -u -r "$DNSCHAOS" '+%Y-%m-%d %H:%M')${btype:+, $btype})"
if head=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null); then
	dirty=$(git -C "$repo" status --porcelain -- fakeresolver harness | wc -l)
	echo "   source: commit $head$([ "$dirty" = 0 ] || echo ", $dirty uncommitted change(s) under fakeresolver/ harness/")"
fi
echo "   pinning: dnschaos (the fake resolver and the client, one process) on CPU $CPU (taskset), at nice" \
	"$NICE$([ -z "$autogroup_saved" ] || echo ", session autogroup at nice $NICE"); this script on CPU $script_cpus"
echo "   zone: $ZONE; $NAMES names that exist, picked uniformly; one resolver, no VIP"
echo "   history files in $scratch ($(df -PT "$scratch" | awk 'NR == 2 { print $2 " on " $1 }'))"
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
busy_report "at the start"

# ---- 1. lookups per second ----

row_fmt='%-20s %-16s %8s %8s %8s %8s %5s %11s %8s %6s%s\n'
# shellcheck disable=SC2059 # the format is row_fmt
row_head() { printf "$row_fmt" stack load "ok/s" "ok %" "p50 ms" "p99 ms" CPU "CPU/lookup" "wire/lk" other ""; }
row() { # row STACK LOAD
	# shellcheck disable=SC2059
	printf "$row_fmt" "$1" "$2" "$R_okps" "$R_share%" "$R_p50" "$R_p99" "$R_cpu%" "$R_cpuus us" "$R_wpl" \
		"$R_other%" "$R_mark$R_check$([ "$R_ovl" = 0 ] || echo " ($R_ovl overload)")"
}

echo
echo "== 1. lookups per second on one core: one dnschaos run per row, history on, window ${WINDOW} s after ${LEAD} s"
echo "   ok/s = ok lookups completed in the window (counted in the history) / window; ok % = ok / lookups"
echo "   completed in the window; p50, p99: latency of the ok ones (invoke to completion, queueing included)"
echo "   CPU = dnschaos's CPU time in the window (resolver + client + history, all threads, exec's commands"
echo "   included) in % of one CPU; CPU/lookup = that / lookups completed; wire/lk = queries the resolver saw"
echo "   per lookup; other = CPU $CPU's time used by anything else (a redone or kept measurement says so)"
echo "   -- c-ares, open loop (Poisson arrivals at the rate, whatever the farm does)"
row_head
best_rate=0 best_okps=0 max_open_okps=0
for rate in $RATES; do
	measure "open.$rate" c-ares "$rate" 0 0 false "$WINDOW" 1 1
	row c-ares "rate $rate/s"
	if [ "$R_okps" -gt "$max_open_okps" ]; then max_open_okps=$R_okps; fi
	if awk -v ok="$R_okps" -v r="$rate" -v sh="$R_share" -v a="$SUSTAIN_PCT" -v b="$SUSTAIN_OK_PCT" \
		'BEGIN { exit !(ok >= r * a / 100 && sh >= b) }'; then
		if [ "$rate" -gt "$best_rate" ]; then best_rate=$rate best_okps=$R_okps; fi
	fi
	if [ "$rate" = "$FIXED_RATE" ]; then
		fixed_lines=$R_lines fixed_bytes=$R_bytes fixed_tend=$R_tend fixed_ok=$R_ok fixed_win=$R_win
		fixed_okps=$R_okps
	fi
done

echo "   -- closed loop: each stack's maximum (lookups kept in flight; threaded stacks: as many threads)"
row_head
for st in $STACKS; do
	stack=$st cache=false conc=$THREADED_CONC threads=$THREADED_CONC
	case "$st" in
	c-ares) conc=$LOOP_CONC threads=0 ;;
	libunbound) conc=$LOOP_CONC threads=0 ;;
	libunbound+cache) stack=libunbound cache=true conc=$LOOP_CONC threads=0 ;;
	esac
	measure "closed.$st" "$stack" 0 "$conc" "$threads" "$cache" "$WINDOW" 1 1
	load="conc $conc"
	[ "$threads" = 0 ] || load+=" x$threads thr"
	label=$st
	case "$st" in
	libunbound) label="libunbound (nocache)" ;;
	libunbound+cache) label="libunbound (cache)" ;;
	exec) label="exec (dig)" ;;
	esac
	row "$label" "$load"
done
echo "   (one core for everything: the fake resolver answering, the stack, the client's bookkeeping and the"
echo "   history; on a machine with a core per side each figure would be higher)"
if [[ " $STACKS " == *" libunbound"* ]]; then
	echo "   libunbound joins lookups of a name already in flight into one query (its mesh), so"
	echo "   wire/lk is below 1 even with its cache off; with the cache on most lookups never reach the farm."
fi

# ---- 2. history lines per second ----

echo
echo "== 2. history written by the c-ares open loop at $FIXED_RATE/s"
if [ -z "${fixed_lines:-}" ]; then
	# FIXED_RATE is not one of RATES: one more run for it.
	measure "open.$FIXED_RATE" c-ares "$FIXED_RATE" 0 0 false "$WINDOW" 1
	fixed_lines=$R_lines fixed_bytes=$R_bytes fixed_tend=$R_tend fixed_ok=$R_ok fixed_win=$R_win
	fixed_okps=$R_okps
fi
awk -v l="$fixed_lines" -v b="$fixed_bytes" -v t="$fixed_tend" -v ok="$fixed_ok" -v w="$fixed_win" -v okps="$fixed_okps" 'BEGIN {
	printf "   %d lines, %.1f MiB in %.2f s of run (meta to end line): %.0f lines/s, %.1f MiB/s\n", l, b / 1048576, t, l / t, b / t / 1048576
	printf "   %.0f ok lookups/s in the window; %.2f lines and %.0f bytes per lookup over the run\n", okps, l / (okps * t), b / (okps * t)
	printf "   (per lookup: its invoke and its completion, and the resolver'"'"'s query line joined to it)\n"
}'

# ---- 3. the cost of recording ----

echo
echo "== 3. the cost of the history: c-ares, the same run with --history FILE (on) and without (off)"
echo "   3a. saturating the core: closed loop, $LOOP_CONC in flight, ${SAT_WINDOW} s windows, $ROUNDS round(s), order alternating"
echo "   (without a history the lookups are counted from the client's counters, c:stats(), printed by the"
echo "   scenario at the window's start and end)"
printf '%-5s %-5s %8s %8s %5s %11s %6s\n' round hist "ok/s" "ok %" CPU "CPU/lookup" other
declare -A sat_okps=() sat_cpuus=() fix_cpuus=() fix_cpu=()
for mode in on off; do sat_okps[$mode]='' sat_cpuus[$mode]='' fix_cpuus[$mode]='' fix_cpu[$mode]=''; done
for ((r = 1; r <= ROUNDS; r++)); do
	order="on off"
	[ $((r % 2)) = 0 ] && order="off on"
	for mode in $order; do
		h=0
		[ "$mode" = on ] && h=1
		measure "sat.$r.$mode" c-ares 0 "$LOOP_CONC" 0 false "$SAT_WINDOW" "$h"
		printf '%-5s %-5s %8s %8s %5s %11s %6s%s\n' "$r" "$mode" "$R_okps" "$R_share%" "$R_cpu%" "$R_cpuus us" \
			"$R_other%" "$R_mark$R_check"
		sat_okps[$mode]+=" $R_okps" sat_cpuus[$mode]+=" $R_cpuus"
	done
done
echo "   3b. fixed load: open loop at $FIXED_RATE/s, ${WINDOW} s windows, $ROUNDS round(s), order alternating"
printf '%-5s %-5s %8s %8s %5s %11s %6s\n' round hist "ok/s" "ok %" CPU "CPU/lookup" other
for ((r = 1; r <= ROUNDS; r++)); do
	order="off on"
	[ $((r % 2)) = 0 ] && order="on off"
	for mode in $order; do
		h=0
		[ "$mode" = on ] && h=1
		measure "fixed.$r.$mode" c-ares "$FIXED_RATE" 0 0 false "$WINDOW" "$h"
		printf '%-5s %-5s %8s %8s %5s %11s %6s%s\n' "$r" "$mode" "$R_okps" "$R_share%" "$R_cpu%" "$R_cpuus us" \
			"$R_other%" "$R_mark$R_check"
		fix_cpuus[$mode]+=" $R_cpuus" fix_cpu[$mode]+=" $R_cpu"
	done
done
# shellcheck disable=SC2086 # word lists
{
	sat_on=$(median ${sat_okps[on]}) sat_off=$(median ${sat_okps[off]})
	satc_on=$(median ${sat_cpuus[on]}) satc_off=$(median ${sat_cpuus[off]})
	fixc_on=$(median ${fix_cpuus[on]}) fixc_off=$(median ${fix_cpuus[off]})
	fixp_on=$(median ${fix_cpu[on]}) fixp_off=$(median ${fix_cpu[off]})
}
cost=$(awk -v a="$sat_on" -v b="$sat_off" 'BEGIN { printf "%.1f", b ? 100 * (1 - a / b) : 100 }')
echo "   medians: saturated: on $sat_on ok/s, off $sat_off ok/s: ratio on/off $(ratio "$sat_on" "$sat_off")," \
	"cost $cost%; CPU/lookup $satc_on us on, $satc_off us off ($(ratio "$satc_on" "$satc_off")x)"
echo "            at $FIXED_RATE/s: CPU/lookup $fixc_on us on, $fixc_off us off ($(ratio "$fixc_on" "$fixc_off")x);" \
	"CPU $fixp_on% on, $fixp_off% off"

# ---- optional profile ----

if [ "$PROFILE" = 1 ]; then
	echo
	echo "== profile: perf record -g on dnschaos, c-ares closed loop $LOOP_CONC in flight, ${SAT_WINDOW} s, history on and off"
	for mode in on off; do
		h=0
		[ "$mode" = on ] && h=1
		sc_tag="profile.$mode"
		# The run takes LEAD + SAT_WINDOW; perf follows it from the start and ends with it.
		sed -e "s|^local ZONE = .*|local ZONE = \"$ZONE\"|" -e 's|^local STACK = .*|local STACK = "c-ares"|' \
			-e 's|^local RATE = .*|local RATE = 0|' -e "s|^local CONCURRENCY = .*|local CONCURRENCY = $LOOP_CONC|" \
			-e "s|^local NAMES = .*|local NAMES = $NAMES|" -e "s|^local LEAD = .*|local LEAD = $LEAD|" \
			-e "s|^local WINDOW = .*|local WINDOW = $SAT_WINDOW|" "$SCENARIO" >"$scratch/$sc_tag.lua"
		args=()
		[ "$h" = 1 ] && args=(--history "$scratch/$sc_tag.history.jsonl")
		timeout $((SAT_WINDOW + LOAD_TIMEOUT)) perf record -g -o "$scratch/$sc_tag.data" -- \
			nice -n "$NICE" taskset -c "$CPU" "$DNSCHAOS" run "$scratch/$sc_tag.lua" "${args[@]}" \
			>"$scratch/$sc_tag.out" 2>"$scratch/$sc_tag.err" || { cat "$scratch/$sc_tag.err" >&2; die "perf record failed"; }
		rm -f "$scratch/$sc_tag.history.jsonl"
		read -r ts inv0 ok0 _ <<<"$(stats_of "$scratch/$sc_tag.out" start)"
		read -r te inv1 ok1 _ <<<"$(stats_of "$scratch/$sc_tag.out" end)"
		echo "  -- history $mode: $(awk -v a="$ok0" -v b="$ok1" -v w="$(awk -v a="$ts" -v b="$te" 'BEGIN { print b - a }')" \
			'BEGIN { printf "%.0f", (b - a) / w }') ok lookups/s under perf (perf's sampling costs some)"
		perf_top() {
			perf report -i "$scratch/$sc_tag.data" --stdio --no-children -g none "$@" 2>/dev/null |
				grep -E '^ +[0-9]' | head -"${PERF_TOP:-20}" | sed 's/^/  /' || true
		}
		echo "  self time by binary:"
		PERF_TOP=8 perf_top --sort dso
		echo "  self time by symbol, top 25:"
		PERF_TOP=25 perf_top -F overhead,dso,sym
		echo "  user space only, top 15:"
		PERF_TOP=15 perf_top -F overhead,dso,sym --dsos "$(basename "$DNSCHAOS"),libc.so.6,$(basename \
			"$(readlink -f "$(ldd "$DNSCHAOS" | awk '/libcares/ { print $3 }')")"),[vdso]"
	done
	echo "  (perf.data files: $scratch/profile.{on,off}.data with --keep)"
fi

# ---- targets ----

met=0 total=0
verdict() { # verdict TEXT OBSERVED CONDITION(awk expression that is true when met)
	local ok
	ok=$(awk "BEGIN { print ($3) ? 1 : 0 }")
	total=$((total + 1))
	if [ "$ok" = 1 ]; then met=$((met + 1)); ok=MET; else ok="NOT MET"; fi
	printf '  %-44s %-66s %s\n' "$1" "$2" "$ok"
}
echo
echo "== stack versions: $(printf '%s\n' "$meta" | grep -oE '"(c-ares|libunbound|ldns|glibc)":"[^"]*"' | tr -d '"' |
	sed 's/:/ /' | paste -sd, - | sed 's/,/, /g')$([[ " $STACKS " != *" exec "* ]] || echo ", $(dig -v 2>&1 | head -1)")"
echo "== targets (load average now: $(cut -d' ' -f1-3 /proc/loadavg); $(($(date +%s) - started)) s)"
busy_report "at the end"
if [ "$best_rate" -gt 0 ]; then
	sustained="sustained up to $best_rate/s offered ($best_okps ok/s)"
else
	sustained="no rate sustained"
fi
verdict "c-ares open loop >= $TARGET_RATE lookups/s" \
	"$sustained; most in open loop $max_open_okps ok/s" "$best_rate >= $TARGET_RATE"
verdict "history costs < ${TARGET_COST_PCT}% of max ok lookups/s" \
	"cost $cost%: $sat_on ok/s on vs $sat_off off = $(ratio "$sat_on" "$sat_off")x (bound > $(awk -v p="$TARGET_COST_PCT" 'BEGIN { printf "%.2fx", 1 - p / 100 }'))" \
	"$cost < $TARGET_COST_PCT"
echo "  $met of $total targets met"
echo "  (a rate is sustained when ok lookups/s reach ${SUSTAIN_PCT}% of it with ${SUSTAIN_OK_PCT}% of the lookups completed ok)"
if [ "$redone" -gt 0 ] || [ "$kept_disturbed" -gt 0 ]; then
	echo "  $redone measurement(s) redone, $kept_disturbed kept although disturbed (other >= ${OTHER_MAX}% of CPU $CPU)"
	[ "$kept_disturbed" = 0 ] || noisy=1
fi
if [ "$noisy" = 1 ]; then
	echo "  (other work competed for the CPUs during this run: see the warnings above; run again on a quiet machine)"
fi
[ "$STRICT" = 1 ] && [ "$met" -lt "$total" ] && exit 1
exit 0
