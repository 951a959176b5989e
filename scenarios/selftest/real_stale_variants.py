#!/usr/bin/env python3
"""real_stale_variants.py - writes the self-tests of scenarios/real_stale_reboot.lua.

Usage: real_stale_variants.py [--check] [FILE ...]

Each scenarios/selftest/real_stale_*.lua is the shipped scenario with a few
exact substitutions (each new or changed line marked `-- selftest: fault`)
and a header saying what it must end with (tests/selftest/run.py). Run it
after changing the shipped scenario. With --check it writes nothing: it
exits 1 naming every self-test that differs from what it would write, 0
when none does. A substitution whose text is no longer in the shipped file
fails at once.
"""
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = "--check" in sys.argv[1:]
OUT = tempfile.mkdtemp(prefix="real_stale_variants.") if CHECK else os.path.join(
    ROOT, "scenarios", "selftest")
src = open(os.path.join(ROOT, "scenarios/real_stale_reboot.lua")).read()
body = src[src.index("local s = scenario{"):]
NAME = 'scenario{ name = "stale zone reboot, real unbound behind the kernel VIP",'


def sub(b, old, new):
    assert b.count(old) == 1, old
    return b.replace(old, new)


E1 = "the incident reproduces: the unprotected VIP hands out the decommissioned address"
E2 = "the fix: no stale answer through the gated VIP"
E3 = "nor to an unmodified program behind it"
E4 = "the gated service keeps resolving"
E5 = "u2 is never admitted while behind, and rejoins within rise x interval once current"


def hdr(verdict, failed=(), passed=(), inconc=(), text=""):
    out = ["-- expect: %s" % verdict]
    out += ["-- expect-failed: " + n for n in failed]
    out += ["-- expect-inconclusive: " + n for n in inconc]
    out += ["-- expect-passed: " + n for n in passed]
    out += ["--"] + ["-- " + l if l else "--" for l in text.strip("\n").split("\n")]
    return "\n".join(out) + "\n"


V = {}
V["real_stale_fail_gating_off.lua"] = ("gating off", [
    ('local gated = s:vip{',
     'local check = "serial"\ncheck = "rcode" -- selftest: fault\nlocal gated = s:vip{'),
    ('health = { check = "serial", source = truth,', 'health = { check = check, source = truth,'),
], hdr("FAIL 1", failed=[E2, E3, E5], passed=[E1, E4], text="""
scenarios/real_stale_reboot.lua with the fix undone (the line marked
"selftest: fault"): the gated VIP's check is "rcode", which passes on any
answer, as production's did. u2 boots from its stale file, answers, is
admitted within rise x interval, and serves the old serial to the glibc
service and to getent through the gated VIP.
Why FAIL: stale answers through the gated VIP (bound 0), to getent too, and
readmission fails outright: the kernel DNATed lookups to u2 while it served
a version that is not the published one. Without the marked line (the
shipped scenario) the same bounds pass."""))
V["real_stale_fail_fresh_reboot.lua"] = ("fresh reboot", [
    ('s:at(4.0, u2, "start", { zone_file = "zones/internal.v1.zone" })',
     'local disk = "zones/internal.v1.zone"\ndisk = "zones/internal.v2.zone" -- selftest: fault\n'
     's:at(4.0, u2, "start", { zone_file = disk })'),
], hdr("FAIL 1", failed=[E1], passed=[E4], inconc=[E2, E3, E5], text="""
scenarios/real_stale_reboot.lua, but u2 boots from the published zone file,
not from its stale copy (the lines marked "selftest: fault"): the incident
does not happen.
Why FAIL: "the incident reproduces" counts no stale answer through the
unprotected VIP (0, bound at least 1): a replay that does not reproduce the
incident says so, rather than passing its fix. The fix's stale checks are
inconclusive: no version but the published one ever existed, so no answer
could have been stale. Readmission is inconclusive: u2 never served an
unpublished version, so there was nothing to keep out.
Without the marked lines (the shipped scenario) it passes."""))
V["real_stale_fail_both_stale.lua"] = ("both stale", [
    ('local u1 = s:process{ name = "u1", zone_file = "zones/internal.v2.zone",',
     'local u1_disk = "zones/internal.v2.zone"\n'
     'u1_disk = "zones/internal.v1.zone" -- selftest: fault\n'
     'local u1 = s:process{ name = "u1", zone_file = u1_disk,'),
], hdr("FAIL 1", failed=[E4], passed=[E1, E2, E3, E5], text="""
scenarios/real_stale_reboot.lua, but u1 too starts from a weeks-old copy of
the zone (the lines marked "selftest: fault"): the published zone reached
neither daemon's disk.
Why FAIL: the gate does its part (no stale answer through the gated VIP),
but it keeps u1 out for the whole run, and u2 from its stop at 3 s until
its repair: the gated VIP has no backend for about four seconds and the
gated service resolves about 4 of its 10 lookups (bound at least 0.9). A
gate that protects from stale answers by shutting out every resolver is an
outage of its own. Without the marked lines (the shipped scenario) it
passes."""))
V["real_stale_inconclusive_gated_early.lua"] = ("gated clients stop early", [
    ('local apps = {}', 'local stop = 9.5\nstop = 2.5 -- selftest: fault\nlocal apps = {}'),
    ('from = 1, to = 9.5, timeout = 1, attempts = 2 }',
     'from = 1, to = vip == gated and stop or 9.5, timeout = 1,\n'
     '                              attempts = 2 }'),
    ('from = 1, to = 9.5, resolv_timeout = 1,', 'from = 1, to = stop, resolv_timeout = 1,'),
], hdr("INCONCLUSIVE 2", inconc=[E2, E3, E4], passed=[E1, E5], text="""
scenarios/real_stale_reboot.lua with the gated VIP's clients (glibc and
getent) stopping at 2.5 s, before u2 stops at 3.0 s (the lines marked
"selftest: fault"): the fix is never tested by a lookup.
Why INCONCLUSIVE: the gated service's three expectations would pass, but
none of their lookups met the fault: inconclusive, not a pass. The incident
still reproduces through the unprotected VIP, and readmission, judged from
health and the backends' own queries, still passes."""))

only = [a for a in sys.argv[1:] if a != "--check"]
drift = []
for fname, (title, edits, header) in V.items():
    if only and fname not in only:
        continue
    b = sub(body, NAME, 'scenario{ name = "real stale reboot selftest: %s",' % title)
    b = b.replace('"zones/', '"../zones/').replace('config = "unbound.conf.in"',
                                                   'config = "../unbound.conf.in"')
    for old, new in edits:
        b = sub(b, old.replace('"zones/', '"../zones/'), new.replace('"zones/', '"../zones/'))
    text = header + b
    path = os.path.join(OUT, fname)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    if CHECK:
        shipped = os.path.join(ROOT, "scenarios", "selftest", fname)
        if not os.path.exists(shipped) or open(shipped, encoding="utf-8").read() != text:
            drift.append(fname)
if drift:
    print("real_stale_variants.py: drifted from scenarios/real_stale_reboot.lua (run it "
          "without --check): " + ", ".join(drift), file=sys.stderr)
    sys.exit(1)
