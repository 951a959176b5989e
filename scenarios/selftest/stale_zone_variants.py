#!/usr/bin/env python3
"""stale_zone_variants.py - writes the self-tests of scenarios/stale_zone_reboot.lua.

Usage: stale_zone_variants.py [--check] [FILE ...]

Each scenarios/selftest/stale_zone_*.lua is the shipped scenario with a few
exact substitutions (each new or changed line marked `-- selftest: fault`,
or a shipped value moved into a variable the marked line overrides) and a
header saying what it must end with (tests/selftest/run.py). Run it after
changing the shipped scenario. With --check it writes nothing: it exits 1
naming every self-test that differs from what it would write (one that
drifted from the scenario that ships), 0 when none does. A substitution
whose text is no longer in the shipped file fails at once.
"""
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECK = "--check" in sys.argv[1:]
OUT = tempfile.mkdtemp(prefix="stale_zone_variants.") if CHECK else os.path.join(
    ROOT, "scenarios", "selftest")
src = open(os.path.join(ROOT, "scenarios/stale_zone_reboot.lua")).read()
body = src[src.index("local s = scenario{"):]
def sub(b, old, new):
    assert b.count(old) == 1, old
    return b.replace(old, new)
def make(fname, title, header, edits):
    b = sub(body, 'scenario{ name = "stale zone reboot",', 'scenario{ name = "stale zone reboot selftest: %s",' % title)
    b = b.replace('s:zone("zones/', 's:zone("../zones/')
    for old, new in edits:
        b = sub(b, old, new)
    with open(os.path.join(OUT, fname), "w", encoding="utf-8") as f:
        f.write(header.rstrip("\n") + "\n" + b)
P2 = ('s:at(3.2, p2, "crash", { down = 1, zone = on_disk })',)
V = {}
HDR = {}
# 1: fresh reboot of p2
V["stale_zone_fail_fresh_reboot.lua"] = ("fresh reboot", [
  ('s:at(3.2, p2, "crash", { down = 1, zone = on_disk })',
   'local p2_disk = on_disk\np2_disk = published -- selftest: fault\ns:at(3.2, p2, "crash", { down = 1, zone = p2_disk })')])
# 2: gating off + rcode check
V["stale_zone_fail_gating_off.lua"] = ("gating off", [
  ('local g1 = s:resolver{',
   'local gate, check = { answer = "servfail", reload = true }, "serial"\ngate, check = nil, "rcode" -- selftest: fault\nlocal g1 = s:resolver{'),
  ('local g1 = s:resolver{ name = "g1", boot = "source", gate = { answer = "servfail", reload = true } }',
   'local g1 = s:resolver{ name = "g1", boot = "source", gate = gate }'),
  ('local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail", reload = true } }',
   'local g2 = s:resolver{ name = "g2", boot = "source", gate = gate }'),
  ('health = { check = "serial", interval', 'health = { check = check, interval')])
# 3: higher serial stale copy
V["stale_zone_fail_higher_serial.lua"] = ("higher serial", [
  ('local on_disk = s:zone("../zones/internal.v1.zone")   -- serial 2026110301: db-primary 10.20.0.15',
   'local on_disk = s:zone("../zones/internal.v1.zone")   -- serial 2026110301: db-primary 10.20.0.15\n'
   'on_disk = s:zone("stale_zone_higher_serial.zone") -- selftest: fault')])
# 4: VIP ignores health
V["stale_zone_fail_no_health.lua"] = ("VIP ignores health", [
  ('local gated = s:vip{ name = "gated", backends = { g1, g2 }, policy = "flow", on_down = "flush",\n                     health = { check = "serial", interval = 0.5, timeout = 0.25,\n                                rise = 2, fall = 1 } }',
   'local hc = { check = "serial", interval = 0.5, timeout = 0.25, rise = 2, fall = 1 }\n'
   'hc = nil -- selftest: fault\n'
   'local gated = s:vip{ name = "gated", backends = { g1, g2 }, policy = "flow", on_down = "flush",\n                     health = hc }')])
V["stale_zone_fail_early.lua"] = ("clients stop early", [
  ('from = 1, to = 9.5,', 'from = 1, to = STOP,'),
  ('local apps = {}', 'local STOP = 9.5\nSTOP = 2.5 -- selftest: fault\nlocal apps = {}')])
V["stale_zone_inconclusive_never_fires.lua"] = ("never fires", [
  ('local gated = s:vip{',
   'local spare = s:resolver{ name = "g3", boot = "source", gate = { answer = "servfail", reload = true } }\n'
   'local gated = s:vip{'),
  ('s:at(3.2, g2, "crash", { down = 1, zone = on_disk })',
   'local crashed = g2\ncrashed = spare -- selftest: fault\ns:at(3.2, crashed, "crash", { down = 1, zone = on_disk })')])
V["stale_zone_inconclusive_gated_early.lua"] = ("gated service stops early", [
  ('from = 1, to = 9.5,', 'from = 1, to = stop[vip.name] or 9.5,'),
  ('local apps = {}', 'local stop = {}\nstop.gated = 2.5 -- selftest: fault\nlocal apps = {}')])
V["stale_zone_fail_refuses_clients.lua"] = ("refuses clients", [
  ('local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail", reload = true } }',
   'local g2_gate = { answer = "servfail", reload = true }\n'
   'g2_gate = { answer = "servfail", clients = true, reload = false } -- selftest: fault\n'
   'local g2 = s:resolver{ name = "g2", boot = "source", gate = g2_gate }'),
  ('local gated = s:vip{ name = "gated", backends = { g1, g2 }, policy = "flow", on_down = "flush",\n                     health = { check = "serial", interval = 0.5, timeout = 0.25,\n                                rise = 2, fall = 1 } }',
   'local hc = { check = "serial", interval = 0.5, timeout = 0.25, rise = 2, fall = 1 }\n'
   'hc = nil -- selftest: fault\n'
   'local gated = s:vip{ name = "gated", backends = { g1, g2 }, policy = "flow", on_down = "flush",\n                     health = hc }')])
V["stale_zone_fail_silent_gate.lua"] = ("silent gate, VIP ignores health", [
  ('local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail", reload = true } }',
   'local g2_gate = { answer = "servfail", reload = true }\n'
   'g2_gate = { answer = "silence", clients = true, reload = false } -- selftest: fault\n'
   'local g2 = s:resolver{ name = "g2", boot = "source", gate = g2_gate }'),
  ('local gated = s:vip{ name = "gated", backends = { g1, g2 }, policy = "flow", on_down = "flush",\n                     health = { check = "serial", interval = 0.5, timeout = 0.25,\n                                rise = 2, fall = 1 } }',
   'local hc = { check = "serial", interval = 0.5, timeout = 0.25, rise = 2, fall = 1 }\n'
   'hc = nil -- selftest: fault\n'
   'local gated = s:vip{ name = "gated", backends = { g1, g2 }, policy = "flow", on_down = "flush",\n                     health = hc }')])
V["stale_zone_inconclusive_no_reload.lua"] = ("no reload", [
  ('local g2 = s:resolver{ name = "g2", boot = "source", gate = { answer = "servfail", reload = true } }',
   'local g2_gate = { answer = "servfail", reload = true }\n'
   'g2_gate = { answer = "servfail", reload = false } -- selftest: fault\n'
   'local g2 = s:resolver{ name = "g2", boot = "source", gate = g2_gate }')])
only = [a for a in sys.argv[1:] if a != "--check"]
for f, (t, e) in V.items():
    if only and f not in only: continue
    make(f, t, HDR.get(f, "-- expect: FAIL 1\n-- expect-failed: x"), e)

E1 = "the incident reproduces: the unprotected VIP hands out the decommissioned address"
E2 = "the fix: no stale answer through the gated VIP"
E3 = "the gated service keeps resolving"
E4 = "g2 is never admitted while behind, and rejoins within rise x interval once current"
E5 = "no retry storm through the gated VIP"
def hdr(verdict, failed=(), passed=(), inconc=(), text=""):
    out = ["-- expect: %s" % verdict]
    out += ["-- expect-failed: " + n for n in failed]
    out += ["-- expect-inconclusive: " + n for n in inconc]
    out += ["-- expect-passed: " + n for n in passed]
    out += ["--"] + ["-- " + l if l else "--" for l in text.strip("\n").split("\n")]
    return "\n".join(out) + "\n"
HDR["stale_zone_fail_fresh_reboot.lua"] = hdr("FAIL 1", failed=[E1], passed=[E2, E3, E4, E5], text="""
scenarios/stale_zone_reboot.lua, but p2 reboots from the published zone,
not from its stale disk copy (the lines marked "selftest: fault"): the
incident does not happen on the unprotected pair.
Why FAIL: "the incident reproduces" counts no stale answer through the
unprotected VIP (0, bound at least 1): a replay that does not reproduce the
incident says so, rather than passing its fix. The gated pair, unchanged,
passes. Without the marked lines (the shipped scenario) it passes.""")
HDR["stale_zone_fail_early.lua"] = hdr("FAIL 1", failed=[E1], inconc=[E2, E3, E5], passed=[E4], text="""
scenarios/stale_zone_reboot.lua with both services stopping at 2.5 s,
0.7 s before the crash at 3.2 s (the lines marked "selftest: fault"), so
that no lookup is still in flight when it comes, even on a busy machine.
Why FAIL: "the incident reproduces" counts no stale answer (0, bound at
least 1): no lookup met the stale p2. The gated service's expectations
would pass, but none of its lookups met the crash: inconclusive, not a
pass. Readmission is judged from routing and health, not lookups: g2
still crashes, is kept out while behind and readmitted (pass). Without the
marked lines (the shipped scenario) the incident reproduces.""")
HDR["stale_zone_fail_gating_off.lua"] = hdr("FAIL 1", failed=[E2, E4], passed=[E1, E3, E5], text="""
scenarios/stale_zone_reboot.lua with the gated pair's fix undone (the line
marked "selftest: fault"): its resolvers do not gate themselves, and its
VIP's check is "rcode" (keepalived's DNS_CHECK), which passes on any
NOERROR answer: what production had. g2 comes back from its stale disk
copy, answers NOERROR, is admitted, and never fetches the published zone.
Why FAIL: stale answers through the gated VIP (about 42, bound 0), and
readmission fails outright: queries were routed to g2 while it served a
version that is not the published one. Without the marked line (the
shipped scenario) both pass.""")
HDR["stale_zone_fail_higher_serial.lua"] = hdr("FAIL 1", failed=[E2, E4], passed=[E1, E3, E5], text="""
scenarios/stale_zone_reboot.lua, but the stale disk copy carries a serial
AHEAD of the published one (stale_zone_higher_serial.zone: the records of
internal.v1.zone, db-primary 10.20.0.15, serial 2026120100 against the
published 2026112502; the line marked "selftest: fault"), as a bad edit or
a clock set ahead leaves it. The serial health check and the resolvers'
gate compare serials, so both are fooled: g2 looks current, does not
gate itself nor reload, and is readmitted as soon as it is up.
Why FAIL: the history classifies answers by content, not serial, so its
answers are stale (about 42, bound 0), and readmission compares versions
by content digest: queries reached g2 while it served a version never
published. A checker that trusted the serial would pass this run. Without
the marked line (the shipped scenario) both pass.""")
HDR["stale_zone_fail_no_health.lua"] = hdr("FAIL 1", failed=[E4], passed=[E1], text="""
scenarios/stale_zone_reboot.lua with a gated VIP that ignores health (no
health table: the line marked "selftest: fault"). The resolvers still gate
themselves and reload, so g2 serves the published zone a few loop turns
after its reboot, and the gated service barely notices.
Why FAIL: readmission fails outright: no health line names g2, so nothing
would take a backend that is behind out or put it back; the fix's VIP
half is missing, whatever the lookups saw. (Not asserted: the stale
answers, which depend on a lookup landing on g2 in the few milliseconds
between its boot and its reload; the amplification, 1.11 to 1.12 against
its 1.2, as flows keep going to the crashed g2 and their lookups ask
again.)
Without the marked line (the shipped scenario) it passes.""")
HDR["stale_zone_fail_silent_gate.lua"] = hdr("FAIL 1", failed=[E3, E4], passed=[E1, E2], text="""
scenarios/stale_zone_reboot.lua with a gated VIP that ignores health (no
health table) in front of a g2 whose gate goes silent for clients too and
never reloads (the lines marked "selftest: fault"): the resolver refuses
to serve while behind, but nothing takes it out of the VIP, so after its
reboot every other new flow lands on a resolver that never answers.
glibc's retry goes out from the same socket, so the flow stays pinned to
g2: each such lookup times out after its 2 s.
Why FAIL: the gated success rate falls to about 0.78 (bound 0.99), and
readmission fails outright (queries routed to g2 while it was behind, and
no health line names it). No stale answer gets through (pass). Without
the marked lines (the shipped scenario) both pass. (Not asserted: the
amplification, 1.28 to 1.36 in 14 runs against its 1.2: each lookup that
times out sent two queries, but the margin shrank with both runs on one
core; stale_zone_fail_refuses_clients fails that bound by far more.)""")
HDR["stale_zone_fail_refuses_clients.lua"] = hdr("FAIL 1", failed=[E4, E5], passed=[E1, E2], text="""
scenarios/stale_zone_reboot.lua with a gated VIP that ignores health (no
health table) in front of a g2 whose gate answers SERVFAIL to clients too
and never reloads (the lines marked "selftest: fault"): every lookup
routed to g2 after its reboot gets SERVFAIL, and glibc asks again.
Why FAIL: about 1.7 wire queries per lookup through the gated VIP (bound
1.2): the retry storm that bound is for; readmission fails outright
(queries routed to g2 while it was behind). Few lookups fail (glibc's
later queries leave from new sockets, new flows, and half reach g1), so
the success rate is not asserted (0 to 3 failures in 156, around its
bound). No stale answer gets through (pass). Without the marked lines (the
shipped scenario) both pass.""")
HDR["stale_zone_inconclusive_gated_early.lua"] = hdr("INCONCLUSIVE 2", inconc=[E2, E3, E5], passed=[E1, E4], text="""
scenarios/stale_zone_reboot.lua with the gated service stopping at 2.5 s,
0.7 s before the crash at 3.2 s (the line marked "selftest: fault"), so
that none of its lookups is still in flight when it comes, even on a busy
machine; the unprotected service asks throughout.
Why INCONCLUSIVE: no stale answer, every lookup ok, one query each: the
gated service's expectations would pass, but none of its lookups met the
crash, and a fix no lookup tested proves nothing. The incident still
reproduces on the unprotected pair, and readmission (routing and health,
not lookups) still passes.""")
HDR["stale_zone_inconclusive_never_fires.lua"] = hdr("INCONCLUSIVE 2", inconc=[E2, E3, E4, E5], passed=[E1], text="""
scenarios/stale_zone_reboot.lua, but the gated pair's crash hits a spare
resolver, g3, that no VIP routes to (the line marked "selftest: fault"):
the fault never fires where the gated service's lookups go.
Why INCONCLUSIVE: every gated lookup succeeds with a fresh answer, but
none met a fault: the stale answers, success rate and amplification would
pass and are inconclusive; g2 is never behind, so readmission has nothing
to measure. Only the unprotected pair's incident is judged (pass).""")
HDR["stale_zone_inconclusive_no_reload.lua"] = hdr("INCONCLUSIVE 2", inconc=[E4], passed=[E1, E2, E3, E5], text="""
scenarios/stale_zone_reboot.lua, but g2's gate does not fetch the
published zone (reload = false: the line marked "selftest: fault"): g2
comes back from its stale copy, gates itself, and stays behind to the end.
The serial check keeps it out, so the gated service is fine.
Why INCONCLUSIVE: readmission measures the time from g2 being current
again to the VIP marking it up; g2 is never current again, so there is
nothing to measure (not a pass, and not a failure: it was never admitted
while behind). The gated service's expectations pass: its lookups met
the crash and got fresh answers from g1.""")
for f, (t, e) in V.items():
    if only and f not in only: continue
    make(f, t, HDR[f], e)

if CHECK:
    drifted = []
    for f in sorted(V):
        if only and f not in only:
            continue
        mine = open(os.path.join(OUT, f), encoding="utf-8").read()
        path = os.path.join(ROOT, "scenarios", "selftest", f)
        theirs = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if mine != theirs:
            drifted.append(f)
        os.unlink(os.path.join(OUT, f))
    os.rmdir(OUT)
    for f in drifted:
        print(f"stale_zone_variants: scenarios/selftest/{f} is not the shipped scenario plus "
              f"its marked lines: run scenarios/selftest/stale_zone_variants.py")
    print(f"stale_zone_variants: {len(V) - len(drifted)} of {len(V)} self-tests match the shipped scenario")
    sys.exit(1 if drifted else 0)
