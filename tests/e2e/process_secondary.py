#!/usr/bin/env python3
"""A real nsd as a secondary of the run's zone source (s:process{ source = src }).

Usage: process_secondary.py DNSCHAOS REPO [--only NAME]

- boot: nsd with no zone file transfers the zone from the source before the
  run starts: its boot line is from the source, the published serial and
  digest; its answers are the source's (fresh), its queries captured;
- publish: the source publishes a new version, a restart transfers it: the
  boot line names the new serial and its digest, and the daemon answers it;
- stale: the source down, the secondary restarts from an old copy of the
  zone (restart{ zone_file = old }): it serves the old serial, its boot line
  says so (from the file), and its client's answers are classified stale;
- unknown: a daemon that answers a serial its source never published (its
  config asks another primary as well): the serial is recorded, with a
  digest of null;
- down: the source stopped when a pure secondary restarts: the start fails
  after start_timeout, saying the source is down, at the scenario's line;
- bad: {source} without source, source that is not a zone source, neither
  zone_file nor source, a zone_file of another zone than the source's:
  refused at the declaration's line.

Exit 77 (skipped) when nsd is missing or capture is not permitted here.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
failures = []

V1, V2, V3 = 2026110301, 2026112502, 2026112601


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def history(path):
    with open(path) as f:
        return [json.loads(l) for l in f]


def run(bin_, scenario, work, name, timeout=60):
    hist = os.path.join(work, name + ".jsonl")
    # not -q: a failure's message then ends with the verdict and its reasons
    p = subprocess.run([bin_, "run", scenario, "--history", hist],
                       capture_output=True, text=True, timeout=timeout,
                       cwd=os.path.dirname(scenario))
    return p, hist


def check_schema(repo, hist):
    p = subprocess.run([sys.executable, os.path.join(repo, "tests/e2e/check_history.py"), hist],
                       capture_output=True, text=True)
    if p.returncode != 0:
        fail("history schema: " + p.stdout[-2000:] + p.stderr[-2000:])


def can_capture():
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
        s.close()
        return True
    except OSError:
        return False


def boots(h, name="n1"):
    return [l for l in h if l["type"] == "boot" and l["resolver"] == name]


def digest_of(h, serial):
    """The digest the source published under serial."""
    return next((l["digest"] for l in h if l["type"] == "publish" and l["serial"] == serial), None)


def summary(hist):
    """What a failed run's verdict rests on: n1's lifecycle lines and its
    captured queries of each second, joined to a lookup or not."""
    try:
        h = history(hist)
    except (OSError, ValueError) as e:
        return "(no history: %s)" % e
    out = [json.dumps(l) for l in h if l["type"] in ("fault", "state", "boot", "end", "stall")]
    per = {}
    for l in h:
        if l["type"] == "query" and l.get("resolver") == "n1" and l.get("capture"):
            k = per.setdefault(int(l["t"]), [0, 0])
            k[0 if l.get("lookup") else 1] += 1
    out.append("n1's captured queries per second [joined, not]: %s" % sorted(per.items()))
    out.append("lookups: %d" % sum(1 for l in h if l["type"] == "lookup"))
    return "\n".join(out)


def t_boot_publish(bin_, repo, d, work):
    """(a) boot from the source, (b) publish then restart: the new version."""
    p, hist = run(bin_, os.path.join(d, "secondary.lua"), work, "secondary")
    if p.returncode != 0:
        return fail("secondary.lua exit %d: %s" % (p.returncode, (p.stdout + p.stderr)[-3000:]))
    check_schema(repo, hist)
    h = history(hist)
    b = boots(h)
    want = [("source", ["internal. %d" % V2], [digest_of(h, V2)]),
            ("source", ["internal. %d" % V3], [digest_of(h, V3)])]
    got = [(l["from"], l["zones"], l["digests"]) for l in b]
    if got != want or None in (digest_of(h, V2), digest_of(h, V3)):
        fail("boot/publish: n1's boot lines %s, want %s" % (got, want))
    if not all(l["ok"] for l in b):
        fail("boot/publish: a boot failed: %s" % b)
    # What the timeline read: p:serial() and the answer, before and after.
    out = p.stdout
    for want_line in ("serial\t%d\t10.20.0.42" % V2, "serial\t%d\t10.20.0.44" % V3):
        if want_line not in out:
            fail("boot/publish: %r not printed: %s" % (want_line, out[-1500:]))
    # Fresh before the publish and once it has transferred the new version
    # (in between it serves the old one: stale, as it should be).
    lookups = [l for l in h if l["type"] == "lookup" and l.get("client") == "app"
               and l["event"] == "ok" and (l["t"] < 1.0 or (len(b) == 2 and l["t"] > b[1]["t"]))]
    if len(lookups) < 20 or any(l.get("class") != "fresh" for l in lookups):
        fail("boot/publish: the client's answers: %d ok, classes %s"
             % (len(lookups), sorted({str(l.get("class")) for l in lookups})))
    qs = [l for l in h if l["type"] == "query" and l.get("resolver") == "n1"
          and l.get("capture") and l.get("client") == "app"]
    if len(qs) < 20 or not any(q["action"] == "answered" and q["rcode"] == "NOERROR" for q in qs):
        fail("boot/publish: %d captured queries of the client, answered: %s" % (len(qs), qs[:1]))


def t_stale(bin_, repo, d, work):
    """(c) the stale secondary: restart from an old copy, the source down."""
    p, hist = run(bin_, os.path.join(d, "secondary_stale.lua"), work, "stale")
    if p.returncode != 0:
        return fail("secondary_stale.lua exit %d: %s\n%s"
                    % (p.returncode, (p.stdout + p.stderr)[-3000:], summary(hist)))
    check_schema(repo, hist)
    h = history(hist)
    got = [(l["from"], l["zones"]) for l in boots(h)]
    want = [("source", ["internal. %d" % V2]), ("file", ["internal. %d" % V1])]
    if got != want:
        fail("stale: n1's boot lines %s, want %s" % (got, want))
    v1 = [l for l in h if l["type"] == "version" and l["serial"] == V1]
    if not v1 or v1[0]["known"] != "disk" or boots(h)[-1]["digests"] != [v1[0]["digest"]]:
        fail("stale: the old copy's version %s, boot %s" % (v1, boots(h)[-1:]))
    if "serial\t%d\t10.20.0.15" % V1 not in p.stdout:
        fail("stale: p:serial() and the answer after the restart: %s" % p.stdout[-1500:])
    stale = [l for l in h if l["type"] == "lookup" and l.get("client") == "app"
             and l.get("class") == "stale" and len(boots(h)) == 2 and l["t"] > boots(h)[1]["t"]]
    if len(stale) < 10:
        fail("stale: only %d of the client's answers after the restart are stale" % len(stale))


def t_unknown(bin_, repo, d, work):
    """A serial the source never published: recorded, digest null."""
    p, hist = run(bin_, os.path.join(d, "secondary_unknown.lua"), work, "unknown")
    if p.returncode != 0:
        return fail("secondary_unknown.lua exit %d: %s"
                    % (p.returncode, (p.stdout + p.stderr)[-3000:]))
    check_schema(repo, hist)
    h = history(hist)
    got = [(l["from"], l["zones"], l["digests"]) for l in boots(h)]
    want = [("source", ["internal. %d" % V2], [digest_of(h, V2)]),
            ("source", ["internal. %d" % V3], [None])]
    if got != want:
        fail("unknown: n1's boot lines %s, want %s" % (got, want))
    if "serial\t%d" % V3 not in p.stdout:
        fail("unknown: p:serial() after the restart: %s" % p.stdout[-1500:])


def t_down(bin_, repo, d, work):
    """(e) the source down: a pure secondary's restart fails after start_timeout."""
    t0 = time.time()
    p, hist = run(bin_, os.path.join(d, "secondary_down.lua"), work, "down")
    out = p.stdout + p.stderr
    if p.returncode != 4:
        fail("down: exit %d, want 4 (the run failed): %s" % (p.returncode, out[-1500:]))
    for want in ("secondary_down.lua:5)", "within 1 s", "its last answer: SERVFAIL",
                 "secondary of truth", "which is down: it could not transfer the zone"):
        if want not in out:
            fail("down: %r not in %s" % (want, out[-2000:]))
    if not os.path.exists(hist):
        return fail("down: no history")
    check_schema(repo, hist)
    b = boots(history(hist))
    if len(b) != 2 or not b[0]["ok"] or b[1]["ok"] or "which is down" not in b[1].get("error", ""):
        fail("down: boot lines %s" % b)
    if time.time() - t0 > 30:
        fail("down: the run took %.0f s" % (time.time() - t0))


NSD = '"nsd", "-d", "-c", "{config}"'
BAD = [
    # (the s:process options, what dnschaos must say)
    ('command = { "nsd", "{source}" }, zone_file = "zones/internal.v2.zone"',
     "process 'n1': command[2]: placeholder '{source}' needs source = <zone source>"),
    ('command = { %s }, zone_file = "zones/internal.v2.zone", config_text = "x {source_port}"'
     % NSD, "process 'n1': config line 1: placeholder '{source_port}' needs source"),
    ('command = { "nsd", "{source_addr}" }, zone_file = "zones/internal.v2.zone"',
     "placeholder '{source_addr}' needs source"),
    ('command = { %s }, source = "truth"' % NSD,
     "process: 'source' must be a zone_source, got string"),
    ('command = { %s }, source = s:zone("zones/internal.v2.zone")' % NSD,
     "process: 'source' must be a zone_source, got zone"),
    ('command = { %s }' % NSD,
     "process 'n1': zone_file = 'path' is required (the zone it serves, copied into its "
     "directory as {zone_file}), or source = <zone source>"),
    ('command = { %s }, source = truth, zone_file = "zones/other.zone"' % NSD,
     "source 'truth' publishes no zone other. (the origin of its zone_file)"),
    ('command = { %s }, source = truth, sourse = 1' % NSD,
     "unknown option 'sourse' (did you mean 'source'?)"),
]

OTHER = """$ORIGIN other.
$TTL 300
@ IN SOA ns1.other. hostmaster.other. 1 3600 600 86400 60
  IN NS ns1
ns1 IN A 10.9.0.1
"""


def t_bad(bin_, repo, d, work):
    """(d) bad declarations, refused at their line."""
    os.makedirs(os.path.join(work, "zones"), exist_ok=True)
    shutil.copy(os.path.join(d, "zones", "internal.v2.zone"), os.path.join(work, "zones"))
    with open(os.path.join(work, "zones", "other.zone"), "w") as f:
        f.write(OTHER)
    for i, (opts, want) in enumerate(BAD):
        scen = os.path.join(work, "bad%d.lua" % i)
        with open(scen, "w") as f:
            f.write('local s = scenario{ name = "bad", duration = 1 }\n'
                    'local truth = s:zone_source{ name = "truth", file = "zones/internal.v2.zone" }\n'
                    's:process{ name = "n1", %s }\n' % opts)
        p = subprocess.run([bin_, "run", scen, "-q"], capture_output=True, text=True,
                           timeout=30, cwd=work)
        out = p.stdout + p.stderr
        if p.returncode != 3 or want not in out or ("bad%d.lua:3" % i) not in out:
            fail("bad: %s: exit %d, wanted %r at bad%d.lua:3 in %r"
                 % (opts, p.returncode, want, i, out[-700:]))


TESTS = {"boot": t_boot_publish, "stale": t_stale, "unknown": t_unknown, "down": t_down,
         "bad": t_bad}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dnschaos")
    ap.add_argument("repo")
    ap.add_argument("--only")
    a = ap.parse_args()
    if not shutil.which("nsd"):
        print("SKIP: nsd is not installed (apt-get install nsd)")
        return SKIP
    if not can_capture():
        print("SKIP: capturing on loopback needs CAP_NET_RAW (run as root, or in the sandbox)")
        return SKIP
    d = os.path.join(os.path.abspath(a.repo), "tests/scenarios/process")
    bin_ = os.path.abspath(a.dnschaos)
    work = tempfile.mkdtemp(prefix="dnschaos-secondary-test-")
    try:
        for name, fn in TESTS.items():
            if a.only and name not in a.only.split(","):
                continue
            before = len(failures)
            t0 = time.time()
            fn(bin_, a.repo, d, work)
            print("%s: %s (%.1f s)" % (name, "ok" if len(failures) == before else "FAILED",
                                      time.time() - t0))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
