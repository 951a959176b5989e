#!/usr/bin/env python3
"""Writes the retry_storm self-tests (scenarios/selftest/retry_storm_*.lua)
from scenarios/retry_storm.lua: each is the shipped scenario under its own
header (the verdict it must end with, and why), its own name and zone path,
with the lines that break it (ending in `-- selftest: fault`) inserted after
an anchor line. Run it after changing the shipped scenario; ctest
shipped_selftest_storm fails while a self-test differs from what this writes
(beyond its marked lines).

Usage: python3 scenarios/selftest/retry_storm_variants.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
src=open(os.path.join(ROOT, 'scenarios', 'retry_storm.lua'), encoding='utf-8').read()
body=src[src.index('local s = scenario{'):]
def variant(fname, title, header, edits):
    b=body.replace('scenario{ name = "retry storm",', 'scenario{ name = "retry storm selftest: %s",' % title, 1)
    b=b.replace('s:zone("zones/internal.v2.zone")','s:zone("../zones/internal.v2.zone")',1)
    for after, line in edits:
        i=b.index(after)
        j=b.index('\n', i)+1
        b=b[:j]+line+'\n'+b[j:]
    open(os.path.join(HERE, fname), 'w', encoding='utf-8').write(header.rstrip('\n')+'\n'+b)

ST = ["glibc", "c-ares", "ldns"]
COLL = [s + ": goodput collapses and stays collapsed after the surge" for s in ST]
LDNS_NOREC = "ldns: no recovery after the load cut (its workers blacklisted the resolver)"
REC = [s + ": goodput recovers after the load cut" for s in ("glibc", "c-ares")]
OVER = [s + ": the retries keep its resolver over capacity" for s in ST]
G_GOOD = [s + " (one try, long timeout): goodput holds through the surge" for s in ST]
G_AMP = [s + " (one try, long timeout): one query per lookup" for s in ST]
AMP_LO = ["glibc: amplification in the storm, at least", "c-ares: amplification in the storm, at least"]
AMP_HI = ["glibc: amplification in the storm, at most", "c-ares: amplification in the storm, at most",
          "ldns: amplification from the surge on, at most"]
U_GOOD = "libunbound: goodput comes back by itself while the load stays"
U_REC = "libunbound: goodput right after the load cut"
ALL = COLL + REC + [LDNS_NOREC] + OVER + G_GOOD + G_AMP + AMP_LO + AMP_HI + [U_GOOD, U_REC]

def hdr(verdict, failed=(), passed=(), inconc=(), text=""):
    out = ["-- expect: %s" % verdict]
    out += ["-- expect-failed: " + n for n in failed]
    out += ["-- expect-inconclusive: " + n for n in inconc]
    out += ["-- expect-passed: " + n for n in passed]
    out += ["--"] + ["-- " + l if l else "--" for l in text.strip("\n").split("\n")]
    return "\n".join(out) + "\n"

variant("retry_storm_fail_small_surge.lua", "small surge", hdr("FAIL 1",
    failed=COLL + [LDNS_NOREC] + OVER + AMP_LO, passed=G_GOOD + REC,
    text="""scenarios/retry_storm.lua with a surge too small to start a storm: 30
lookups a second for 1.5 s against a capacity of 40 (the line marked
"selftest: fault"). The queue never fills, no try times out, nothing is
retried: the system the shipped scenario would be if its trigger did
nothing.
Why FAIL: every expectation that says the storm happened: goodput stays at
the offered 24 a second (collapse), ldns never blacklists its resolver and
keeps its goodput after the cut (no recovery), one query per lookup
(amplification at least), the resolvers stay under their capacity.
The bounds are honest: without the marked line this is the shipped
scenario, which passes them all (the runner replays it so); the gentle
twins and the recoveries of glibc and c-ares pass here too."""),
    [("local SURGE = 100", "SURGE = 30 -- selftest: fault")])

variant("retry_storm_fail_no_cut.lua", "no load cut", hdr("FAIL 1",
    failed=REC, passed=[U_REC, LDNS_NOREC] + COLL[:2],
    text="""scenarios/retry_storm.lua whose load cut is undone 10 ms later (the
line marked "selftest: fault"): the steady load, twice what the
resolver serves once every lookup sends its tries, stays on.
Why FAIL: the storm is metastable: with the load unchanged goodput never
comes back, so "goodput recovers after the load cut" reads never for
glibc and c-ares.
The bounds are honest: without the marked line (the shipped scenario)
both recover within the bound; libunbound, which never collapsed, passes
here too."""),
    [("s:at(CUT, load(CUT_RATE))", "s:at(CUT + 0.01, load(STEADY)) -- selftest: fault")])

variant("retry_storm_fail_harsh_twins.lua", "harsh twins", hdr("FAIL 1",
    failed=G_GOOD + G_AMP[:2] + [U_GOOD, U_REC], passed=COLL[:2],
    text="""scenarios/retry_storm.lua whose gentle twins get the storm's retry
settings, and whose libunbound resolver answers SERVFAIL from the end of
the surge (the lines marked "selftest: fault").
Why FAIL: the twins storm like the others: their goodput collapses, they
send all their tries (glibc 2, c-ares 3 queries per lookup; ldns's twin
blacklists its resolver, so its amplification is not asserted here).
libunbound's goodput never comes back, before the cut or after it.
The bounds are honest: without the marked lines (the shipped scenario)
every one of them passes."""),
    [("for i = 1, 256 do names[i]", "GENTLE = STORM -- selftest: fault"),
     ("res.libunbound = client(", 's:at(SURGE_END, res.libunbound, "rcode", { rcode = "SERVFAIL" }) -- selftest: fault')])

variant("retry_storm_fail_more_tries.lua", "more tries", hdr("FAIL 1",
    failed=AMP_HI, passed=AMP_LO,
    text="""scenarios/retry_storm.lua with two more tries for glibc, c-ares and ldns
(the line marked "selftest: fault").
Why FAIL: each lookup now sends more queries than the amplification
bounds allow: glibc 3 (its fourth try would come after the answer at
2.5 s), c-ares 4, ldns over 2.
The bounds are honest: without the marked line (the shipped scenario)
they pass."""),
    [("for i = 1, 256 do names[i]", "for _, o in pairs(STORM) do o.attempts = o.attempts + 2 end -- selftest: fault")])

variant("retry_storm_inconclusive_stopped.lua", "clients stop before the surge", hdr("INCONCLUSIVE 2",
    inconc=ALL,
    text="""scenarios/retry_storm.lua whose clients stop at 1.6 s, before the
surge at 2 s (the line marked "selftest: fault").
Why INCONCLUSIVE: no lookup is invoked in the storm or after the cut and
no query reaches a resolver then: the storm was never tried, and no
expectation may read as a pass (nor as a failure of the system)."""),
    [("local STOP = TO", "STOP = 1.6 -- selftest: fault")])

variant("retry_storm_inconclusive_no_load_after_cut.lua", "no load after the cut", hdr("INCONCLUSIVE 2",
    inconc=REC + [LDNS_NOREC, U_REC], passed=COLL[:2],
    text="""scenarios/retry_storm.lua whose clients stop at the load cut (the line
marked "selftest: fault"): the storm happens, but nothing asks after it.
Why INCONCLUSIVE: recovery was never tried, which is neither a recovery
nor a "never": the recovery expectations must be inconclusive, while the
collapse is still measured (and passes)."""),
    [("local STOP = TO", "STOP = CUT -- selftest: fault")])
