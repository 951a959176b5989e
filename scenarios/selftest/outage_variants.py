#!/usr/bin/env python3
"""Writes the self-tests of the incident scenarios
(scenarios/selftest/outage_*.lua from scenarios/outage_replay.lua,
scenarios/selftest/gating_*.lua from scenarios/gating_fix.lua): each is the
shipped scenario under its own header (the verdict it must end with, and
why), its own name and zone paths, with the lines that break it (ending in
`-- selftest: fault`) inserted after an anchor line. Run it after changing a
shipped scenario; ctest shipped_selftest_outage fails while a self-test
differs from what this writes (beyond its marked lines).

Usage: python3 scenarios/selftest/outage_variants.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def variant(shipped, name, fname, title, header, edits):
    src = open(os.path.join(ROOT, "scenarios", shipped), encoding="utf-8").read()
    b = src[src.index("local s = scenario{"):]
    b = b.replace('scenario{ name = "%s",' % name,
                  'scenario{ name = "%s selftest: %s",' % (name, title), 1)
    b = b.replace('s:zone("zones/', 's:zone("../zones/')
    for after, line in edits:
        i = b.index(after)
        j = b.index("\n", i) + 1
        b = b[:j] + line + "\n" + b[j:]
    with open(os.path.join(HERE, fname), "w", encoding="utf-8") as f:
        f.write(header.rstrip("\n") + "\n" + b)


def hdr(verdict, failed=(), passed=(), inconc=(), text=""):
    out = ["-- expect: %s" % verdict]
    out += ["-- expect-failed: " + n for n in failed]
    out += ["-- expect-inconclusive: " + n for n in inconc]
    out += ["-- expect-passed: " + n for n in passed]
    out += ["--"] + ["-- " + l if l else "--" for l in text.strip("\n").split("\n")]
    return "\n".join(out) + "\n"


# ---- outage_replay: the symptoms must be reproduced ----
O_STALE = "the incident: the fleet gets the decommissioned address"
O_OVER = "the storm: p1 is offered more than it serves"
O_SR = "the storm: the fleet's lookups fail (p1 times out) or lie (p2)"
O_AMP = "the storm: glibc sends its second try to the slow survivor"
O_REC = "the fix: the fleet's goodput comes back after p2 is pulled"
O_NOSTALE = "the fix: no stale answer once p2 is pulled"
O_HEALTHY = "the fix: healthy again"
O_SYMPTOMS = [O_STALE, O_OVER, O_SR, O_AMP]
O_FIXED = [O_REC, O_NOSTALE, O_HEALTHY]


def outage(fname, title, header, edits):
    variant("outage_replay.lua", "outage replay", fname, title, header, edits)


outage("outage_fail_fresh_reboot.lua", "reboot from the source", hdr(
    "FAIL 1", failed=O_SYMPTOMS, passed=[O_REC, O_HEALTHY], inconc=[O_NOSTALE],
    text="""scenarios/outage_replay.lua whose patch-run reboot loads the published
zone instead of the stale disk copy (the line marked "selftest: fault"):
what a resolver that boots from the source does.
Why FAIL: the replay must reproduce the incident, and nothing of it
happens: no stale answer, so no herd, so p1 is never offered more than it
serves, no lookup fails or sends a second try. "No stale answer once p2 is
pulled" is inconclusive: no version but the published one existed, so no
answer could have been stale.
The bounds are honest: without the marked line (the shipped scenario)
every symptom is reproduced; the return to health passes here too."""),
    [("local truth = s:zone_source", "on_disk = published -- selftest: fault")])

outage("outage_fail_never_fixed.lua", "the fix undone", hdr(
    "FAIL 1", failed=[O_NOSTALE], passed=O_SYMPTOMS,
    text="""scenarios/outage_replay.lua whose manual fix is undone 10 ms later: p2
is put back into the VIP (the line marked "selftest: fault"), still
serving its stale copy.
Why FAIL: the lies go on after the fix. (A lie is an ok lookup: goodput
and the success rate cannot tell it from health, so the recovery and the
end's success rate are not asserted here; the stale answers are.)
The bound is honest: without the marked line (the shipped scenario) no
stale answer comes after the fix; the symptoms pass here too."""),
    [('s:at(FIX, vip, "remove"', 's:at(FIX + 0.01, vip, "restore", { backend = p2 }) -- selftest: fault')])

outage("outage_fail_no_headroom.lua", "no headroom on the survivor", hdr(
    "FAIL 1", failed=[O_REC, O_HEALTHY], passed=[O_STALE, O_OVER, O_SR, O_NOSTALE],
    text="""scenarios/outage_replay.lua whose fleet asks 25 lookups a second instead
of 12 (the lines marked "selftest: fault"): healthy, p1 serves them all
(25 of its 40), but not with both tries (50): N+1 holds only while no
lookup retries. And a health check that never takes p1 out (fall 100):
in a storm that outlives the fix, probes dropped from p1's full queue
take it out after two misses, which cuts its load like a load shedder and
ends the storm now and then (seen under ASan: p1 out at 12.2 s, back at
14.6 s, healthy at the end); that is recovery by the health check, not
what this self-test is about.
Why FAIL: the storm outlives its trigger. After the fix no lie is left,
but p1's queue is full and every lookup sends its second try: 50 queries a
second against 40 keep it full (a metastable failure), goodput never
comes back (recovery never) and the end is not healthy.
The bounds are honest: without the marked lines (the shipped scenario)
the fleet is back within 5.5 s of the fix and healthy from 15.5 s; the
symptoms, and no stale answer once p2 is pulled, pass here too, but for
the amplification, left unasserted: with twice the fleet's lookups of one
name in flight, the join could not tell 152 of the storm's queries apart
once on a busy machine (ambiguous), which leaves it inconclusive."""),
    [("local STEADY = ", "STEADY = 25 -- selftest: fault"),
     ("local HEALTH = ", "HEALTH.fall = 100 -- selftest: fault")])

outage("outage_inconclusive_stopped.lua", "the fleet stops before the reboot", hdr(
    "INCONCLUSIVE 2", inconc=O_SYMPTOMS + O_FIXED,
    text="""scenarios/outage_replay.lua whose fleet stops asking at 1.8 s, before
the reboot at 2.4 s (the line marked "selftest: fault").
Why INCONCLUSIVE: no lookup meets the stale resolver, the storm or the
fix: the incident was never tried. Every expectation about the fleet's
lookups is inconclusive, and so is p1's load: the only queries that reach
p1 are the VIP's health probes, a load that says nothing of the fleet's
(survivor_load is inconclusive without a client's query)."""),
    [("local STOP = TO", "STOP = 1.8 -- selftest: fault")])

# ---- gating_fix: every expectation of a healthy service ----
G_STALE = "the fix: no stale answer"
G_SR = "the fleet keeps resolving"
G_LOAD = "no storm: p1 stays under its capacity"
G_AMP = "no storm: one query per lookup"
G_READM = "p2 is never admitted while behind, and rejoins within rise x interval once current"
G_ALL = [G_STALE, G_SR, G_LOAD, G_AMP, G_READM]
PRODUCTION = ('HEALTH = { check = "rcode", interval = 3, timeout = 3, rise = 1, fall = 2, '
              'initial = "up" } -- selftest: fault')


def gating(fname, title, header, edits):
    variant("gating_fix.lua", "gating fix", fname, title, header, edits)


gating("gating_fail_production.lua", "gating off, any answer passes", hdr(
    "FAIL 1", failed=G_ALL,
    text="""scenarios/gating_fix.lua with production's setup back (the lines marked
"selftest: fault"): resolvers that do not gate themselves, and the VIP's
health check of scenarios/outage_replay.lua, which passes any NOERROR
answer.
Why FAIL: this is the incident: p2 comes back from its stale copy and is
admitted, the fleet gets stale answers, the herd overloads p1, lookups
time out and send their second try, and p2 is admitted while behind.
The bounds are honest: without the marked lines (the shipped scenario)
every one of them passes."""),
    [("local gate = {", "gate = nil -- selftest: fault"),
     ("local HEALTH = {", PRODUCTION)])

gating("gating_fail_no_health.lua", "the VIP ignores health", hdr(
    "FAIL 1", failed=[G_READM], passed=[G_STALE, G_SR],
    text="""scenarios/gating_fix.lua whose VIP has no health check (the line marked
"selftest: fault"): it keeps routing to p2 whatever p2 does.
Why FAIL: no health line names p2, so nothing could take it out while
behind: readmission fails outright. The fleet is lucky, not protected: the
VIP routes a query refused by the down p2 anew, and p2's own gate keeps
stale answers away (those expectations pass).
The bound is honest: without the marked line (the shipped scenario) it
passes."""),
    [("local HEALTH = {", "HEALTH = nil -- selftest: fault")])

gating("gating_fail_higher_serial.lua", "a stale copy with a higher serial", hdr(
    "FAIL 1", failed=[G_STALE, G_READM],
    text="""scenarios/gating_fix.lua whose stale disk copy has a serial higher than
the published one (2099010101, restarted from a date by hand) but the old
data: db-primary at the decommissioned 10.20.0.15 (the line marked
"selftest: fault").
Why FAIL: a check that only compares serials is fooled: p2 does not gate
itself and the serial check admits it, so the fleet gets stale answers;
readmission compares content digests and fails outright (a query reached
p2 while it served a version never published).
The bounds are honest: without the marked line (the shipped scenario)
both pass."""),
    [("local on_disk = s:zone(", 'on_disk = s:zone("../../tests/scenarios/zones/internal.higher-serial.zone") -- selftest: fault')])

gating("gating_inconclusive_no_gate.lua", "gating off", hdr(
    "INCONCLUSIVE 2", inconc=[G_READM], passed=[G_STALE, G_SR, G_LOAD, G_AMP],
    text="""scenarios/gating_fix.lua whose resolvers do not gate themselves (the
line marked "selftest: fault"): p2 comes back from its stale copy and
never fetches the published zone.
Why INCONCLUSIVE: the serial check keeps p2 out, so the service stays
healthy (those expectations pass), but p2 never catches up: its
readmission was never tried, which is neither a pass nor a failure."""),
    [("local gate = {", "gate = nil -- selftest: fault")])

gating("gating_inconclusive_stopped.lua", "the fleet stops before the reboot", hdr(
    "INCONCLUSIVE 2", inconc=[G_STALE, G_SR, G_LOAD, G_AMP], passed=[G_READM],
    text="""scenarios/gating_fix.lua whose fleet stops asking at 1.8 s, before the
reboot at 2.4 s (the line marked "selftest: fault").
Why INCONCLUSIVE: no lookup meets the reboot (the verdict says so): a fix
that no lookup tested proves nothing. The expectations about the fleet's
lookups from the reboot on are inconclusive, and so is p1's load (only
the health probes reach it: "no storm" could not have failed); p2's
readmission (judged from routing and health) still passes."""),
    [("local STOP = TO", "STOP = 1.8 -- selftest: fault")])

gating("gating_inconclusive_never_fires.lua", "the reboot hits a spare", hdr(
    "INCONCLUSIVE 2", inconc=[G_READM],
    text="""scenarios/gating_fix.lua whose patch-run reboot hits a spare resolver
that no VIP routes to (the line marked "selftest: fault"): the fault
never fires where the fleet is.
Why INCONCLUSIVE: the reboot touched no lookup (the verdict says so), and
p2 was never behind, so its readmission was never tried. The fleet's
expectations hold, but they met no fault."""),
    [("local REBOOTED = p2", 'REBOOTED = s:resolver{ name = "spare", boot = "source" } -- selftest: fault')])
