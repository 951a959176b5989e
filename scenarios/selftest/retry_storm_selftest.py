#!/usr/bin/env python3
"""The shipped scenario scenarios/retry_storm.lua and its self-tests.

Usage: retry_storm_selftest.py PATH/TO/dnschaos [-j N] [-v]

1. Every scenarios/selftest/retry_storm_*.lua must be the shipped scenario
   plus the lines that break it (ending in `-- selftest: fault`), under its
   own header, name and zone path: so a self-test cannot drift from what
   ships, and the runner's healthy run (those lines removed) is the shipped
   scenario itself. scenarios/selftest/retry_storm_variants.py writes them.
2. The shipped scenario must end PASS (exit 0, verdict pass, every
   expectation passed): the storm reproduced.
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
SHIPPED = os.path.join(ROOT, "scenarios", "retry_storm.lua")
RUNNER = os.path.join(ROOT, "tests", "selftest", "run.py")
CHECKS = os.path.join(ROOT, "docs", "checks.md")
FAULT_MARK = re.compile(r"^(?!\s*--).*--\s*selftest:\s*fault\s*$")
NAME_LINE = re.compile(r'^local s = scenario\{ name = "retry storm[^"]*",')


def body(text):
    """The code after the leading comment block, fault lines dropped, the
    scenario's name and zone path (which differ by design) made common."""
    lines = text.split("\n")
    i = 0
    while i < len(lines) and lines[i].startswith("--"):
        i += 1
    out = []
    for line in lines[i:]:
        if FAULT_MARK.match(line):
            continue
        line = NAME_LINE.sub('local s = scenario{ name = "retry storm",', line)
        line = line.replace('s:zone("../zones/', 's:zone("zones/')
        out.append(line)
    return out


def faithful(path, shipped):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not any(FAULT_MARK.match(line) for line in text.split("\n")):
        return "has no line ending in '-- selftest: fault': what does it break?"
    mine = body(text)
    if mine == shipped:
        return None
    for n, (a, b) in enumerate(zip(mine, shipped)):
        if a != b:
            return "differs from scenarios/retry_storm.lua beyond its fault lines (after a " \
                   "change to the shipped scenario, run retry_storm_variants.py):\n" \
                   "    self-test: %s\n    shipped:   %s" % (a, b)
    return "differs from scenarios/retry_storm.lua in length (%d lines, shipped %d)" % (
        len(mine), len(shipped))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dnschaos")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()

    with open(SHIPPED, encoding="utf-8") as f:
        shipped_text = f.read()
    shipped = body(shipped_text)
    tests = sorted(os.path.basename(p)
                   for p in glob.glob(os.path.join(HERE, "retry_storm_*.lua")))
    bad = 0
    if not tests:
        print("BAD  no scenarios/selftest/retry_storm_*.lua")
        bad += 1
    for t in tests:
        why = faithful(os.path.join(HERE, t), shipped)
        if why:
            print("BAD  %s %s" % (t, why))
            bad += 1

    with tempfile.TemporaryDirectory(prefix="retry_storm.") as work:
        report = os.path.join(work, "shipped.json")
        # The shipped run first, alone: its bounds were measured with one run at
        # a time (docs/scenarios.md), and a loop starved by several runs'
        # worker threads on two cores can lose a surge's arrivals.
        ship = subprocess.Popen([a.dnschaos, "run", SHIPPED, "--json", report, "--history",
                                 os.path.join(work, "shipped.jsonl"), "-q"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            out, _ = ship.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            ship.kill()
            out, _ = ship.communicate()
        cmd = [sys.executable, RUNNER, a.dnschaos, "--dir", HERE, "--checks", CHECKS,
               "-j", str(a.j)] + (["-v"] if a.v else []) + tests
        rc = subprocess.call(cmd) if tests else 1
        code = ship.returncode
        try:
            with open(report, encoding="utf-8") as f:
                r = json.load(f)
        except (OSError, ValueError):
            r = {}
        exps = r.get("expectations", [])
        notpass = [e for e in exps if e["outcome"] != "pass"]
        if code != 0 or r.get("verdict") != "pass" or not exps or notpass:
            print("FAIL scenarios/retry_storm.lua: exit %d, verdict %s (%s)"
                  % (code, r.get("verdict"), r.get("why")))
            for e in notpass:
                print("       %s: %s, observed %s, bound %s %s" % (
                    e["name"], e["outcome"], e["observed_text"], e["bound_text"],
                    e.get("why", "")))
            tail = out.decode("utf-8", "replace").strip().splitlines()[-6:]
            if tail:
                print("       output: " + " | ".join(tail))
            bad += 1
        else:
            print("ok   retry_storm.lua (shipped) PASS 0, %d expectations" % len(exps))
        if a.v:
            for e in exps:
                print("       %s: %s %s, %s" % (e["name"], e["outcome"], e["observed_text"],
                                                e["bound_text"]))
    if rc != 0:
        bad += 1
    print("retry_storm: %s" % ("ok" if not bad else "%d problem(s)" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
