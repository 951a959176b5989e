#!/usr/bin/env python3
"""cause_check.py - "what went wrong" and the clients table against a count by hand, on real runs.

Usage: cause_check.py DNSCHAOS REPO

Runs shipped scenarios (and variants of them that break another backend)
as one suite, two at a time, then for each run reads its history and its
JSON report and checks:
  - the cause names the backend that was broken (p2 when p2 rebooted stale,
    p1 when the variant reboots p1; the hung backends of the half-VIP pairs;
    in the outage replay both the liar p2 and the drowning survivor p1);
  - every figure the sentences print equals a count over the history's
    lines: completed and bad lookups, each "N of M lookups of CLIENT" (M: the
    client's completed lookups; N: its bad lookups the cause holds, and for a
    stale cause, its stale answers of that serial), each share;
  - the console summary and the HTML report carry the same sentences;
  - the clients table (JSON, console, HTML): every figure of every client
    recounted from the lookup lines invoked from the first fault on:
    lookups, ok, failed, timeouts, stale, wrong, success, p50 and p99 by
    nearest rank, wire queries per lookup.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def lookups(path):
    done = []
    for line in open(path, encoding="utf-8"):
        e = json.loads(line)
        if e["type"] == "lookup" and e["event"] not in ("invoke", "cancelled"):
            done.append(e)
    return done


def bad(e):
    if e.get("class") in ("stale", "wrong"):
        return True
    return e["event"] == "timeout" or (e["event"] == "fail" and "class" not in e)


def by_hand(name, hist, report, expect_who):
    done = lookups(hist)
    nbad = sum(1 for e in done if bad(e))
    check(report["lookups"] == {"completed": len(done), "bad": nbad},
          f"{name}: {len(done)} completed and {nbad} bad lookups by hand; report says "
          f"{report['lookups']}")
    causes = report["causes"]
    if len(causes) < 8:
        check(sum(c["lookups"] for c in causes) == nbad,
              f"{name}: the causes hold every bad lookup once ({nbad})")
    per_client = {}
    for e in done:
        per_client[e["client"]] = per_client.get(e["client"], 0) + 1
    for c in causes:
        text = c["text"]
        pairs = re.findall(r"(\d+) of (\d+) (?:lookups )?of ([\w.-]+)", text)
        check(pairs and sum(int(n) for n, _, _ in pairs) == c["lookups"],
              f"{name}: the clients of '{text[:60]}...' add up to {c['lookups']}")
        for n, m, client in pairs:
            check(per_client.get(client) == int(m),
                  f"{name}: {client} completed {per_client.get(client)} lookups (text: {m})")
            if c["kind"] == "stale":
                serial = int(re.search(r"served serial (\d+)", text).group(1))
                stale = sum(1 for e in done if e["client"] == client and
                            e.get("class") == "stale" and e.get("serial") == serial)
                check(stale == int(n), f"{name}: {client} got {stale} stale answers of serial "
                                       f"{serial} by hand (text: {n})")
        if len(causes) > 1:
            pct = 100 * c["lookups"] / nbad
            share = "under 1%" if pct < 0.5 else f"{round(pct)}%"
            check(f"({share} of the {nbad} " in text,
                  f"{name}: the share of '{text[:40]}...' is its lookups over all bad ones")
        check(abs(c["share"] - c["lookups"] / nbad) < 1e-9, f"{name}: share field")
    whos = [c["who"] for c in causes]
    for kind, who in expect_who:
        check(any(c["kind"] == kind and c["who"] == who for c in causes),
              f"{name}: a {kind} cause names {who} (causes: {[(c['kind'], c['who']) for c in causes]})")
    return whos


def clients_by_hand(name, hist, report, console, html):
    lines = [json.loads(l) for l in open(hist, encoding="utf-8")]
    faults = [e["t"] for e in lines if e["type"] == "fault" and e["action"] == "inject"]
    start = faults[0] if faults else 0
    check(abs(report["clients_from"] - start) < 1e-6,
          f"{name}: the table starts at the first fault ({start})")
    invoked, order = {}, []
    for e in lines:
        if e["type"] == "lookup" and e["event"] == "invoke":
            invoked[e["id"]] = e
            if e["client"] not in order:
                order.append(e["client"])
    rows = {}
    for e in lines:
        if e["type"] != "lookup" or e["event"] in ("invoke", "cancelled"):
            continue
        if invoked[e["id"]]["t"] < start:
            continue
        rows.setdefault(e["client"], []).append(e)
    got = report["clients"]
    check([c["client"] for c in got] == order, f"{name}: one row per client, in order {order}")
    for c in got:
        ls = rows.get(c["client"], [])
        n = len(ls)
        lat = sorted(e["latency_ms"] for e in ls)

        def rank(p):
            return lat[max(1, math.ceil(p * n / 100)) - 1]
        want = {"lookups": n, "ok": sum(e["event"] == "ok" for e in ls),
                "failed": sum(e["event"] == "fail" for e in ls),
                "timeouts": sum(e["event"] == "timeout" for e in ls),
                "stale": sum(e.get("class") == "stale" for e in ls),
                "wrong": sum(e.get("class") == "wrong" for e in ls)}
        have = {k: c[k] for k in want}
        check(have == want, f"{name}: {c['client']} counts by hand {want} (report {have})")
        if n:
            check(abs(c["success"] - want["ok"] / n) < 1e-9 and c["p50_ms"] == rank(50) and
                  c["p99_ms"] == rank(99) and
                  abs(c["wire_per_lookup"] - sum(e["wire"] for e in ls) / n) < 1e-9,
                  f"{name}: {c['client']} success, p50, p99 and wire by hand")
        row = re.search(r"^" + re.escape(c["client"]) + r"\s+\S+\s+(\d+)\s+(\S+)", console,
                        re.M)
        check(row is not None and int(row.group(1)) == n and
              (n == 0 or row.group(2) == f"{want['ok'] / n:.4f}"),
              f"{name}: the console row of {c['client']} says {n} lookups")
        check(f"<td>{c['client']}</td>" in html, f"{name}: the HTML table has {c['client']}")


def main():
    dnschaos, repo = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    scen = os.path.join(repo, "scenarios")
    work = tempfile.mkdtemp(prefix="cause_check.")
    try:
        suite = os.path.join(work, "suite")
        os.mkdir(suite)
        os.symlink(os.path.join(scen, "zones"), os.path.join(suite, "zones"))
        stale = open(os.path.join(scen, "stale_zone_reboot.lua"), encoding="utf-8").read()
        shutil.copy(os.path.join(scen, "stale_zone_reboot.lua"), os.path.join(suite, "p2.lua"))
        # The same reboot on the other resolver of each pair: the cause must move to p1.
        swapped = stale.replace('s:at(3.2, p2, "crash"', 's:at(3.2, p1, "crash"')
        assert swapped != stale
        open(os.path.join(suite, "p1.lua"), "w", encoding="utf-8").write(swapped)
        shutil.copy(os.path.join(scen, "half_vip_timeout.lua"), os.path.join(suite, "vip.lua"))
        shutil.copy(os.path.join(scen, "per_stack.lua"), os.path.join(suite, "stacks.lua"))
        shutil.copy(os.path.join(scen, "outage_replay.lua"), os.path.join(suite, "outage.lua"))
        hist = os.path.join(work, "hist")
        rep = os.path.join(work, "report")
        rc = subprocess.run([dnschaos, "run", suite, "--jobs", "2", "--history", hist,
                             "--report", rep, "-q"]).returncode
        check(rc in (0, 1), f"the suite ran (exit {rc})")
        expect = {
            "p2": [("stale", "p2")],
            "p1": [("stale", "p1")],
            "vip": [("hang", "hung-2"), ("hang", "pq-2")],
            "stacks": [("hang", "hung")],
            # the incident: the liar and the drowning survivor, each with its share
            "outage": [("stale", "p2"), ("capacity", "p1")],
        }
        for name, who in expect.items():
            h = os.path.join(hist, name + ".jsonl")
            js = os.path.join(work, name + ".json")
            res = subprocess.run([dnschaos, "check", h, os.path.join(suite, name + ".lua"),
                                  "--json", js], capture_output=True, text=True)
            check(res.returncode in (0, 1), f"{name}: check ran (exit {res.returncode})")
            report = json.load(open(js, encoding="utf-8"))
            whos = by_hand(name, h, report, who)
            if name == "p1":
                check("p2" not in whos, f"{name}: p2, not broken here, is named by no cause")
            clients_by_hand(name, h, report, res.stdout,
                            open(os.path.join(rep, name, "index.html"), encoding="utf-8").read())
            console = re.sub(r"\s+", " ", res.stdout)
            for c in report["causes"]:
                check(c["text"] in console, f"{name}: the console prints '{c['text'][:50]}...'")
            html = open(os.path.join(rep, name, "index.html"), encoding="utf-8").read()
            check(report["cause"] in html and 'id="cause"' in html,
                  f"{name}: the HTML report has the summary")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(FAILS)} failed" if FAILS else "all passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
