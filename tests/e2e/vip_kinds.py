#!/usr/bin/env python3
"""vip_kinds.py - the userspace `flow` VIP and the kernel's (kind =
"nftables") on the same scenario, figure by figure.

It runs SCENARIO as it is (its flow-policy VIPs are userspace ones) and a
generated copy in which every `s:vip{...}` line with policy = "flow" also says
kind = "nftables" (nothing else changes), each RUNS times with the
scenario's seed, both in a private network namespace (the kernel VIP needs
one; the userspace VIP gets its raw socket for the port unreachable there
too), and compares each expectation's observed value, averaged over the
runs, between the two kinds with the tolerance of its metric. The value is
the measure itself: each history is judged again by `dnschaos check` with a
copy whose expectations say baseline = true, so a figure whose verdict is
inconclusive (no lookup was seen to meet the fault) is still compared; the
table shows each kind's verdicts beside it.

  success_rate   0.10 absolute (the binomial spread over ~116 lookups is 0.05)
  latency        max(150 ms, 15%)
  seconds        0.30 s (detection_time, failure_span)

An expectation whose name starts with one of --required (default "hung:"
and "stopped:", the half-VIP scenario's hang and stop variants) must have a
value under both kinds and agree; the others are printed, "differ" when
they do not agree (docs/vip-kinds.md says why the health-checked variant
can), and an inconclusive one with its reason. --markdown prints the table
docs/vip-kinds.md holds.

Usage: vip_kinds.py DNSCHAOS SCENARIO [--runs N] [--markdown]. Exit 0 when
they agree, 1 when not, 77 (skipped) without unshare, nft or conntrack.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def in_netns(argv):
    """argv run in a new private user and network namespace with lo up. The
    one place to change when `dnschaos run --sandbox` replaces unshare."""
    return ["timeout", "120", "unshare", "-r", "-n", "sh", "-c",
            'ip link set lo up && exec "$@"', "sh"] + argv


def kernel_copy(text):
    """The scenario with kind = "nftables" on its flow-policy VIPs, and the count."""
    n = 0

    def sub(m):
        nonlocal n
        n += 1
        return m.group(0) + ', kind = "nftables"'
    out = "\n".join(re.sub(r'policy = "flow"', sub, l) if "s:vip{" in l else l
                    for l in text.split("\n"))
    return out, n


def measuring_copy(text):
    """The scenario with baseline = true on every expectation over lookups: judged again by
    `dnschaos check` on a run's history, it gives each figure even where the
    verdict is inconclusive because the history cannot show that a lookup met
    the fault (a stopped backend behind the kernel VIP writes no line)."""
    over = "success_rate|latency|stale_answers|wrong_answers|stale_stretch|amplification|" \
        "goodput|recovery"
    return re.sub(r"s:expect\{(?=[^{}]*\b(%s)\{)" % over, "s:expect{ baseline = true,", text)


def tolerance(metric, unit, a, b):
    if metric == "success_rate":
        return 0.10
    if unit == "ms":
        return max(150.0, 0.15 * max(abs(a), abs(b)))
    return 0.30


def run(dnschaos, scenario, measuring, tmp, tag, k):
    """One run: its JSON summary, with each expectation's measured value
    (`measured`, from `dnschaos check` with the measuring copy) added."""
    js = os.path.join(tmp, "%s-%d.json" % (tag, k))
    mjs = os.path.join(tmp, "%s-%d.measured.json" % (tag, k))
    hist = os.path.join(tmp, "%s-%d.jsonl" % (tag, k))
    p = subprocess.run(in_netns([dnschaos, "run", "-q", scenario, "--json", js,
                                 "--history", hist]), capture_output=True, text=True)
    if p.returncode not in (0, 1, 2) or not os.path.exists(js):
        sys.exit("%s run %d failed (exit %d):\n%s" % (tag, k, p.returncode, p.stderr))
    q = subprocess.run([dnschaos, "check", hist, measuring, "-q", "--json", mjs],
                       capture_output=True, text=True)
    if q.returncode not in (0, 1, 2) or not os.path.exists(mjs):
        sys.exit("%s run %d: check failed (exit %d):\n%s" % (tag, k, q.returncode, q.stderr))
    with open(js) as f:
        res = json.load(f)
    with open(mjs) as f:
        for e, m in zip(res["expectations"], json.load(f)["expectations"]):
            e["measured"] = m.get("observed")
            e["measured_why"] = m.get("why", "")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dnschaos")
    ap.add_argument("scenario")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--required", action="append", default=None)
    a = ap.parse_args()
    required = a.required or ["hung:", "stopped:"]
    for tool in ("unshare", "nft", "conntrack", "ip", "timeout"):
        if not shutil.which(tool):
            skip(tool + " is missing")
    if subprocess.run(["unshare", "-r", "-n", "nft", "list", "ruleset"],
                      capture_output=True).returncode != 0:
        skip("no private user and network namespace with nftables here (unshare -r -n)")
    dnschaos = os.path.abspath(a.dnschaos)
    src = os.path.abspath(a.scenario)
    with tempfile.TemporaryDirectory() as tmp:
        # the copy sits beside copies of the scenario's folder, so its files resolve
        base = os.path.join(tmp, "scen")
        shutil.copytree(os.path.dirname(src), base, symlinks=True)
        with open(src) as f:
            text, n = kernel_copy(f.read())
        if n == 0:
            sys.exit("%s has no s:vip{...} line with policy = \"flow\"" % a.scenario)
        kern = os.path.join(base, "kernel_" + os.path.basename(src))
        with open(kern, "w") as f:
            f.write(text)
        user = os.path.join(base, os.path.basename(src))
        with open(src) as f:
            orig = f.read()
        measure = {}
        for kind, t in (("flow", orig), ("nftables", text)):
            measure[kind] = os.path.join(base, "measure_%s_%s" % (kind, os.path.basename(src)))
            with open(measure[kind], "w") as f:
                f.write(measuring_copy(t))
        res = {"flow": [], "nftables": []}
        for k in range(a.runs):
            res["flow"].append(run(dnschaos, user, measure["flow"], tmp, "flow", k))
            res["nftables"].append(run(dnschaos, kern, measure["nftables"], tmp, "nftables", k))
    bad = 0
    rows = []
    names = [e["name"] for e in res["flow"][0]["expectations"]]
    for i, name in enumerate(names):
        col = {}
        for kind in res:
            vals = [r["expectations"][i]["measured"] for r in res[kind]
                    if r["expectations"][i].get("measured") is not None]
            outs = sorted({r["expectations"][i]["outcome"] for r in res[kind]})
            why = [r["expectations"][i]["measured_why"] or r["expectations"][i]["why"]
                   for r in res[kind]
                   if r["expectations"][i]["measured_why"] or r["expectations"][i]["why"]]
            col[kind] = (sum(vals) / len(vals) if vals else None, vals, outs, why)
        e0 = res["flow"][0]["expectations"][i]
        metric, unit = e0["metric"], e0["unit"]
        f, nf = col["flow"][0], col["nftables"][0]
        must = any(name.startswith(p) for p in required)
        if f is not None and nf is not None:
            tol = tolerance(metric, unit, f, nf)
            agree = abs(f - nf) <= tol
            verdict = "agree" if agree else ("DISAGREE" if must else "differ")
            if not agree and must:
                bad += 1
        else:
            tol = None
            verdict = "no value" + (" (required)" if must else "")
            if must:
                bad += 1
        rows.append((name, metric, unit, col, tol, verdict))

    def fmt(v, unit):
        if v is None:
            return "-"
        return ("%.0f ms" % v) if unit == "ms" else ("%.3f %s" % (v, unit)).strip()
    print("vip_kinds: %s, %d run(s) per kind, seed %s" % (a.scenario, a.runs,
                                                         res["flow"][0]["seed"]))
    for name, metric, unit, col, tol, verdict in rows:
        print("  %-60s flow %-12s nftables %-12s tol %-8s %s" % (
            name[:60], fmt(col["flow"][0], unit), fmt(col["nftables"][0], unit),
            "-" if tol is None else fmt(tol, unit), verdict))
        for kind in col:
            if col[kind][0] is None and col[kind][3]:
                print("      %s: %s" % (kind, col[kind][3][0][:200]))
    if a.markdown:
        print()
        print("| expectation | metric | userspace `flow` | `nftables` | tolerance | |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, metric, unit, col, tol, verdict in rows:
            cell = {}
            for kind in col:
                v, vals, outs, why = col[kind]
                spread = ""
                if len(vals) > 1:
                    spread = " [%s to %s]" % (fmt(min(vals), unit), fmt(max(vals), unit))
                cell[kind] = fmt(v, unit) + spread + " (" + "/".join(outs) + ")"
            print("| %s | %s | %s | %s | %s | %s |" % (
                name, metric, cell["flow"], cell["nftables"],
                "-" if tol is None else fmt(tol, unit), verdict))
    print("FAIL: %d figure(s) disagree or are missing" % bad if bad else "PASS")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
