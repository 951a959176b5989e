#!/usr/bin/env bash
# fault_precision.sh - how precisely faults land on the timeline. One
# `dnschaos run` of bench/scenarios/fault_precision.lua (hang, rcode SERVFAIL
# and a 20 ms delay, each for 1 s, at known times, CYCLES times) while dnsperf
# sends a steady paced stream of queries to its resolver. From the history it
# reports, in milliseconds (min / median / p99 / max):
#   - timer lateness: the recorded injection (or heal) time minus the time the
#     scenario scheduled it;
#   - injection -> first affected query: the first query line carrying the
#     fault's id, minus the injection line's time;
#   - last affected query -> heal, and heal -> first query no longer affected;
# next to the floor the query stream itself sets (the wait from a random
# instant to the next query), and checks that every query inside a window was
# affected and none outside it.
#
# Usage: bench/fault_precision.sh [--quick] [--cycles N] [--rate QPS] [--keep] [--strict]
# Needs: dnsperf, taskset, python3, and the build:
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build-bench -j2
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

CYCLES=${CYCLES:-8}
RATE=${RATE:-2000}
CLIENTS=${CLIENTS:-4}
RECORDS=${RECORDS:-10000}
QUERIES=${QUERIES:-100000}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-60}
SEED=${SEED:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
FARM_ADDR=${FARM_ADDR:-127.0.0.22}
BUILD=${BUILD:-$repo/build-bench}
DNSCHAOS=${DNSCHAOS:-$BUILD/harness/dnschaos}
KEEP=${KEEP:-0}
STRICT=${STRICT:-0}

ORIGIN=bench.test.
SCENARIO=$here/scenarios/fault_precision.lua

usage() {
	cat <<EOF
Usage: $0 [options]
  --quick          smoke run: 1 cycle (9 s)
  --cycles N       fault cycles of 6 s, 3 faults each (CYCLES, default 8: a 51 s run)
  --rate QPS       the paced query stream, dnsperf -Q (RATE, default 2000)
  --keep           keep the scratch directory (history, dnsperf output) and print its path
  --strict         exit 1 if a query was affected outside its fault's window, or missed inside it
Environment only: CLIENTS (dnsperf -c, 4), RECORDS (A records in the zone, 10000),
  QUERIES (query file lines, 100000), SEED (1), LOAD_TIMEOUT (s, 60), SERVER_CPU (0),
  CLIENT_CPU (1), FARM_ADDR (the resolver's loopback address, 127.0.0.22),
  BUILD (build directory, $repo/build-bench), DNSCHAOS (binary).
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) CYCLES=1 ;;
	--cycles) CYCLES=${2:?--cycles needs a number}; shift ;;
	--rate) RATE=${2:?--rate needs queries per second}; shift ;;
	--keep) KEEP=1 ;;
	--strict) STRICT=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$0: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

for v in CYCLES RATE CLIENTS RECORDS QUERIES LOAD_TIMEOUT SEED SERVER_CPU CLIENT_CPU; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
if [ "$CYCLES" -lt 1 ] || [ "$CYCLES" -gt 1000 ]; then die "CYCLES must be 1 to 1000"; fi
if [ "$RATE" -lt 10 ] || [ "$RATE" -gt 100000 ]; then die "RATE must be 10 to 100000 queries per second"; fi
[ "$RECORDS" -ge 1 ] || die "RECORDS must be at least 1"
[[ $FARM_ADDR =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "FARM_ADDR must be in 127.0.0.0/8, not '$FARM_ADDR'"
[ -x "$DNSCHAOS" ] || die "$DNSCHAOS is not built: cd $repo && cmake -S . -B build-bench" \
	"-DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build-bench -j2 (or set BUILD=dir)"
[ -r "$SCENARIO" ] || die "$SCENARIO is missing"
for tool in dnsperf taskset python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install dnsperf util-linux python3)"
done
ncpu=$(nproc)
if [ "$SERVER_CPU" -ge "$ncpu" ] || [ "$CLIENT_CPU" -ge "$ncpu" ] || [ "$SERVER_CPU" = "$CLIENT_CPU" ]; then
	die "need two distinct CPUs for SERVER_CPU=$SERVER_CPU and CLIENT_CPU=$CLIENT_CPU (this machine has $ncpu)"
fi

# The scenario's length (its LEAD, CYCLE and tail): 2 + 6 * CYCLES + 1.
run_s=$((2 + 6 * CYCLES + 1))
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fault_precision.XXXXXX")
pids=() # processes we started and have not reaped yet

proc_state() { awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null || true; }

# stop_pid PID: SIGTERM, a bounded wait, then SIGKILL.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(proc_state "$pid")" = Z ] && break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

forget_pid() {
	local keep=() p
	for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
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

clk_tck=$(getconf CLK_TCK)

# busy_report WHEN: names the processes (not ours) that used 10% of a CPU or
# more over the last second; a busy CPU delays the loop's timers and reads.
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
	echo "   WARNING: other processes busy $1 (% of one CPU over 1 s); timings will be late and noisy:"
	while IFS= read -r line; do echo "     $line"; done <<<"$busy"
}

# ---- setup ----

echo "== fault_precision: $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(uname -n), $ncpu CPUs"
echo "   dnschaos: $DNSCHAOS ($("$DNSCHAOS" --version 2>&1 | head -1))"
if head=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null); then
	dirty=$(git -C "$repo" status --porcelain -- fakeresolver harness | wc -l)
	echo "   source: commit $head$([ "$dirty" = 0 ] || echo ", $dirty uncommitted change(s) under fakeresolver/ harness/")"
fi
echo "   load: dnsperf -Q $RATE -c $CLIENTS -q 10000 -t 2 on CPU $CLIENT_CPU; dnschaos run on CPU $SERVER_CPU"
echo "   timeline: $CYCLES cycle(s) of 6 s from t = 2: hang +0..+1 (s:at heal), rcode SERVFAIL +2..+3"
echo "   (s:at heal), delay 20 ms +4..+5 (heals itself: duration = 1), each window 0-10 ms later"
echo "   (seeded), so injections meet the paced stream at random phases; run of $run_s s"
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
busy_report "at the start"

zone="$scratch/bench.zone"
queries="$scratch/queries.txt"
python3 "$here/gen_zone.py" --records "$RECORDS" --seed "$SEED" --origin "$ORIGIN" \
	--zone "$zone" --queries "$queries" --query-count "$QUERIES" 2>"$scratch/gen.err" ||
	{ cat "$scratch/gen.err" >&2; die "gen_zone.py failed"; }

port=$(free_port "$FARM_ADDR")
sc="$scratch/fault_precision.lua"
sed -e "s|^local ZONE = .*|local ZONE = \"$zone\"|" \
	-e "s|^local ADDRESS = .*|local ADDRESS = \"$FARM_ADDR:$port\"|" \
	-e "s|^local CYCLES = .*|local CYCLES = $CYCLES|" "$SCENARIO" >"$sc"
grep -q "^local CYCLES = $CYCLES\$" "$sc" || die "cannot set CYCLES in $sc"
hist="$scratch/history.jsonl"

# ---- the run ----

# --no-sandbox: dnsperf, outside the run, sends to the farm on the host's loopback.
taskset -c "$SERVER_CPU" "$DNSCHAOS" run "$sc" --no-sandbox --history "$hist" >"$scratch/dnschaos.out" 2>"$scratch/dnschaos.err" &
run_pid=$!
pids+=("$run_pid")
deadline=$(($(date +%s) + LOAD_TIMEOUT))
until grep -q 'precision: ready' "$scratch/dnschaos.out"; do
	kill -0 "$run_pid" 2>/dev/null ||
		{ cat "$scratch/dnschaos.out" "$scratch/dnschaos.err" >&2; die "dnschaos run exited before it was ready (output above)"; }
	[ "$(date +%s)" -lt "$deadline" ] || die "dnschaos run not ready within $LOAD_TIMEOUT s (LOAD_TIMEOUT)"
	sleep 0.01
done
# The stream covers the whole timeline: the first fault comes at t = 2 and
# the last heals at run_s - 2. -q is far above what a 1 s hang leaves
# outstanding (RATE queries), so the stream keeps its pace through it.
c0=$(cpu_ticks "$run_pid") m0=$(machine_ticks) t0=$EPOCHREALTIME
TIMEFORMAT='%3U %3S'
dnsperf_rc=0
{ time timeout $((run_s + 60)) taskset -c "$CLIENT_CPU" dnsperf -c "$CLIENTS" -q 10000 -t 2 -Q "$RATE" \
	-l $((run_s - 1)) -s "$FARM_ADDR" -p "$port" -d "$queries" >"$scratch/dnsperf.out" 2>&1; } \
	2>"$scratch/dnsperf.time" || dnsperf_rc=$?
[ "$dnsperf_rc" = 0 ] || { cat "$scratch/dnsperf.out" >&2; die "dnsperf failed (exit $dnsperf_rc)"; }
c1=$(cpu_ticks "$run_pid") m1=$(machine_ticks) t1=$EPOCHREALTIME
# Everything but dnschaos and dnsperf meanwhile (other processes, kernel threads),
# in % of one CPU: other work delays the loop and can starve dnsperf's stream.
other=$(awk -v m="$((m1 - m0 - (c1 - c0)))" -v hz="$clk_tck" -v a="$t0" -v b="$t1" '
	{ o = m - ($1 + $2) * hz; if (o < 0) o = 0; printf "%.0f", 100 * o / hz / (b - a) }' "$scratch/dnsperf.time")
# The run ends by itself at its duration; bounded wait.
for ((i = 0; i < 200; i++)); do
	kill -0 "$run_pid" 2>/dev/null || break
	sleep 0.05
done
rc=0
if kill -0 "$run_pid" 2>/dev/null; then
	stop_pid "$run_pid"
	die "dnschaos run did not end 10 s after dnsperf"
fi
wait "$run_pid" || rc=$?
forget_pid "$run_pid"
[ "$rc" = 0 ] || { cat "$scratch/dnschaos.err" >&2; die "dnschaos run exited $rc"; }
echo "   dnsperf: $(awk '/Queries sent:/ { s = $3 } /Queries completed:/ { c = $3 }
	/Queries lost:/ { l = $3 } /Queries per second:/ { q = $4 }
	END { printf "%s sent, %s completed, %s lost (the hung ones), %.0f answers/s", s, c, l, q }' "$scratch/dnsperf.out")"
echo "   history: $(wc -l <"$hist") lines, $(($(stat -c %s "$hist") / 1024)) KiB"
echo "   other work during the run: ${other}% of one CPU (everything but dnschaos and dnsperf)"
if [ "$other" -ge 15 ]; then
	echo "   WARNING: other work used ${other}% of a CPU: timers and the query stream were disturbed;"
	echo "   run again on a quiet machine before trusting the figures below"
fi

# ---- analysis ----

set +e
python3 - "$hist" "$RATE" <<'PY'
import bisect, json, random, re, sys

path, rate = sys.argv[1], float(sys.argv[2])
queries = []          # (t, fault id or 0): every query line, in file order (t never decreases)
faults = {}           # id -> {"kind", "inject", "heal"}
sched = {}            # id -> {"at", "heal_at" or None, "duration" or None}
ready_t = None
end = None
pat_inject = re.compile(r"precision: inject (\w+) id (\d+) at ([0-9.]+)(?: duration ([0-9.]+))?$")
pat_heal = re.compile(r"precision: heal (\w+) id (\d+) at ([0-9.]+)$")
with open(path, encoding="utf-8") as f:
    for line in f:
        e = json.loads(line)
        ty = e["type"]
        if ty == "query":
            queries.append((e["t"], e.get("fault") or e.get("delay_fault") or 0))
        elif ty == "fault":
            d = faults.setdefault(e["id"], {"kind": e["fault"]})
            d[e["action"]] = e["t"]
        elif ty == "log":
            m = e["message"]
            if m.startswith("precision: ready"):
                ready_t = e["t"]
            elif (g := pat_inject.match(m)):
                s = sched.setdefault(int(g[2]), {})
                s["kind"], s["at"] = g[1], float(g[3])
                s["duration"] = float(g[4]) if g[4] else None
            elif (g := pat_heal.match(m)):
                sched.setdefault(int(g[2]), {})["heal_at"] = float(g[3])
        elif ty == "end":
            end = e
if end is None or end.get("reason") != "duration":
    sys.exit("analysis: the history has no end line with reason 'duration': the run did not complete")
if not queries:
    sys.exit("analysis: no query lines in the history: did dnsperf reach the resolver?")

ts = [q[0] for q in queries]
MS = 1000.0

def pct(v, p):
    """Nearest-rank percentile of a sorted list."""
    if not v:
        return float("nan")
    k = max(1, -(-len(v) * p // 100))
    return v[int(k) - 1]

def row(label, vals, unit_scale=MS):
    v = sorted(x * unit_scale for x in vals)
    if not v:
        print("  %-44s %5d" % (label, 0))
        return
    print("  %-44s %5d %9.3f %9.3f %9.3f %9.3f" % (label, len(v), v[0], pct(v, 50), pct(v, 99), v[-1]))

# The stream: inter-arrival gaps between query lines, and the wait from a
# random instant to the next query (what an injection must wait at best) and
# back to the previous one (what a heal's last affected query lags at best).
gaps = [b - a for a, b in zip(ts, ts[1:])]
lo, hi = ts[0], ts[-1]
rng = random.Random(1)
fwd, back = [], []
for _ in range(20000):
    x = rng.uniform(lo, hi)
    i = bisect.bisect_right(ts, x)
    if 0 < i < len(ts):
        fwd.append(ts[i] - x)
        back.append(x - ts[i - 1])
obs_rate = (len(ts) - 1) / (hi - lo) if hi > lo else 0

per = []  # per-fault results
missing = []
for fid in sorted(sched):
    s, f = sched[fid], faults.get(fid)
    if not f or "inject" not in f or "heal" not in f:
        missing.append(fid)
        continue
    ti, th = f["inject"], f["heal"]
    heal_sched = s.get("heal_at")
    heal_mode = "s:at"
    if heal_sched is None and s.get("duration"):
        heal_sched, heal_mode = ti + s["duration"], "self"
    a = bisect.bisect_left(ts, ti)
    b = bisect.bisect_right(ts, th)
    inside = queries[a:b]
    hit = [t for t, q in inside if q == fid]
    missed = sum(1 for t, q in inside if q != fid)
    outside = sum(1 for t, q in queries[:a] + queries[b:] if q == fid)
    after = next((t for t, q in queries[b:] if q != fid), None)
    per.append({
        "id": fid, "kind": f["kind"], "at": s["at"], "inject": ti, "heal_sched": heal_sched,
        "heal": th, "heal_mode": heal_mode,
        "late_inject": ti - s["at"], "late_heal": th - heal_sched if heal_sched is not None else None,
        "first": hit[0] - ti if hit else None, "last": th - hit[-1] if hit else None,
        "clean": after - th if after is not None else None,
        "n": len(hit), "missed": missed, "outside": outside,
    })

print()
print("== per fault (times in s on the run's clock; gaps in ms)")
print("  %3s %-6s %10s %10s %8s %8s %10s %8s %8s %8s %6s %6s %4s" % (
    "id", "kind", "sched", "injected", "late", "->1st", "healed", "late", "last->", "->clean",
    "hit", "missed", "out"))
for p in per:
    print("  %3d %-6s %10.6f %10.6f %8.3f %8.3f %10.6f %8.3f %8.3f %8.3f %6d %6d %4d" % (
        p["id"], p["kind"], p["at"], p["inject"], p["late_inject"] * MS,
        p["first"] * MS if p["first"] is not None else float("nan"), p["heal"],
        p["late_heal"] * MS if p["late_heal"] is not None else float("nan"),
        p["last"] * MS if p["last"] is not None else float("nan"),
        p["clean"] * MS if p["clean"] is not None else float("nan"),
        p["n"], p["missed"], p["outside"]))
print("  late: recorded minus scheduled; ->1st: injection to the first query carrying its id;")
print("  last->: its last such query to the heal; ->clean: heal to the next query without it;")
print("  hit / missed: queries inside the window with / without its id; out: with its id outside.")

print()
print("== summary (ms)                                  n       min    median       p99       max")
print("  stream: %d queries at %.0f/s observed (dnsperf -Q %.0f); mean inter-arrival %.3f ms" % (
    len(ts), obs_rate, rate, MS / obs_rate if obs_rate else float("nan")))
row("query inter-arrival gap", gaps)
row("floor: random instant -> next query", fwd)
row("floor: previous query -> random instant", back)
if ready_t is not None:
    print("  timeline offset: s:at(0) ran at t = %.3f ms: the runner starts the farm, then arms the timeline's"
          % (ready_t * MS))
    print("  timers relative to that moment, so every s:at time lands about this much late on the history's clock")
row("timer: injection late (s:at)", [p["late_inject"] for p in per])
row("timer: heal late (s:at, f:heal)", [p["late_heal"] for p in per if p["heal_mode"] == "s:at"])
row("timer: heal late (duration, self-heal)", [p["late_heal"] for p in per if p["heal_mode"] == "self"])
for kind in ("hang", "rcode", "delay"):
    row("injection -> first affected (%s)" % kind, [p["first"] for p in per if p["kind"] == kind and p["first"] is not None])
row("injection -> first affected (all)", [p["first"] for p in per if p["first"] is not None])
row("last affected -> heal (all)", [p["last"] for p in per if p["last"] is not None])
row("heal -> first clean query (all)", [p["clean"] for p in per if p["clean"] is not None])
print("  p99 of n < 100 samples is the largest but (n/100) ones: with few faults it is near the max.")

bad = sum(p["missed"] + p["outside"] for p in per) + len(missing)
longest = max(gaps) if gaps else 0
nohit = sum(1 for p in per if p["n"] == 0)
print()
print("== checks")
print("  faults scheduled %d, injected and healed %d%s" % (len(sched), len(per),
      (", NOT recorded: ids %s" % missing) if missing else ""))
print("  queries inside a window without its fault: %d; with a fault id outside its window: %d; windows no query hit: %d"
      % (sum(p["missed"] for p in per), sum(p["outside"] for p in per), nohit))
stalled = obs_rate > 0 and longest > max(0.05, 100.0 / obs_rate)
print("  longest gap in the query stream: %.1f ms (%.0fx the mean inter-arrival)%s" % (
      longest * MS, longest * obs_rate, ": the stream STALLED (dnsperf starved by other work?); "
      "figures around it are not the runner's" if stalled else ""))
print("  %s" % ("OK: every query inside a window was affected, none outside: each fault acted from the first\n"
                "  query the resolver read after the injection up to the heal, with no lag beyond the stream's spacing"
                if bad == 0 and nohit == 0 else "NOT OK: see the per-fault table"))
sys.exit(1 if bad or nohit else 0)
PY
arc=$?
set -e
echo
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
busy_report "at the end"
[ "$arc" -le 1 ] || die "the analysis failed (exit $arc)"
[ "$STRICT" = 1 ] && [ "$arc" = 1 ] && exit 1
exit 0
