#!/usr/bin/env bash
# runner_overhead.sh - what running a fake resolver inside `dnschaos run` costs
# against the standalone fakeresolver daemon, side by side in one run: the same
# zone, the same query file, the same dnsperf load, rounds alternating between
#   standalone  fakeresolver --listen 127.0.0.1:PORT --zone FILE
#   farm+hist   dnschaos run runner_overhead.lua --history FILE (every query
#               recorded, as the farm runs for real)
#   farm        dnschaos run runner_overhead.lua (no history)
# The server is pinned to one CPU and dnsperf to the other. It prints QPS and
# CPU per query per round, the medians, the ratios farm/standalone and the
# issue's target (the runner costs under 10% of QPS) as MET or NOT MET, and
# the history lines and bytes written per second. Each server then gets the
# same paced load (dnsperf -Q), where its CPU time per query is its cost
# free of dnsperf's own limits.
#
# Usage: bench/runner_overhead.sh [--quick] [--rounds N] [--duration SEC]
#        [--records N] [--profile] [--keep] [--strict]
# Needs: dnsperf, dig, taskset, python3 (perf for --profile), and the build:
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build-bench -j2
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-1}
CLIENTS=${CLIENTS:-4}
RECORDS=${RECORDS:-100000}
QUERIES=${QUERIES:-100000}
PACED_QPS=${PACED_QPS:-100000}
PACED_SECONDS=${PACED_SECONDS:-5}
OTHER_MAX=${OTHER_MAX:-15}
RETRIES=${RETRIES:-2}
QUIET_WAIT=${QUIET_WAIT:-120}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-60}
SEED=${SEED:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
FARM_ADDR=${FARM_ADDR:-127.0.0.21}
BUILD=${BUILD:-$repo/build-bench}
FAKERESOLVER=${FAKERESOLVER:-$BUILD/fakeresolver/fakeresolver}
DNSCHAOS=${DNSCHAOS:-$BUILD/harness/dnschaos}
PROFILE=${PROFILE:-0}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}

ORIGIN=bench.test.
SCENARIO=$here/scenarios/runner_overhead.lua
# The issue: the runner must cost under 10% of QPS (farm >= 0.90x standalone).
TARGET_COST_PCT=10

usage() {
	cat <<EOF
Usage: $0 [options]
  --quick           smoke run: 1 round of 2 s, 10,000 records, no warm-up
  --rounds N        rounds; each runs all three variants (ROUNDS, default 3)
  --duration SEC    length of one measurement (DURATION, default 10)
  --records N       A records in the zone (RECORDS, default 100000)
  --profile         then one more farm+history round under perf record -g, and
                    the top of perf report (PROFILE=1)
  --keep            keep the scratch directory and print its path (KEEP=1)
  --strict          exit 1 if a target is NOT MET (STRICT=1)
Environment only: WARMUP (s of untimed load before each measurement, 1),
  PACED_QPS (the paced load, dnsperf -Q, 100000; 0 skips it), PACED_SECONDS (5),
  OTHER_MAX (% of a CPU that other work may use during a measurement, 15),
  RETRIES (times a disturbed measurement is redone, 2), QUIET_WAIT (s to wait
  for a quiet machine before redoing one, 120),
  CLIENTS (dnsperf -c, 4), QUERIES (query file lines, 100000), SEED (1),
  LOAD_TIMEOUT (s, 60), SERVER_CPU (0), CLIENT_CPU (1),
  FARM_ADDR (the farm resolver's loopback address, 127.0.0.21),
  BUILD (build directory, $repo/build-bench), FAKERESOLVER, DNSCHAOS (binaries).
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) ROUNDS=1 DURATION=2 WARMUP=0 RECORDS=10000 PACED_SECONDS=1 ;;
	--rounds) ROUNDS=${2:?--rounds needs a number}; shift ;;
	--duration) DURATION=${2:?--duration needs seconds}; shift ;;
	--records) RECORDS=${2:?--records needs a number}; shift ;;
	--profile) PROFILE=1 ;;
	--keep) KEEP=1 ;;
	--strict) STRICT=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$0: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

for v in ROUNDS DURATION WARMUP CLIENTS RECORDS QUERIES PACED_QPS PACED_SECONDS OTHER_MAX RETRIES QUIET_WAIT \
	LOAD_TIMEOUT SEED SERVER_CPU CLIENT_CPU; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
if [ "$ROUNDS" -lt 1 ] || [ "$DURATION" -lt 1 ] || [ "$RECORDS" -lt 1 ]; then
	die "ROUNDS, DURATION and RECORDS must be at least 1"
fi
[[ $FARM_ADDR =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "FARM_ADDR must be in 127.0.0.0/8, not '$FARM_ADDR'"
for b in "$FAKERESOLVER" "$DNSCHAOS"; do
	[ -x "$b" ] || die "$b is not built: cd $repo && cmake -S . -B build-bench" \
		"-DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build-bench -j2 (or set BUILD=dir)"
done
[ -r "$SCENARIO" ] || die "$SCENARIO is missing"
tools=(dnsperf dig taskset python3)
[ "$PROFILE" = 1 ] && tools+=(perf)
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install dnsperf bind9-dnsutils util-linux python3 linux-perf)"
done
ncpu=$(nproc)
if [ "$SERVER_CPU" -ge "$ncpu" ] || [ "$CLIENT_CPU" -ge "$ncpu" ] || [ "$SERVER_CPU" = "$CLIENT_CPU" ]; then
	die "need two distinct CPUs for SERVER_CPU=$SERVER_CPU and CLIENT_CPU=$CLIENT_CPU (this machine has $ncpu)"
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/runner_overhead.XXXXXX")
pids=() # servers we started and have not stopped yet

# stop_pid PID: SIGTERM, a bounded wait, then SIGKILL; sets stopped_rc to the
# exit status (dnschaos exits 2 after SIGTERM: "interrupted", history complete).
stop_pid() {
	local pid=$1 i
	stopped_rc=
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(proc_id "$pid" | cut -d' ' -f2)" = Z ] && break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	stopped_rc=0
	wait "$pid" 2>/dev/null || stopped_rc=$?
	local keep=() p
	for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
	pids=("${keep[@]}")
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$? pid
	for pid in "${pids[@]}"; do stop_pid "$pid"; done
	if [ "$KEEP" = 1 ]; then
		echo "scratch directory kept: $scratch"
	else
		rm -rf "$scratch"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.3f", a / b }'; }

clk_tck=$(getconf CLK_TCK)

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

# answers HOST PORT: true if the server answers the zone's SOA (serial from gen_zone.py).
answers() {
	local a
	a=$(dig +short +time=1 +tries=1 +norec -p "$2" "@$1" "$ORIGIN" SOA 2>/dev/null || true)
	[[ $a == *" 2024010101 "* ]]
}

# run_dnsperf HOST PORT SECONDS OUT [ARGS...]: the throughput load, dnsperf on CLIENT_CPU.
run_dnsperf() {
	timeout $(($3 + 60)) taskset -c "$CLIENT_CPU" \
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

# cpu_use TICKS SECONDS COMPLETED: "CPU% us-per-query" of a server over a measurement.
cpu_use() {
	awk -v c="$1" -v hz="$clk_tck" -v t="$2" -v n="$3" \
		'BEGIN { printf "%.0f %.2f\n", 100 * c / hz / t, n ? 1e6 * c / hz / n : 0 }'
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

# history_count FILE: "lines bytes" of the history written so far (the runner
# writes every 100 ms, so this lags the queries by at most that).
history_count() {
	[ -e "$1" ] || { echo "0 0"; return; }
	echo "$(wc -l <"$1") $(stat -c %s "$1")"
}

# ---- the three ways of serving ----

variants=(standalone farm+hist farm)
# start_variant V ROUND: starts variant V on SERVER_CPU, waits until it
# answers; sets spid, shost, sport, slog and shist (the history file or "").
start_variant() {
	local v=$1 tag="$1.$2"
	slog="$scratch/$tag.out" shist=
	if [ "$v" = standalone ]; then
		shost=127.0.0.1 sport=$(free_port 127.0.0.1)
		# Not --quiet: that hides the "ready" line too (it prints nothing per query either way).
		taskset -c "$SERVER_CPU" "$FAKERESOLVER" --listen "$shost:$sport" --zone "$zone" \
			>"$slog" 2>"$slog.err" &
		spid=$!
		pids+=("$spid")
		wait_line "$spid" "$slog.err" '^fakeresolver: ready' "fakeresolver"
	else
		shost=$FARM_ADDR sport=$(free_port "$FARM_ADDR")
		local sc="$scratch/$tag.lua" args=()
		# Long enough for the round; the script stops it with SIGTERM after.
		sed -e "s|^local ZONE = .*|local ZONE = \"$zone\"|" \
			-e "s|^local ADDRESS = .*|local ADDRESS = \"$shost:$sport\"|" \
			-e "s|^local DURATION = .*|local DURATION = $((WARMUP + DURATION + LOAD_TIMEOUT + 60))|" \
			"$SCENARIO" >"$sc"
		grep -q "^local ADDRESS = \"$shost:$sport\"" "$sc" || die "cannot set the address in $sc"
		if [ "$v" = farm+hist ]; then
			shist="$scratch/$tag.history.jsonl"
			args=(--history "$shist")
		fi
		# --no-sandbox: dnsperf, outside the run, sends to the farm on the host's loopback.
		taskset -c "$SERVER_CPU" "$DNSCHAOS" run "$sc" --no-sandbox "${args[@]}" >"$slog" 2>"$slog.err" &
		spid=$!
		pids+=("$spid")
		wait_line "$spid" "$slog" '\] serving ' "dnschaos run"
	fi
	answers "$shost" "$sport" || die "$v is ready but does not answer the SOA on $shost port $sport"
}

# ---- setup ----

echo "== runner_overhead: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n), $ncpu CPUs"
echo "   fakeresolver: $FAKERESOLVER"
echo "   dnschaos:     $DNSCHAOS ($("$DNSCHAOS" --version 2>&1 | head -1))"
if head=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null); then
	dirty=$(git -C "$repo" status --porcelain -- fakeresolver harness | wc -l)
	echo "   source: commit $head$([ "$dirty" = 0 ] || echo ", $dirty uncommitted change(s) under fakeresolver/ harness/")"
fi
echo "   dnsperf: $(dnsperf -h 2>&1 | awk '/^Version/ { print $2; exit }'), -c $CLIENTS, $ROUNDS round(s) x 3 variants x ${DURATION} s, warm-up ${WARMUP} s each"
echo "   pinning: server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU (taskset)"
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
busy_report "at the start"
echo "   scratch: $scratch"

zone="$scratch/bench.zone"
queries="$scratch/queries.txt"
python3 "$here/gen_zone.py" --records "$RECORDS" --seed "$SEED" --origin "$ORIGIN" \
	--zone "$zone" --queries "$queries" --query-count "$QUERIES" --stats 2>"$scratch/gen.err" ||
	{ cat "$scratch/gen.err" >&2; die "gen_zone.py failed"; }
echo "   zone: $RECORDS A records + apex SOA/NS/MX/TXT + CNAMEs; $(sed 's/^gen_zone: //' "$scratch/gen.err")"

# ---- rounds ----

echo
echo "== throughput: dnsperf -c $CLIENTS -l $DURATION, $QUERIES-line query file; variants rotate each round"
echo "   standalone = fakeresolver daemon; farm+hist = dnschaos run --history FILE; farm = dnschaos run, no history"
echo "   each server is started fresh for its measurement (a history per round: one round can write GBs)"
if [ "$PACED_QPS" -gt 0 ]; then
	echo "   then, same process: dnsperf -Q $PACED_QPS -l $PACED_SECONDS (paced): its CPU use and CPU per query"
fi
echo "   other = CPU used meanwhile by everything but the server and dnsperf, in % of one CPU (of 200);"
echo "   a measurement with other >= ${OTHER_MAX}% (also during the paced part) is redone, up to $RETRIES times"
printf '%-5s %-10s %9s %6s %7s %8s %7s %9s %6s %11s %9s %7s %9s\n' round variant completed lost QPS "avg lat" \
	"srv CPU" CPU/query other "hist lines/s" "hist MiB/s" "paced" "CPU/q"
other_of=""
declare -A qps_of=() cpq_of=() cpu_of=() lost_of=() sent_of=() lps_of=() bps_of=() lpq_of=() pcpu_of=() pcpq_of=()
for v in "${variants[@]}"; do
	qps_of[$v]='' cpq_of[$v]='' cpu_of[$v]='' lost_of[$v]=0 sent_of[$v]=0 lps_of[$v]='' bps_of[$v]=''
	lpq_of[$v]='' pcpu_of[$v]='' pcpq_of[$v]=''
done
# measure V ROUND: starts variant V, measures it and stops it; sets the row:
# sent completed lost qps lat cpu_pct cpu_us other lps bps lpq pcpu pcpq pother.
measure() {
	local v=$1 r=$2 t l0 b0 l1 b1 c0 c1 m0 m1 t0 t1 pc0 pc1 pm0 pm1 pt0 pt1 pdone pt
	start_variant "$v" "$r"
	if [ "$WARMUP" -gt 0 ]; then run_dnsperf "$shost" "$sport" "$WARMUP" "$scratch/warmup.$v.$r.out"; fi
	read -r l0 b0 <<<"$(history_count "$shist")"
	c0=$(cpu_ticks "$spid") m0=$(machine_ticks) t0=$(now)
	timed_dnsperf "$shost" "$sport" "$DURATION" "$scratch/round.$r.$v.out"
	c1=$(cpu_ticks "$spid") m1=$(machine_ticks) t1=$(now)
	kill -0 "$spid" 2>/dev/null || { cat "$slog" "$slog.err" >&2; die "$v (PID $spid) died under load (log above)"; }
	local dnsperf_ticks=$client_ticks
	# Let the runner's 100 ms flush write the round's last lines.
	if [ -n "$shist" ]; then sleep 0.3; fi
	read -r l1 b1 <<<"$(history_count "$shist")"
	pcpu=- pcpq=- pother=0
	if [ "$PACED_QPS" -gt 0 ]; then
		pc0=$(cpu_ticks "$spid") pm0=$(machine_ticks) pt0=$(now)
		timed_dnsperf "$shost" "$sport" "$PACED_SECONDS" "$scratch/paced.$r.$v.out" -Q "$PACED_QPS"
		pc1=$(cpu_ticks "$spid") pm1=$(machine_ticks) pt1=$(now)
		pt=$(elapsed "$pt0" "$pt1")
		read -r _ pdone _ _ _ <<<"$(parse_dnsperf "$scratch/paced.$r.$v.out")"
		read -r pcpu pcpq <<<"$(cpu_use "$((pc1 - pc0))" "$pt" "$pdone")"
		pother=$(other_use "$((pm1 - pm0 - (pc1 - pc0) - client_ticks))" "$pt")
	fi
	stop_pid "$spid"
	if [ "$v" != standalone ] && [ "$stopped_rc" != 2 ]; then
		cat "$slog" "$slog.err" >&2
		die "dnschaos run exited $stopped_rc after SIGTERM, not 2 (interrupted)"
	fi
	if [ -n "$shist" ]; then
		tail -1 "$shist" | grep -q '"type":"end","reason":"interrupted"' ||
			{ tail -3 "$shist" >&2; die "the history $shist has no end line"; }
		rm -f "$shist" # can be GBs; the counts are all we keep
	fi
	t=$(elapsed "$t0" "$t1")
	read -r sent completed lost qps lat <<<"$(parse_dnsperf "$scratch/round.$r.$v.out")"
	read -r cpu_pct cpu_us <<<"$(cpu_use "$((c1 - c0))" "$t" "$completed")"
	other=$(other_use "$((m1 - m0 - (c1 - c0) - dnsperf_ticks))" "$t")
	lps=- bps=- lpq=-
	if [ -n "$shist" ]; then
		read -r lps bps lpq <<<"$(awk -v l="$((l1 - l0))" -v b="$((b1 - b0))" -v t="$t" -v n="$sent" \
			'BEGIN { printf "%.0f %.1f %.3f\n", l / t, b / t / 1048576, n ? l / n : 0 }')"
	fi
}

# other_use TICKS SECONDS: TICKS of CPU over SECONDS in % of one CPU (0 if negative).
other_use() { awk -v o="$1" -v hz="$clk_tck" -v t="$2" 'BEGIN { o = o < 0 ? 0 : o; printf "%.0f", 100 * o / hz / t }'; }

# wait_quiet: before a measurement is redone, waits (at most QUIET_WAIT s) for
# 2 s in which the machine uses under OTHER_MAX% of a CPU.
wait_quiet() {
	local deadline=$(($(date +%s) + QUIET_WAIT)) m0 m1
	while [ "$(date +%s)" -lt "$deadline" ]; do
		m0=$(machine_ticks)
		sleep 2
		m1=$(machine_ticks)
		[ "$(other_use "$((m1 - m0))" 2)" -lt "$OTHER_MAX" ] && return 0
	done
	return 1
}

redone=0 kept_disturbed=0
for ((r = 1; r <= ROUNDS; r++)); do
	# Rotate the order (0 1 2, 1 2 0, 2 0 1, ...) so that drift of the shared
	# machine does not always hit the same variant.
	for ((k = 0; k < 3; k++)); do
		v=${variants[$(((r - 1 + k) % 3))]}
		for ((attempt = 0; ; attempt++)); do
			measure "$v" "$r"
			mark=""
			if [ "$other" -ge "$OTHER_MAX" ] || [ "$pother" -ge "$OTHER_MAX" ]; then
				if [ "$attempt" -lt "$RETRIES" ]; then
					mark=" disturbed (paced: other ${pother}%): redone"
				else
					mark=" disturbed (paced: other ${pother}%): kept, no retries left"
					kept_disturbed=$((kept_disturbed + 1))
				fi
			fi
			[ "$PACED_QPS" -gt 0 ] && pcpu+=%
			printf '%-5s %-10s %9d %6d %7d %5d us %6d%% %6.2f us %5d%% %11s %9s %7s %9s%s\n' "$r" "$v" \
				"$completed" "$lost" "$qps" "$lat" "$cpu_pct" "$cpu_us" "$other" "$lps" "$bps" "$pcpu" "$pcpq" "$mark"
			[[ $mark == *redone ]] || break
			redone=$((redone + 1))
			wait_quiet || echo "      (still busy after ${QUIET_WAIT} s; measuring anyway)"
		done
		qps_of[$v]+=" $qps" cpq_of[$v]+=" $cpu_us" cpu_of[$v]+=" $cpu_pct"
		lost_of[$v]=$((lost_of[$v] + lost)) sent_of[$v]=$((sent_of[$v] + sent))
		other_of+=" $other $pother"
		if [ "$v" = farm+hist ]; then lps_of[$v]+=" $lps" bps_of[$v]+=" $bps" lpq_of[$v]+=" $lpq"; fi
		if [ "$PACED_QPS" -gt 0 ]; then pcpu_of[$v]+=" ${pcpu%\%}" pcpq_of[$v]+=" $pcpq"; fi
	done
done

# ---- summary ----

echo
echo "summary over $ROUNDS round(s) (medians):"
declare -A med=() med_cpq=() med_cpu=() med_pcpq=()
for v in "${variants[@]}"; do
	# shellcheck disable=SC2086 # word lists
	med[$v]=$(median ${qps_of[$v]}) med_cpq[$v]=$(median ${cpq_of[$v]}) med_cpu[$v]=$(median ${cpu_of[$v]})
	printf '  %-10s QPS %8.0f (rounds:%s)  lost %d of %d  srv CPU %s%%  CPU/query %s us' "$v" "${med[$v]}" \
		"${qps_of[$v]}" "${lost_of[$v]}" "${sent_of[$v]}" "${med_cpu[$v]}" "${med_cpq[$v]}"
	if [ "$PACED_QPS" -gt 0 ]; then
		# shellcheck disable=SC2086
		med_pcpq[$v]=$(median ${pcpq_of[$v]})
		# shellcheck disable=SC2086
		printf '; paced: CPU %s%%, %s us/query' "$(median ${pcpu_of[$v]})" "${med_pcpq[$v]}"
	fi
	echo
done
# shellcheck disable=SC2086
hist_lps=$(median ${lps_of[farm+hist]}) hist_bps=$(median ${bps_of[farm+hist]}) hist_lpq=$(median ${lpq_of[farm+hist]})
printf '  history: %.0f lines/s, %s MiB/s written; %s lines per query sent (1.000 = every query recorded)\n' \
	"$hist_lps" "$hist_bps" "$hist_lpq"
for v in farm+hist farm; do
	printf '  %-10s / standalone: QPS %sx, CPU per query %sx' "$v" "$(ratio "${med[$v]}" "${med[standalone]}")" \
		"$(ratio "${med_cpq[$v]}" "${med_cpq[standalone]}")"
	if [ "$PACED_QPS" -gt 0 ]; then
		printf ', CPU per query at %s q/s paced %sx' "$PACED_QPS" "$(ratio "${med_pcpq[$v]}" "${med_pcpq[standalone]}")"
	fi
	echo
done
saturated=$(awk -v a="${med_cpu[standalone]}" -v b="${med_cpu[farm+hist]}" -v c="${med_cpu[farm]}" \
	'BEGIN { print (a >= 90 && b >= 90 && c >= 90) ? 1 : 0 }')
# shellcheck disable=SC2086
other_max=$(printf '%s\n' $other_of | sort -g | tail -1)
echo "  other work during the measurements kept: at most ${other_max}% of a CPU; $redone measurement(s) redone"
if [ "$kept_disturbed" -gt 0 ]; then
	noisy=1
	echo "  note: $kept_disturbed measurement(s) kept although disturbed (other >= ${OTHER_MAX}%, no retries"
	echo "  left): compare them with care, or run again on a quiet machine."
fi
if [ "$saturated" = 0 ]; then
	echo "  note: a server used under 90% of its CPU: it waited for queries, so its QPS is what dnsperf"
	echo "  offered (its ceiling on one CPU, or less when other work takes CPU $CLIENT_CPU), not its own limit;"
	echo "  then the QPS ratio understates the runner's cost; CPU per query, paced, is the fairer measure."
fi

# ---- optional profile ----

if [ "$PROFILE" = 1 ]; then
	echo
	echo "== profile: perf record -g on dnschaos run --history during a ${DURATION} s dnsperf round"
	start_variant farm+hist profile
	perf record -g -o "$scratch/perf.data" -p "$spid" -- sleep "$((DURATION + 1))" \
		>"$scratch/perf.record.out" 2>&1 &
	perf_pid=$!
	sleep 0.5
	run_dnsperf "$shost" "$sport" "$DURATION" "$scratch/profile.dnsperf.out"
	wait "$perf_pid" || { cat "$scratch/perf.record.out" >&2; die "perf record failed"; }
	read -r _ _ _ qps _ <<<"$(parse_dnsperf "$scratch/profile.dnsperf.out")"
	stop_pid "$spid"
	rm -f "$shist"
	echo "  QPS under perf: $qps (perf's own sampling costs some)"
	# perf_top ARGS...: the top 20 lines of a perf report (head closes the pipe early: || true).
	perf_top() {
		perf report -i "$scratch/perf.data" --stdio --no-children -g none "$@" 2>/dev/null |
			grep -E '^ +[0-9]' | head -20 | sed 's/^/  /' || true
	}
	echo "  self time by binary (perf report --stdio --no-children --sort dso):"
	perf_top --sort dso
	echo "  self time by symbol, top 20 (-F overhead,dso,sym):"
	perf_top -F overhead,dso,sym
	libevent=$(ldd "$DNSCHAOS" | awk '/libevent_core/ { print $3 }')
	echo "  user space only (dnschaos, libc, libevent, vdso), top 20:"
	perf_top -F overhead,sym --dsos "$(basename "$DNSCHAOS"),libc.so.6,[vdso],$(basename "$(readlink -f "$libevent")")"
	echo "  (perf.data: $scratch/perf.data with --keep)"
fi

# ---- targets ----

met=0 total=0
verdict() { # verdict TEXT OBSERVED CONDITION(awk expression that is true when met)
	local ok
	ok=$(awk "BEGIN { print ($3) ? 1 : 0 }")
	total=$((total + 1))
	if [ "$ok" = 1 ]; then met=$((met + 1)); ok=MET; else ok="NOT MET"; fi
	printf '  %-40s %-64s %s\n' "$1" "$2" "$ok"
}
echo
echo "== targets (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
busy_report "at the end"
for v in farm+hist farm; do
	cost=$(awk -v f="${med[$v]}" -v s="${med[standalone]}" 'BEGIN { printf "%.1f", s ? 100 * (1 - f / s) : 100 }')
	what="history on"
	[ "$v" = farm ] && what="history off"
	verdict "runner costs < ${TARGET_COST_PCT}% of QPS, $what" \
		"$(printf 'cost %s%%: %.0f vs standalone %.0f QPS = %sx (bound > %s)' "$cost" "${med[$v]}" \
			"${med[standalone]}" "$(ratio "${med[$v]}" "${med[standalone]}")" \
			"$(awk -v p="$TARGET_COST_PCT" 'BEGIN { printf "%.2fx", 1 - p / 100 }')")" \
		"$cost < $TARGET_COST_PCT"
done
echo "  $met of $total targets met"
if [ "$noisy" = 1 ]; then
	echo "  (other work competed for the CPUs during this run: see the warnings and notes above)"
fi
[ "$STRICT" = 1 ] && [ "$met" -lt "$total" ] && exit 1
exit 0
