#!/usr/bin/env python3
"""Self-tests of the verdict: every metric must FAIL a broken system and be
INCONCLUSIVE for an untested one (see README.md).

Usage: run.py PATH/TO/dnschaos [--dir DIR] [--checks docs/checks.md] [-j N] [-v] [NAME|PATH ...]

A NAME is a file of DIR; a PATH (holding a '/') is played wherever it is
(scenarios/half_vip_timeout.lua, scenarios/selftest/half_vip_*.lua). Given
either, only those run and the metric coverage is not checked.

Each tests/selftest/*.lua declares in its header what it must end with:

    -- expect: FAIL 1                       the verdict and the exit code
    -- expect-failed: <expectation name>     this expectation must fail
    -- expect-inconclusive: <name>           this one must be inconclusive
    -- expect-passed: <name>                 this one must pass (a healthy twin)

and a FAIL self-test shows that its bound is honest: a healthy twin in the
same run (expect-passed), or code lines ending in `-- selftest: fault`,
which the runner removes to play the file again as a healthy system, where
every expect-failed expectation must pass.

The runner plays every scenario (at most -j at once) with `dnschaos run
--json`, asserts the exit code, the verdict and each named expectation's
outcome and metric, then re-judges the history with `dnschaos check` and
asserts the same again. It fails when any of that differs, and when a metric
of docs/checks.md's table has no FAIL or no INCONCLUSIVE self-test.

At the end it prints the five declared outcomes (pass or fail, of this run
and of the healthy runs) whose observed value was nearest to its bound,
relative to the bound (for a success rate that must stay above b, relative
to 1 - b): information, never a failure, so that a bound that
sits inside the spread of what it measures is seen in any log before it
flips.
"""
import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import time

VERDICT_CODES = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 2}
OUTCOME_OF = {"expect-failed": "fail", "expect-inconclusive": "inconclusive",
              "expect-passed": "pass"}
HERE = os.path.dirname(os.path.abspath(__file__))
FAULT_MARK = re.compile(r"^(?!\s*--).*--\s*selftest:\s*fault\s*$")


def metrics_of(checks_md):
    """The metric names of the table in docs/checks.md ('| `success_rate{}` | ...')."""
    names = []
    in_table = False
    with open(checks_md, encoding="utf-8") as f:
        for line in f:
            if re.match(r"\|\s*metric\s*\|", line):
                in_table = True
                continue
            if in_table:
                if not line.startswith("|"):
                    break
                m = re.match(r"\|\s*`([A-Za-z_][A-Za-z0-9_]*)\s*[{(]", line)
                if m:
                    names.append(m.group(1))
    return names


def header(path):
    """The directives of a self-test's leading comment block."""
    want = {"verdict": None, "code": None, "expect-failed": [], "expect-inconclusive": [],
            "expect-passed": [], "errors": [], "faults": 0}
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    want["faults"] = sum(1 for line in lines if FAULT_MARK.match(line))
    for line in lines:
        if not line.startswith("--"):
            break
        m = re.match(r"--\s*(expect(?:-failed|-inconclusive|-passed)?):\s*(.*?)\s*$", line)
        if not m:
            continue
        key, value = m.group(1), m.group(2)
        if key == "expect":
            v = value.split()
            if len(v) != 2 or v[0] not in VERDICT_CODES or not v[1].isdigit():
                want["errors"].append("bad '-- expect: %s' (want e.g. 'FAIL 1')" % value)
                continue
            want["verdict"], want["code"] = v[0], int(v[1])
            if VERDICT_CODES[v[0]] != want["code"]:
                want["errors"].append("verdict %s goes with exit %d, not %s"
                                      % (v[0], VERDICT_CODES[v[0]], v[1]))
        else:
            want[key].append(value)
    if want["verdict"] is None:
        want["errors"].append("no '-- expect: VERDICT CODE' line in the header")
    elif want["verdict"] == "FAIL" and not want["expect-failed"]:
        want["errors"].append("a FAIL self-test must name the expectation that fails "
                              "('-- expect-failed: NAME')")
    elif want["verdict"] == "FAIL" and not want["expect-passed"] and not want["faults"]:
        want["errors"].append("a FAIL self-test must show its bound is honest: a healthy twin "
                              "('-- expect-passed: NAME') or lines ending in "
                              "'-- selftest: fault'")
    elif want["verdict"] == "INCONCLUSIVE" and not want["expect-inconclusive"]:
        want["errors"].append("an INCONCLUSIVE self-test must name the expectation that is "
                              "inconclusive ('-- expect-inconclusive: NAME')")
    return want


def file_metric(name, metrics):
    """'stale_answers_fail_serial.lua' -> ('stale_answers', 'FAIL'); None if unnamed so."""
    for m in sorted(metrics, key=len, reverse=True):
        for kind, verdict in (("_fail", "FAIL"), ("_inconclusive", "INCONCLUSIVE"),
                              ("_pass", "PASS")):
            if re.fullmatch(re.escape(m) + kind + r"(_[a-z0-9_]+)?\.lua", name):
                return m, verdict
    return None


def judge(want, code, report, what):
    """Problems with one judgement (a run or a check) of a self-test: [] when it is as declared."""
    bad = []
    if code != want["code"]:
        bad.append("%s: exit %d, want %d" % (what, code, want["code"]))
    if report is None:
        bad.append("%s: no JSON report" % what)
        return bad
    if report.get("verdict") != want["verdict"].lower():
        bad.append("%s: verdict %s, want %s (%s)" % (what, report.get("verdict"),
                                                     want["verdict"].lower(), report.get("why")))
    by_name = {e["name"]: e for e in report.get("expectations", [])}
    for key, outcome in OUTCOME_OF.items():
        for name in want[key]:
            e = by_name.get(name)
            if e is None:
                bad.append("%s: no expectation named '%s'" % (what, name))
            elif e["outcome"] != outcome:
                bad.append("%s: '%s' is %s (observed %s, bound %s%s), want %s"
                           % (what, name, e["outcome"], e["observed_text"], e["bound_text"],
                              ": " + e["why"] if e.get("why") else "", outcome))
    return bad


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def healed_copy(path, work):
    """The scenario without its fault lines, in a tree where its relative paths still work."""
    d = os.path.dirname(os.path.abspath(path))
    parent, grand = os.path.dirname(d), os.path.dirname(os.path.dirname(d))
    root = tempfile.mkdtemp(prefix="healed.", dir=work)
    here = os.path.join(root, "p", "q")
    os.makedirs(here)
    for src, dst, skip in ((d, here, None), (parent, os.path.dirname(here), os.path.basename(d)),
                           (grand, root, os.path.basename(parent))):
        for name in os.listdir(src):
            if name != skip and not os.path.exists(os.path.join(dst, name)):
                os.symlink(os.path.join(src, name), os.path.join(dst, name))
    healed = os.path.join(here, "healed-" + os.path.basename(path))
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    with open(healed, "w", encoding="utf-8") as f:
        f.write("\n".join("-- (fault removed)" if FAULT_MARK.match(line) else line
                          for line in lines))
    return healed


def named(want, outcome=None):
    """'[fail pass]': the outcomes of the named expectations (wanted, or outcome(name))."""
    return "[%s]" % " ".join(outcome(n) if outcome else OUTCOME_OF[key]
                             for key in OUTCOME_OF for n in want[key])


def run(cmd):
    """Runs dnschaos: (exit code, output); -1 when it outlives its time limit."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return -1, "timed out after 60 s"


def margins(want, exps, what):
    """The named expectations that came out as declared, each with how far its observed
    value is from its bound, relative to the bound (a success_rate at_least b: relative
    to 1 - b, the room for failures it leaves): [(margin, text)]. A bound of 0 (a count
    that must stay 0) has no relative distance and is left out."""
    out = []
    for key, outcome in OUTCOME_OF.items():
        if outcome == "inconclusive":
            continue
        for name in want[key]:
            e = exps.get(name)
            if not e or e["outcome"] != outcome:
                continue
            obs, bound = e.get("observed"), e.get("bound")
            if not isinstance(obs, (int, float)) or not isinstance(bound, (int, float)) \
                    or bound == 0 or e.get("never"):
                continue
            scale = abs(bound)
            if e.get("metric") == "success_rate" and e.get("op") == "at_least" and bound < 1:
                scale = 1 - bound  # a rate near 1: the room the bound leaves for failures
            out.append((abs(obs - bound) / scale,
                        "%s: '%s' %s, observed %s, bound %s" % (what, name, outcome,
                                                                e["observed_text"],
                                                                e["bound_text"])))
    return out


def run_one(binary, path, want, metric, work):
    """Plays one self-test: (path, want, what it got, problems, values, margins, seconds)."""
    base = os.path.join(work, os.path.basename(path)[:-4])
    start = time.monotonic()
    problems = list(want["errors"])
    got, values, near = "-", [], []
    if problems:
        return path, want, got, problems, values, near, time.monotonic() - start
    code, out = run([binary, "run", path, "--json", base + ".json", "--history",
                     base + ".jsonl", "-q"])
    report = load(base + ".json")
    exps = {e["name"]: e for e in (report or {}).get("expectations", [])}
    got = "%s %d %s" % ((report or {}).get("verdict", "?").upper(), code,
                        named(want, lambda n: exps[n]["outcome"] if n in exps else "?"))
    problems += judge(want, code, report, "run")
    near += margins(want, exps, os.path.basename(path))
    for e in exps.values():
        values.append("%s: %s %s, %s; %s" % (e["name"], e["outcome"], e["observed_text"],
                                             e["bound_text"], e.get("detail", "")))
    for key in OUTCOME_OF:
        for name in want[key]:
            if name in exps and metric and exps[name]["metric"] != metric:
                problems.append("'%s' measures %s, but the file is named for %s"
                                % (name, exps[name]["metric"], metric))
    if report and os.path.exists(base + ".jsonl"):
        # The same verdict again from the recorded history alone.
        ccode, _ = run([binary, "check", base + ".jsonl", path, "--json",
                        base + ".check.json", "-q"])
        problems += judge(want, ccode, load(base + ".check.json"), "check")
    if report and want["verdict"] == "FAIL" and want["faults"]:
        # The bound is honest: the same system without its fault passes it.
        hcode, _ = run([binary, "run", healed_copy(path, work), "--json",
                        base + ".healed.json", "-q"])
        healed = {e["name"]: e
                  for e in (load(base + ".healed.json") or {}).get("expectations", [])}
        for e in healed.values():
            values.append("healthy run: %s: %s %s, %s" % (e["name"], e["outcome"],
                                                          e["observed_text"], e["bound_text"]))
        near += margins({"expect-passed": want["expect-failed"], "expect-failed": [],
                         "expect-inconclusive": []}, healed,
                        os.path.basename(path) + " (fault lines removed)")
        for name in want["expect-failed"]:
            e = healed.get(name)
            if e is None:
                problems.append("healthy run (fault lines removed): exit %d, no '%s'"
                                % (hcode, name))
            elif e["outcome"] != "pass":
                problems.append("healthy run (fault lines removed): '%s' is %s (observed %s, "
                                "bound %s): the bound fails a healthy system too"
                                % (name, e["outcome"], e["observed_text"], e["bound_text"]))
    if problems and out.strip():
        problems.append("output: " + " | ".join(out.strip().splitlines()[-6:]))
    return path, want, got, problems, values, near, time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dnschaos")
    ap.add_argument("--dir", default=HERE)
    ap.add_argument("--checks", default=os.path.join(HERE, "..", "..", "docs", "checks.md"))
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("-v", action="store_true", help="print every expectation's value")
    ap.add_argument("only", nargs="*",
                    help="run only these files of DIR, or these paths (coverage is not checked)")
    a = ap.parse_intermixed_args()

    metrics = metrics_of(a.checks)
    if not metrics:
        print("no metric table found in %s" % a.checks)
        return 1
    files = sorted(f for f in os.listdir(a.dir) if f.endswith(".lua"))
    problems_total = 0
    # Coverage: each metric of the table needs a FAIL and an INCONCLUSIVE self-test.
    if not a.only:
        have = set()
        for f in files:
            fm = file_metric(f, metrics)
            if fm:
                have.add(fm)
            else:
                print("BAD  %s: not named <metric>_fail*.lua or <metric>_inconclusive*.lua "
                      "for a metric of %s" % (f, a.checks))
                problems_total += 1
        for m in metrics:
            for verdict in ("FAIL", "INCONCLUSIVE"):
                if (m, verdict) not in have:
                    print("BAD  metric %s has no %s self-test (%s_%s.lua)"
                          % (m, verdict, m, verdict.lower()))
                    problems_total += 1
    else:
        # A path (it holds a '/') is played as it is, wherever it lives: the
        # shipped scenarios (header '-- expect: PASS 0') and their self-tests.
        given = [o for o in a.only if os.sep in o]
        missing = [o for o in given if not os.path.isfile(o)]
        names = [o for o in a.only if o not in given]
        unknown = [o for o in names if o not in files and o + ".lua" not in files]
        if unknown:
            print("no such self-test in %s: %s" % (a.dir, ", ".join(unknown)))
        if missing:
            print("no such file: %s" % ", ".join(missing))
        if unknown or missing:
            return 1
        files = [f for f in files if f in names or f[:-4] in names] + given

    passed = failed = 0
    nearest = []
    with tempfile.TemporaryDirectory(prefix="selftest.") as work, \
            concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.j)) as pool:
        jobs = []
        for f in files:
            path = f if os.sep in f else os.path.join(a.dir, f)
            f = os.path.basename(f)
            want = header(path)
            fm = file_metric(f, metrics)
            if fm and want["verdict"] and fm[1] != want["verdict"]:
                want["errors"].append("named for %s but declares %s" % (fm[1], want["verdict"]))
            jobs.append(pool.submit(run_one, a.dnschaos, path, want, fm[0] if fm else None, work))
        for job in jobs:
            path, want, got, problems, values, near, secs = job.result()
            nearest += near
            name = os.path.basename(path)
            expected = "%s %s %s" % (want["verdict"], want["code"], named(want))
            if problems:
                failed += 1
                print("FAIL %-40s expected %-24s got %-24s (%.1f s)" % (name, expected, got, secs))
                for p in problems:
                    print("       " + p)
            else:
                passed += 1
                print("ok   %-40s %-24s (%.1f s)" % (name, got, secs))
            if a.v:
                for v in values:
                    print("       " + v)
            sys.stdout.flush()
    # Information, never a failure: the outcomes nearest to flipping. A bound
    # inside the spread of what it measures makes a test that fails now and
    # then; this names the candidates in every log.
    if nearest:
        print("nearest to their bounds (distance relative to the bound):")
        for m, text in sorted(nearest)[:5]:
            print("  %5.1f%%  %s" % (100 * m, text))
    print("%d passed, %d failed" % (passed, failed + problems_total))
    return 1 if failed or problems_total else 0


if __name__ == "__main__":
    sys.exit(main())
