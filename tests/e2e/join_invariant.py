#!/usr/bin/env python3
"""The join's invariants, from a run of tests/join/invariant.lua (every stack
behind a VIP with a hung backend, and behind a capacity queue):

  1. no lookup has more joined wire queries than its stack can send for it:
     attempts x servers x question types (glibc getaddrinfo: x 3 more, since
     one attempt may send the pair in parallel, again one at a time, and
     again from a reopened socket; libunbound has no attempts option and
     is not bounded here);
  2. each joined line names a lookup of the client it names, alive when the
     query arrived (invoked before the line; for a query that waited in a
     capacity queue, before its arrival, the line's time minus queue_ms);
  3. the checker's amplification of each client (from the JSON summary)
     equals an independent count of the client's sends: the route lines
     (VIP ingress) or query lines (a resolver asked directly) from the
     client's source address with the client's name, less those marked
     ambiguous, divided by its completed lookups; every such line is joined
     to that client (a lookup of it, or marked ambiguous), and none is
     ambiguous for the closed-loop clients (one lookup in flight per
     client, one name per client: each query has one possible sender).

Usage: join_invariant.py HISTORY.jsonl SUMMARY.json
Exit 0 when every invariant holds, 1 with one line per broken one.
"""
import json
import sys
from collections import defaultdict

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


hist, summary = sys.argv[1], sys.argv[2]
with open(hist, encoding="utf-8") as f:
    events = [json.loads(line) for line in f if line.endswith("\n")]
with open(summary, encoding="utf-8") as f:
    observed = {e["name"]: e["observed"] for e in json.load(f)["expectations"]}

# The clients as the scenario declares them: (attempts, question types) per stack.
STACKS = {
    "glibc": (2, 2 * 3),  # family both; x3: parallel, single-request, single-request-reopen
    "glibc-res": (2, 1),
    "c-ares": (3, 1),
    "ldns": (3, 1),
    "libunbound": (None, 1),
    "dig": (2, 1),         # +tries=2
}
BINDS = {"c-ares", "ldns", "libunbound"}  # their own 127.0.100.N; the others send from 127.0.0.1

invoked, done = {}, {}
source = {}  # client -> source address seen in its joined lines
for e in events:
    if e["type"] == "lookup":
        (invoked if e["event"] == "invoke" else done)[e["id"]] = e

clients = sorted({e["client"] for e in invoked.values()})
check(len(clients) == 14, f"14 clients ran ({len(clients)})")
name_of = {e["client"]: e["name"] for e in invoked.values()}

wire_lines = [e for e in events if e["type"] in ("route", "query")]
joined = defaultdict(list)
for e in wire_lines:
    if "lookup" in e:
        joined[e["lookup"]].append(e)

# 2: every joined line names a lookup of its client that was alive when the query arrived.
bad = []
for lid, lines in joined.items():
    inv, end = invoked.get(lid), done.get(lid)
    for w in lines:
        arrived = w["t"] - w.get("queue_ms", 0) / 1000.0
        if not inv or w.get("client") != inv["client"] or arrived < inv["t"] - 1e-6 or (
                end and arrived > end["t"] + 1e-6):
            bad.append((lid, w["t"], w.get("src")))
check(not bad, f"every joined query arrived while its lookup lived ({len(bad)} did not: {bad[:3]})")

for c in clients:
    prefix, stack = c.split("-", 1)
    attempts, types = STACKS[stack]
    mine = [d for d in done.values() if d["client"] == c]
    completed = [d for d in mine if d["event"] != "cancelled"]
    if prefix == "open":
        check(len(mine) == len(completed) and completed,
              f"{c}: every lookup completed before the end ({len(completed)} of {len(mine)})")
    else:
        # One lookup at a time: one still in flight at the end (cancelled, so outside the
        # amplification) began after the last completed one ended; its sends are left out.
        check(completed and len(mine) - len(completed) <= 1,
              f"{c}: every lookup but the last completed ({len(completed)} of {len(mine)})")
    cutoff = max((d["t"] for d in completed), default=0) if prefix != "open" else float("inf")
    # 1: the bound.
    if attempts is not None:
        bound = attempts * 1 * types  # one server: the VIP, or the capacity-limited resolver
        worst = max((d["wire"] for d in mine), default=0)
        check(worst <= bound, f"{c}: at most {bound} wire queries per lookup (worst {worst})")
    # Each lookup's wire count is the number of lines joined to it.
    off = [d["id"] for d in mine if d["wire"] != len(joined[d["id"]])]
    check(not off, f"{c}: each lookup's wire is the count of its joined lines ({off[:5]} differ)")
    # 3: the independent count: lines from the client's source with its name.
    qname = name_of[c] + "."
    where = "query" if prefix == "cap" else "route"
    sent = []
    for e in wire_lines:
        if e["type"] != where or e.get("qname") != qname:
            continue
        if e["t"] - e.get("queue_ms", 0) / 1000.0 > cutoff + 1e-6:
            continue  # arrived after the last completed lookup: the cancelled one's
        host = e["src"].rsplit(":", 1)[0]
        if (stack in BINDS and host.startswith("127.0.100.")) or (
                stack not in BINDS and host == "127.0.0.1"):
            sent.append(e)
    hosts = {e["src"].rsplit(":", 1)[0] for e in sent}
    check(len(hosts) <= 1, f"{c}: its sends came from one source address ({sorted(hosts)})")
    ambiguous = [e for e in sent if e.get("join") == "ambiguous"]
    unjoined = [e for e in sent if e.get("client") != c or (
        "lookup" not in e and e.get("join") != "ambiguous")]
    check(not unjoined, f"{c}: every send is joined to one of its lookups or marked ambiguous "
          f"({len(unjoined)} not: {[(e['t'], e.get('join')) for e in unjoined[:3]]})")
    if prefix != "open":
        check(not ambiguous, f"{c}: no send is ambiguous ({len(ambiguous)} are)")
    else:
        print(f"     {c}: {len(ambiguous)} of {len(sent)} sends ambiguous")
    if completed:
        indep = (len(sent) - len(ambiguous)) / len(completed)
        amp = observed.get(c)
        check(amp is not None and abs(amp - indep) < 1e-9,
              f"{c}: amplification {amp} = ({len(sent)} sends - {len(ambiguous)} ambiguous) / "
              f"{len(completed)} lookups = {indep:.4f}")

if failures:
    print(f"{len(failures)} invariant(s) broken")
    sys.exit(1)
