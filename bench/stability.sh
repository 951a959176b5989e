#!/usr/bin/env bash
# stability.sh: how stable are a scenario's verdict and its expectations'
# observed values? Runs each scenario N times (one after another, or as one
# suite two at a time), optionally with the other core kept busy, and prints
# per scenario the verdict counts and, per expectation, the outcome counts and
# the observed min / median / max beside the bound. See bench/README.md,
# "stability.sh".
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: bench/stability.sh [--runs N] [--busy] [--jobs N] [--dnschaos PATH]
                          [--out DIR] [--timeout S] SCENARIO.lua...

Runs every SCENARIO N times and reports how stable its verdict and each
expectation's observed value are.

  --runs N         runs per scenario (default 20)
  --jobs N         1 (default): the runs one after another, each
                   `dnschaos run S --json OUT/S-i.json --history OUT/S-i.jsonl -q`;
                   2 or more: the N runs as one suite, N copies of the scenario
                   in a temporary folder, `dnschaos run TMP --jobs N`
  --busy           keep one core busy the whole time (`stress-ng --cpu 1`,
                   bounded by its --timeout, stopped on exit); exit 3 if
                   stress-ng is missing
  --dnschaos PATH  the binary (default: build/harness/dnschaos of this checkout)
  --out DIR        where the per-run JSON reports, histories and the summary
                   (summary.txt, summary.json) are kept (default: a new
                   /tmp/stability.XXXXXX); created if missing, must be empty
  --timeout S      seconds one run may take before it is stopped (default 300)
  -h, --help       this text

Exit status: 0 every run of each scenario ended with the same verdict;
1 some scenario's runs ended with different verdicts; 2 bad arguments;
3 --busy without stress-ng; 4 a run gave no verdict (bad input, error,
timed out, no JSON report): its message is printed.
EOF
}

die() { echo "stability.sh: $*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
runs=20
jobs=1
busy=0
dnschaos="$root/build/harness/dnschaos"
out=
run_timeout=300
scenarios=()

is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$((10#$1))" -ge 1 ]; }
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--runs) [ $# -ge 2 ] || die "--runs needs a number"
		if ! is_uint "$2" || [ "$((10#$2))" -gt 1000 ]; then die "--runs: '$2' is not a number from 1 to 1000"; fi
		runs=$((10#$2)); shift 2 ;;
	--jobs) [ $# -ge 2 ] || die "--jobs needs a number"
		if ! is_uint "$2" || [ "$((10#$2))" -gt 64 ]; then die "--jobs: '$2' is not a number from 1 to 64"; fi
		jobs=$((10#$2)); shift 2 ;;
	--busy) busy=1; shift ;;
	--dnschaos) [ $# -ge 2 ] || die "--dnschaos needs a path"
		dnschaos=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || die "--out needs a directory"
		out=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || die "--timeout needs a number of seconds"
		is_uint "$2" || die "--timeout: '$2' is not a whole number of seconds"
		run_timeout=$((10#$2)); shift 2 ;;
	--) shift; scenarios+=("$@"); break ;;
	-*) die "unknown option '$1' (--help lists them)" ;;
	*) scenarios+=("$1"); shift ;;
	esac
done
[ ${#scenarios[@]} -gt 0 ] || die "no scenario given (--help)"
[ -x "$dnschaos" ] || die "--dnschaos: '$dnschaos' is not an executable file (build first, or give --dnschaos)"
command -v python3 >/dev/null || die "python3 is needed for the summary"
declare -A seen=()
for s in "${scenarios[@]}"; do
	[ -f "$s" ] || die "$s: no such scenario file"
	case $s in *.lua) ;; *) die "$s: not a .lua scenario" ;; esac
	b=$(basename "$s" .lua)
	[ -z "${seen[$b]:-}" ] || die "$s: two scenarios named $b (their runs would share file names)"
	seen[$b]=1
	if [ "$jobs" -gt 1 ] && grep -q '"\.\./' "$s"; then
		die "$s: refers to a path outside its folder (\"../...\"); --jobs runs copies of it in a temporary folder, where that path does not exist"
	fi
done
if [ -n "$out" ]; then
	mkdir -p -- "$out" || die "--out: cannot create '$out'"
	[ -z "$(ls -A -- "$out")" ] || die "--out: '$out' is not empty (its files would be mixed with this run's)"
else
	out=$(mktemp -d /tmp/stability.XXXXXX)
fi
out=$(cd "$out" && pwd)

busy_pid=
tmp=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	if [ -n "$busy_pid" ]; then
		kill "$busy_pid" 2>/dev/null || true
		wait "$busy_pid" 2>/dev/null || true
	fi
	[ -z "$tmp" ] || rm -rf -- "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$busy" = 1 ]; then
	if ! command -v stress-ng >/dev/null; then
		echo "stability.sh: --busy needs stress-ng (apt-get install stress-ng); nothing was run" >&2
		exit 3
	fi
	# Bounded even if this script is killed without running its trap.
	bound=$(( runs * ${#scenarios[@]} * (run_timeout + 10) + 60 ))
	stress-ng --cpu 1 --timeout "${bound}s" --quiet &
	busy_pid=$!
	sleep 1
	kill -0 "$busy_pid" 2>/dev/null || { echo "stability.sh: stress-ng did not start" >&2; exit 3; }
fi

mode="serial"
[ "$jobs" = 1 ] || mode="suite --jobs $jobs"
load() { cut -d' ' -f1-3 /proc/loadavg; }

{
	echo "stability.sh: $runs runs per scenario, $mode$([ "$busy" = 1 ] && echo ", one core busy (stress-ng --cpu 1)")"
	echo "  dnschaos: $dnschaos ($("$dnschaos" --version 2>&1 | head -1))"
	echo "  machine: $(nproc) CPUs; started $(date -u '+%Y-%m-%d %H:%M:%S UTC'); load average $(load)"
	echo "  output: $out"
} | tee "$out/header.txt"

# One scenario, N runs one after another: OUT/B-i.json, OUT/B-i.jsonl, OUT/B-i.rc.
run_serial() {
	local s=$1 b=$2 i n rc
	for i in $(seq 1 "$runs"); do
		n=$(printf '%s-%02d' "$b" "$i")
		rc=0
		timeout --kill-after=10 "$run_timeout" \
			"$dnschaos" run "$s" --json "$out/$n.json" --history "$out/$n.jsonl" -q \
			>"$out/$n.out" 2>&1 || rc=$?
		echo "$rc" >"$out/$n.rc"
		printf '  run %d/%d: exit %d\n' "$i" "$runs" "$rc"
	done
}

# One scenario, N runs as one suite: copies B-01.lua ... in a temporary folder
# beside links to everything else in the scenario's folder (zones/ ...), so
# that its relative paths resolve; each run's report is taken out of the
# combined JSON into OUT/B-i.json.
run_suite() {
	local s=$1 b=$2 dir i e rc=0
	dir=$(cd "$(dirname "$s")" && pwd)
	tmp=$(mktemp -d /tmp/stability-suite.XXXXXX)
	for e in "$dir"/* "$dir"/.[!.]*; do
		[ -e "$e" ] || continue
		case $e in *.lua) continue ;; esac
		ln -s "$e" "$tmp/$(basename "$e")"
	done
	for i in $(seq 1 "$runs"); do
		cp -- "$s" "$tmp/$(printf '%s-%02d' "$b" "$i").lua"
	done
	timeout --kill-after=10 $(( (runs + jobs - 1) * (run_timeout + 10) / jobs + 60 )) \
		"$dnschaos" run "$tmp" --jobs "$jobs" --timeout "$run_timeout" -q \
		--history "$out/$b-histories" --json "$out/$b-suite.json" \
		>"$out/$b-suite.out" 2>&1 || rc=$?
	echo "  suite: exit $rc"
	rm -rf -- "$tmp"
	tmp=
	[ -f "$out/$b-suite.json" ] || { echo "stability.sh: $s: the suite wrote no JSON (exit $rc); see $out/$b-suite.out" >&2; return 0; }
	python3 - "$out" "$b" "$runs" <<'PY'
import json, os, sys
out, b, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
suite = json.load(open(os.path.join(out, b + "-suite.json")))
for sc in suite["scenarios"]:
    n = os.path.basename(sc["file"])[:-4]
    with open(os.path.join(out, n + ".rc"), "w") as f:
        f.write("%d\n" % sc["exit"])
    if sc.get("report") is not None:
        with open(os.path.join(out, n + ".json"), "w") as f:
            json.dump(sc["report"], f)
    with open(os.path.join(out, n + ".out"), "w") as f:
        f.write("status: %s\nwall: %s\n%s\n" % (sc["status"], sc["wall"], sc.get("message", "")))
PY
}

for s in "${scenarios[@]}"; do
	b=$(basename "$s" .lua)
	echo "$s: load average $(load) at the start" | tee -a "$out/loads.txt"
	if [ "$jobs" = 1 ]; then run_serial "$s" "$b"; else run_suite "$s" "$b"; fi
	echo "$s: load average $(load) at the end" | tee -a "$out/loads.txt"
done

rc=0
python3 - "$out" "$runs" "${scenarios[@]}" <<'PY' || rc=$?
import json, math, os, statistics, sys

out, runs, scenarios = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
WORD = {0: "pass", 1: "fail", 2: "inconclusive", 3: "bad_input", 4: "error"}
INF = math.inf
status, lines, summary = 0, [], {"runs": runs, "scenarios": []}

def fmt(v, unit):
    if v == INF:
        return "never"
    s = ("%.3f" % v).rstrip("0").rstrip(".")
    return s + (" " + unit if unit and unit not in ("x", "") else ("x" if unit == "x" else ""))

for s in scenarios:
    b = os.path.basename(s)[:-4]
    verdicts, exps, order, problems = {}, {}, [], []
    for i in range(1, runs + 1):
        n = "%s-%02d" % (b, i)
        try:
            rc = int(open(os.path.join(out, n + ".rc")).read())
        except (OSError, ValueError):
            rc = None
        try:
            rep = json.load(open(os.path.join(out, n + ".json")))
        except (OSError, ValueError):
            rep = None
        if rep is None:
            v = WORD.get(rc, "no_report") if rc in (3, 4) else "no_report"
            verdicts[v] = verdicts.get(v, 0) + 1
            msg = ""
            try:
                msg = open(os.path.join(out, n + ".out")).read().strip().splitlines()[-1]
            except (OSError, IndexError):
                pass
            problems.append("run %d: exit %s, no report%s" % (i, rc, (": " + msg) if msg else ""))
            continue
        v = rep["verdict"]
        verdicts[v] = verdicts.get(v, 0) + 1
        for e in rep.get("expectations", []):
            # "FILE:LINE": the copies of a suite run have file names of their own.
            key = (e["where"].rsplit(":", 1)[-1], e["name"])
            if key not in exps:
                order.append(key)
                exps[key] = {"name": e["name"], "where": s + ":" + key[0], "bound": e.get("bound_text", ""),
                             "unit": e.get("unit") or "", "outcomes": {}, "values": []}
            x = exps[key]
            x["outcomes"][e["outcome"]] = x["outcomes"].get(e["outcome"], 0) + 1
            if e.get("never"):
                x["values"].append(INF)
            elif isinstance(e.get("observed"), (int, float)):
                x["values"].append(float(e["observed"]))
    def counts(d):
        return ", ".join("%s %d/%d" % (k, d[k], runs) for k in sorted(d, key=lambda k: -d[k]))
    stable = len(verdicts) == 1
    lines.append("")
    lines.append("%s: %s%s" % (s, counts(verdicts), "" if stable else "   <-- UNSTABLE"))
    for p in problems:
        lines.append("  " + p)
    if any(v in ("bad_input", "error", "no_report") for v in verdicts):
        status = max(status, 4)
    elif not stable:
        status = max(status, 1)
    rows = [("expectation", "bound", "outcomes", "min", "median", "max")]
    js = []
    for key in order:
        x = exps[key]
        vals = sorted(x["values"])
        if vals:
            med = statistics.median_low(vals) if INF in vals else statistics.median(vals)
            mn, md, mx = (fmt(v, x["unit"]) for v in (vals[0], med, vals[-1]))
        else:
            mn = md = mx = "-"
        rows.append((x["name"], x["bound"], counts(x["outcomes"]), mn, md, mx))
        js.append({"name": x["name"], "where": x["where"], "bound": x["bound"],
                   "outcomes": x["outcomes"], "min": mn, "median": md, "max": mx,
                   "values": [None if v == INF else v for v in x["values"]]})
    w = [max(len(r[c]) for r in rows) for c in range(6)]
    w[0] = min(w[0], 60)
    for r in rows:
        name = r[0] if len(r[0]) <= 60 else r[0][:57] + "..."
        lines.append("  %-*s  %-*s  %-*s  %*s  %*s  %*s" % (w[0], name, w[1], r[1], w[2], r[2],
                                                          w[3], r[3], w[4], r[4], w[5], r[5]))
    summary["scenarios"].append({"file": s, "verdicts": verdicts, "stable": stable,
                                 "problems": problems, "expectations": js})
text = "\n".join(lines) + "\n"
sys.stdout.write(text)
with open(os.path.join(out, "summary.txt"), "w") as f:
    f.write(text)
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=1)
sys.exit(status)
PY
echo "  finished $(date -u '+%H:%M:%S UTC'); load average $(load); files in $out"
exit "$rc"
