#!/usr/bin/env python3
"""The shipped incident scenarios scenarios/outage_replay.lua and
scenarios/gating_fix.lua, and their self-tests.

Usage: outage_selftest.py PATH/TO/dnschaos [-j N] [-v] [--no-shipped]

1. Every scenarios/selftest/outage_*.lua must be scenarios/outage_replay.lua,
   and every scenarios/selftest/gating_*.lua scenarios/gating_fix.lua, plus
   the lines that break it (ending in `-- selftest: fault`), under its own
   header, name and zone paths: so a self-test cannot drift from what ships,
   and the runner's healthy run (those lines removed) is the shipped
   scenario itself. scenarios/selftest/outage_variants.py writes them.
2. Both shipped scenarios must end PASS (exit 0, verdict pass, every
   expectation passed): the incident reproduced, the fix proven. (With
   --no-shipped this step is left to ctest's shipped_outage_replay and
   shipped_gating_fix, which run them on their own.)
3. tests/selftest/run.py plays the self-tests and asserts each one's exact
   verdict, exit code and named outcomes (their headers), judges each history
   again with `dnschaos check`, and replays each FAIL self-test without its
   fault lines, where the expectations it names must pass.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.path.join(ROOT, "tests", "selftest", "run.py")
CHECKS = os.path.join(ROOT, "docs", "checks.md")
FAULT_MARK = re.compile(r"^(?!\s*--).*--\s*selftest:\s*fault\s*$")
# self-test prefix -> (shipped scenario, its name)
SHIPPED = {
    "outage_": ("outage_replay.lua", "outage replay"),
    "gating_": ("gating_fix.lua", "gating fix"),
}


def body(text, name):
    """The code after the leading comment block, fault lines dropped, the
    scenario's name and zone paths (which differ by design) made common."""
    lines = text.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith("--"):
        i += 1
    name_line = re.compile(r'^local s = scenario\{ name = "%s[^"]*",' % re.escape(name))
    out = []
    for line in lines[i:]:
        if FAULT_MARK.match(line):
            continue
        line = name_line.sub('local s = scenario{ name = "%s",' % name, line)
        line = line.replace('s:zone("../zones/', 's:zone("zones/')
        out.append(line)
    return out


def faithful(path, shipped, shipped_name, name):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not any(FAULT_MARK.match(line) for line in text.split("\n")):
        return "has no line ending in '-- selftest: fault': what does it break?"
    mine = body(text, name)
    if mine == shipped:
        return None
    for a, b in zip(mine, shipped):
        if a != b:
            return "differs from scenarios/%s beyond its fault lines (after a change to the " \
                   "shipped scenario, run outage_variants.py):\n    self-test: %s\n" \
                   "    shipped:   %s" % (shipped_name, a, b)
    return "differs from scenarios/%s in length (%d lines, shipped %d)" % (
        shipped_name, len(mine), len(shipped))


def run_shipped(dnschaos, path, work):
    """Starts a shipped scenario; returns (process, report path)."""
    base = os.path.join(work, os.path.basename(path))
    p = subprocess.Popen([dnschaos, "run", path, "--json", base + ".json", "--history",
                          base + ".jsonl", "-q"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return p, base + ".json"


def judge_shipped(path, proc, report, verbose):
    """0 when the shipped run ended PASS with every expectation passed, else 1."""
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    try:
        with open(report, encoding="utf-8") as f:
            r = json.load(f)
    except (OSError, ValueError):
        r = {}
    exps = r.get("expectations", [])
    notpass = [e for e in exps if e["outcome"] != "pass"]
    name = os.path.basename(path)
    bad = 0
    if proc.returncode != 0 or r.get("verdict") != "pass" or not exps or notpass:
        print("FAIL scenarios/%s: exit %d, verdict %s (%s)"
              % (name, proc.returncode, r.get("verdict"), r.get("why")))
        for e in notpass:
            print("       %s: %s, observed %s, bound %s %s" % (
                e["name"], e["outcome"], e["observed_text"], e["bound_text"], e.get("why", "")))
        tail = out.decode("utf-8", "replace").strip().splitlines()[-6:]
        if tail:
            print("       output: " + " | ".join(tail))
        bad = 1
    else:
        print("ok   %s (shipped) PASS 0, %d expectations" % (name, len(exps)))
    if verbose:
        for e in exps:
            print("       %s: %s %s, %s" % (e["name"], e["outcome"], e["observed_text"],
                                            e["bound_text"]))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dnschaos")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--no-shipped", action="store_true",
                    help="do not play the shipped scenarios themselves")
    a = ap.parse_args()

    bad = 0
    tests = []
    for prefix, (shipped_name, name) in sorted(SHIPPED.items()):
        with open(os.path.join(ROOT, "scenarios", shipped_name), encoding="utf-8") as f:
            shipped = body(f.read(), name)
        mine = sorted(os.path.basename(p) for p in glob.glob(os.path.join(HERE, prefix + "*.lua")))
        if not mine:
            print("BAD  no scenarios/selftest/%s*.lua" % prefix)
            bad += 1
        for t in mine:
            why = faithful(os.path.join(HERE, t), shipped, shipped_name, name)
            if why:
                print("BAD  %s %s" % (t, why))
                bad += 1
        tests += mine

    with tempfile.TemporaryDirectory(prefix="outage.") as work:
        # The two shipped runs first, side by side (their bounds were measured
        # so, and alone), then the self-tests, -j at a time.
        runs = [] if a.no_shipped else [
            (p,) + run_shipped(a.dnschaos, p, work) for p in
            (os.path.join(ROOT, "scenarios", s) for s, _ in sorted(SHIPPED.values()))]
        for path, proc, report in runs:
            bad += judge_shipped(path, proc, report, a.v)
        cmd = [sys.executable, RUNNER, a.dnschaos, "--dir", HERE, "--checks", CHECKS,
               "-j", str(a.j)] + (["-v"] if a.v else []) + tests
        if (subprocess.call(cmd) if tests else 1) != 0:
            bad += 1
    print("outage: %s" % ("ok" if not bad else "%d problem(s)" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
