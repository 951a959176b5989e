#!/usr/bin/env python3
"""The control socket of a game day (docs/gameday.md), end to end.

Usage: ctl.py DNSCHAOS REPO PART [FAKERESOLVER]

Every part runs tests/e2e/ctl/gameday.lua (a zone source, r1 and r2 behind
a VIP, a c-ares client through it; nothing breaks on the timeline) with
`--control SOCKET`, in the default sandbox where the kernel allows it, and
drives it with `dnschaos ctl` from outside:

- commands: inject (hang with duration=, delay), heal one fault by id,
  publish, restart, crash, a client's rate, a VIP's remove and restore, a
  pause that holds the timeline's entry at t = 6 and the end, resume,
  extend, status as JSON (a fault's time left: a hang's duration, a
  crash's reboot; null for a fault without one); the socket is 0600; in the history each manual
  action's lines carry "manual": true, the scripted ones never, a control
  line per command; every line passes docs/history.schema.json
  (check_history.py); the socket is gone at the end;
- errors: an unknown target, method or option, a bad value, a word that is
  not key=value, an unknown command: the scenario's messages with the
  command named, exit 1, and the run goes on to its end;
- abort: faults injected by hand (one without an expiry) all healed, the
  run ended within one second of the command by its own clock (the end
  line's t against the abort's control line), exit 2, the history whole;
- wrong_user: a client of another uid (setpriv --reuid 65534, the socket
  opened to it by chmod) is refused with one line (exit 1), nothing done,
  the run goes on; without the chmod it cannot even connect (exit 4).
  Skipped (77) when not root;
- hostile: a 1 MiB line, 30 connections at once, a client that sends
  thousands of status commands and never reads: each dropped or refused,
  and the run still serves `status` and ends on time, exit 0;
- process: a real unbound (s:process): `u1 hang duration=2` stops it (the
  reply's fields those of a resolver's fault), `status` shows the hang with
  its time left, the live dashboard (--live, status lines) shows that time
  left too, and the hang heals itself two seconds later as a resolver's
  fault with a duration does (its inject line manual with the duration,
  its heal not manual, no control line of its own); then hung by hand with
  no expiry (`left` null in `status`) and the harness SIGKILLed (in the
  sandbox and with --no-sandbox): no daemon is left. Skipped (77) without
  unbound or when not root;
- remote: a fakeresolver daemon (s:remote, --no-sandbox): `status` lists
  it with the faults it confirmed, a delay's time left from its duration=
  and a stop's null;
- report: the HTML report (--report) of a run with a scripted fault and
  manual ones: the data blob marks the manual faults and publish, never
  the scripted one, and lists the commands; headless Chromium (when
  installed) draws the manual marks, the commands row and the legend entry;
- doc: docs/gameday.md's scenario and transcript, as written: each
  `dnschaos ctl` line run in order against the scenario, each ok or not as
  the doc's replies say (an error word for word, the others with the
  doc's fields), then the aborted run's exit 2, its history and report;
- paths: a regular file at the path is refused (exit 3) and left alone; a
  stale socket (its run killed) is replaced; `ctl` to no run exits 4, bad
  arguments 3.

Exit 0 pass, 1 fail, 77 skip.
"""
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

BIN = os.path.abspath(sys.argv[1])
REPO = os.path.abspath(sys.argv[2])
PART = sys.argv[3]
FAKERESOLVER = os.path.abspath(sys.argv[4]) if len(sys.argv) > 4 else None
SCENARIO = os.path.join(REPO, "tests/e2e/ctl/gameday.lua")
CHECK = os.path.join(REPO, "tests/e2e/check_history.py")
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


class Run:
    """A dnschaos run with --control, its stderr read until the socket is served."""

    def __init__(self, work, extra=(), scenario=SCENARIO):
        self.sock = os.path.join(work, "ctl.sock")
        self.hist = os.path.join(work, "history.jsonl")
        self.err = open(os.path.join(work, "stderr"), "w+")
        self.proc = subprocess.Popen(
            ["timeout", "-k", "5", "90", BIN, "run", scenario, "--control", self.sock,
             "--history", self.hist, "-q", *extra],
            stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.err.seek(0)
            if "control socket: " + self.sock in self.err.read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.err.seek(0)
        raise SystemExit("the run never served its control socket:\n" + self.err.read())

    def ctl(self, *words, user=None, stdin=None):
        cmd = [BIN, "ctl", self.sock, *words]
        if user is not None:
            cmd = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups"] + cmd
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, input=stdin)
        reply = None
        if p.stdout.strip():
            try:
                reply = json.loads(p.stdout.strip().splitlines()[-1])
            except ValueError:
                fail("%s: reply is not JSON: %r" % (" ".join(words), p.stdout))
        return p.returncode, reply, p

    def ok(self, *words):
        rc, reply, p = self.ctl(*words)
        check(rc == 0 and reply and reply.get("ok") is True,
              "%s: want ok, got exit %d %r %s" % (" ".join(words), rc, reply, p.stderr))
        return reply or {}

    def wait(self, limit=60):
        try:
            return self.proc.wait(limit)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("the run did not end within %d s" % limit)
            return None

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def lines(self):
        with open(self.hist) as f:
            return [json.loads(x) for x in f if x.strip()]


def schema_ok(path):
    p = subprocess.run([sys.executable, CHECK, path], capture_output=True, text=True)
    if p.returncode == 77:
        print("  (check_history.py skipped: no jsonschema)")
        return
    check(p.returncode == 0, "check_history.py: " + p.stderr[-2000:])


def part_commands(work):
    r = Run(work)
    mode = stat.S_IMODE(os.stat(r.sock).st_mode)
    check(mode == 0o600, "socket mode %o, want 600" % mode)
    st = r.ok("status")
    check(st.get("duration") == 8 and st.get("paused") is False, "status: %r" % st)
    check([x["name"] for x in st.get("resolvers", [])] == ["r1", "r2"], "status resolvers %r" % st)
    check(st.get("vips", [{}])[0].get("name") == "vip", "status vips %r" % st)
    check(st.get("clients", [{}])[0].get("name") == "app", "status clients %r" % st)
    # Paused first, so that the entry at t = 6 is still ahead however slow the machine.
    p = r.ok("pause")
    check(p.get("paused") is True, "pause: %r" % p)
    a = r.ok("status")
    hang = r.ok("r1", "hang", "duration=0.5")
    delay = r.ok("r2", "delay", "ms=40")
    st = r.ok("status")
    r2 = [x for x in st["resolvers"] if x["name"] == "r2"][0]
    check([f["id"] for f in r2["faults"]] == [delay.get("fault")] and r2["faults"][0]["left"] is None,
          "status: r2's delay with no expiry: %r" % r2)
    healed = r.ok("r2", "heal", "id=%d" % delay.get("fault", 0))
    check(healed.get("healed") == 1, "heal id=: %r" % healed)
    r.ok("truth", "publish", "file=../../../scenarios/zones/internal.v1.zone")
    r.ok("r1", "restart", "boot=source")
    r.ok("r2", "crash", "down=3")
    st = r.ok("status")
    r2 = [x for x in st["resolvers"] if x["name"] == "r2"][0]
    check([f["kind"] for f in r2["faults"]] == ["crash"] and r2["faults"][0]["left"] is not None
          and 0 < r2["faults"][0]["left"] <= 3, "status: r2's crash and its reboot: %r" % r2)
    r.ok("app", "rate", "rate=30")
    r.ok("vip", "remove", "backend=r2")
    r.ok("vip", "restore", "backend=r2")
    time.sleep(1.5)
    b = r.ok("status")
    check(a.get("paused") and b.get("paused") and a["timeline"] == b["timeline"],
          "the timeline moved while paused: %r then %r" % (a.get("timeline"), b.get("timeline")))
    check(b["t"] - a["t"] >= 1.0, "the run's clock stopped while paused: %r %r" % (a["t"], b["t"]))
    rc, reply, _ = r.ctl("pause")
    check(rc == 1 and "paused already" in (reply or {}).get("error", ""), "pause twice: %r" % reply)
    r.ok("resume")
    e = r.ok("extend", "2")
    check(e.get("duration") == 10, "extend: %r" % e)
    code = r.wait()
    check(code == 0, "exit %r, want 0:\n%s" % (code, r.stderr()))
    check(not os.path.exists(r.sock), "the socket is left behind")
    lines = r.lines()
    controls = [x for x in lines if x["type"] == "control"]
    t = {x["command"]: x["t"] for x in controls}
    paused = t["resume"] - t["pause"]
    check(paused >= 1.4, "pause lasted %.3f s" % paused)
    log = [x for x in lines if x["type"] == "log" and x.get("message") == "entry at 6"]
    check(len(log) == 1 and log[0]["t"] >= 6 + paused - 0.05,
          "the entry at 6 ran at %r, the pause was %.3f s" % (log and log[0]["t"], paused))
    end = lines[-1]
    check(end["type"] == "end" and end["reason"] == "duration" and end["t"] >= 10 + paused - 0.05,
          "end %r after a pause of %.3f s and extend 2" % (end, paused))
    # manual on each action's lines, never on the scenario's
    first = min(x["t"] for x in controls)
    for x in lines:
        if x.get("manual"):
            check(x["type"] in ("fault", "publish", "state", "boot", "health", "rate", "control"),
                  "manual on a %s line: %r" % (x["type"], x))
    faults = [x for x in lines if x["type"] == "fault" and x["action"] == "inject"]
    check(all(x.get("manual") for x in faults), "an injected fault without manual: %r" % faults)
    kinds = sorted(x["fault"] for x in faults)
    check(kinds == ["crash", "delay", "hang", "restart"], "faults injected %r" % kinds)
    hang_heal = [x for x in lines if x["type"] == "fault" and x["id"] == hang.get("fault")
                 and x["action"] == "heal"]
    check(len(hang_heal) == 1 and not hang_heal[0].get("manual")
          and 0.4 < hang_heal[0]["t"] - t["r1 hang duration=0.5"] < 5,
          "the hang's own expiry: %r" % hang_heal)
    pub = [x for x in lines if x["type"] == "publish" and not x.get("initial")]
    check(len(pub) == 1 and pub[0].get("manual") and pub[0]["serial"] == 2026110301, "publish %r" % pub)
    hl = [x for x in lines if x["type"] == "health" and x.get("event") in ("removed", "member")]
    check([(x["event"], x.get("manual")) for x in hl] == [("removed", True), ("member", True)],
          "vip remove/restore %r" % hl)
    # (a command's control line follows the lines its action wrote, at once)
    early = [x for x in lines if x.get("manual") and x["t"] < first - 0.05]
    check(not early, "manual lines before the first command: %r" % early[:3])
    boots = [x for x in lines if x["type"] == "boot" and x["t"] < first]
    check(boots and not any(x.get("manual") for x in boots), "scripted boots marked manual")
    want = {"r1 hang duration=0.5", "r2 delay ms=40", "r2 heal id=%d" % delay.get("fault", 0),
            "truth publish file=../../../scenarios/zones/internal.v1.zone", "r1 restart boot=source",
            "r2 crash down=3", "app rate rate=30", "vip remove backend=r2",
            "vip restore backend=r2", "pause", "resume", "extend 2"}
    check(want <= set(t), "control lines missing: %r" % (want - set(t)))
    check(all(x["ok"] for x in controls if x["command"] in want), "a control line not ok")
    schema_ok(r.hist)


def part_errors(work):
    r = Run(work)
    cases = [
        (["r9", "hang"], "r9 hang: unknown target 'r9' (known: r1, r2, truth)"),
        (["r1", "hangg"], "r1 hangg: resolver has no field or method 'hangg' (did you mean 'hang'?)"),
        (["r1", "hang", "fraction=2"], "r1 hang fraction=2: hang: 'fraction' must be between 0.0 and 1.0 (got 2.0)"),
        (["r1", "hang", "durration=3"],
         "r1 hang durration=3: hang: unknown option 'durration' (did you mean 'duration'?)"),
        (["r1", "delay", "ms=abc"], "r1 delay ms=abc: delay: 'ms' must be a number, got string"),
        (["r1", "delay"], "r1 delay: delay: option 'ms' is required (the added latency)"),
        (["r1", "delay", "200"], "r1 delay 200: '200' is not an option: write key=value"),
        (["truth", "publish", "file=no/such.zone"], "truth publish file=no/such.zone: "),
        (["vip", "remove", "backend=r7"], "vip remove backend=r7: remove: r7 is not a backend of vip"),
        (["app", "rate"], "app rate: rate: give rate=N"),
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["extend", "soon"], "extend: give the seconds to add"),
        (["resume"], "resume: the timeline is not paused"),
    ]
    for words, want in cases:
        rc, reply, p = r.ctl(*words)
        got = (reply or {}).get("error", "")
        check(rc == 1 and reply and reply.get("ok") is False and got.startswith(want),
              "%s: want exit 1 and an error starting %r, got %d %r %s" %
              (" ".join(words), want, rc, reply, p.stderr))
    # The scenario's own message for the same mistake (s:at), for comparison:
    # the text after the command is the same as after "file:line: s:at(...): ".
    bad = os.path.join(work, "bad.lua")
    with open(bad, "w") as f:
        f.write('local s = scenario{ name = "b", duration = 1 }\n'
                'local z = s:zone("%s/scenarios/zones/internal.v2.zone")\n'
                'local r1 = s:resolver{ name = "r1", zone = z }\n'
                's:at(0.5, r1, "hang", { durration = 3 })\n' % REPO)
    p = subprocess.run([BIN, "run", "--no-sandbox", bad], capture_output=True, text=True, timeout=60)
    check("hang: unknown option 'durration' (did you mean 'duration'?)" in p.stderr,
          "the scenario's message differs: %s" % p.stderr)
    st = r.ok("status")
    check(all(not x["faults"] for x in st["resolvers"]), "a refused command left a fault: %r" % st)
    code = r.wait()
    check(code == 0, "exit %r after refused commands, want 0:\n%s" % (code, r.stderr()))
    controls = [x for x in r.lines() if x["type"] == "control"]
    check(any(x["command"] == "r9 hang" and x["ok"] is False and "unknown target" in x["error"]
              for x in controls), "no control line for a refused command: %r" % controls)
    schema_ok(r.hist)


def part_abort(work):
    r = Run(work, scenario=long_scenario(work))
    r.ok("r1", "hang")                       # no expiry: until healed
    r.ok("r2", "delay", "ms=300", "duration=60")
    r.ok("r1", "capacity", "qps=5")
    t0 = time.monotonic()
    reply = r.ok("abort")
    check(reply.get("aborting") is True, "abort: %r" % reply)
    code = r.wait()
    wall = time.monotonic() - t0
    check(code == 2, "abort: exit %r, want 2:\n%s" % (code, r.stderr()))
    check(wall < 15, "abort: the process took %.1f s to exit" % wall)
    check("aborted from the control socket" in r.stderr(), "abort: stderr says %r" % r.stderr())
    lines = r.lines()
    end = lines[-1]
    check(end["type"] == "end" and end["reason"] == "interrupted"
          and "control socket" in end.get("error", "") and end["lines"] == len(lines),
          "abort: end line %r" % end)
    ab = [x for x in lines if x["type"] == "control" and x["command"] == "abort"]
    check(len(ab) == 1 and end["t"] - ab[0]["t"] < 1.0,
          "abort: the run ended %.3f s after the command (want < 1 s)" %
          (end["t"] - ab[0]["t"] if ab else -1))
    inj = {x["id"] for x in lines if x["type"] == "fault" and x["action"] == "inject"}
    healed = {x["id"] for x in lines if x["type"] == "fault" and x["action"] == "heal"}
    check(len(inj) == 3 and inj <= healed, "abort: faults %r, healed %r" % (inj, healed))
    check(not os.path.exists(r.sock), "abort: the socket is left behind")
    schema_ok(r.hist)


def long_scenario(work):
    path = os.path.join(work, "long.lua")
    with open(SCENARIO) as f:
        text = f.read()
    text = text.replace('duration = 8', 'duration = 60').replace(
        '"../../../scenarios/zones/', '"%s/scenarios/zones/' % REPO)
    with open(path, "w") as f:
        f.write(text)
    return path


def part_wrong_user(work):
    if os.geteuid() != 0:
        print("ctl wrong_user: SKIP: needs root (to run the client as another user)")
        sys.exit(77)
    os.chmod(work, 0o755)
    r = Run(work)
    rc, reply, p = r.ctl("status", user=65534)
    check(rc == 4 and "Permission denied" in p.stderr,
          "0600 socket: another user connected? exit %d %r %s" % (rc, reply, p.stderr))
    os.chmod(r.sock, 0o666)  # the file's mode no longer stops it: SO_PEERCRED must
    rc, reply, p = r.ctl("r1", "hang", user=65534)
    check(rc == 1 and reply and reply.get("ok") is False
          and "refused: uid 65534 is not the uid the run has" in reply.get("error", ""),
          "another uid: exit %d %r %s" % (rc, reply, p.stderr))
    st = r.ok("status")
    check(all(not x["faults"] for x in st["resolvers"]), "the refused user's hang was done: %r" % st)
    code = r.wait()
    check(code == 0, "exit %r, want 0:\n%s" % (code, r.stderr()))
    lines = r.lines()
    check(not [x for x in lines if x["type"] == "fault"], "a fault from the refused user")


def part_hostile(work):
    r = Run(work)
    # A line that never ends: an error, then the connection is closed.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(r.sock)
    s.settimeout(20)
    try:
        s.sendall(b"x" * (1 << 20))
    except OSError:
        pass  # closed on us mid-send: what we want
    got = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    except OSError:
        pass
    check(b"at most 4096 bytes" in got, "huge line: got %r" % got[:200])
    s.close()
    # Never reading: thousands of status commands; dropped, not waited for.
    hog = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hog.connect(r.sock)
    hog.setblocking(False)
    sent = 0
    t_end = time.monotonic() + 5
    while time.monotonic() < t_end and sent < 20000:
        try:
            hog.send(b"status\n")
            sent += 1
        except BlockingIOError:
            time.sleep(0.01)
        except OSError:
            break  # dropped
    # Many connections: those past the limit get one line and are closed.
    conns, refused = [], 0
    for _ in range(30):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(r.sock)
        conns.append(c)
    for c in conns:
        c.settimeout(0.5)
        try:
            d = c.recv(4096)
            if b"control connections are open already" in d:
                refused += 1
        except socket.timeout:
            pass
    check(refused >= 30 - 8, "connections past the limit refused: %d of 30" % refused)
    for c in conns:
        c.close()
    st = r.ok("status")
    check(st.get("ok") is True, "status after the connections closed")
    # The hog was dropped: reading now ends (EOF or reset) instead of blocking forever.
    hog.setblocking(True)
    hog.settimeout(10)
    total, dropped = 0, False
    try:
        while True:
            d = hog.recv(1 << 16)
            if not d:
                dropped = True
                break
            total += len(d)
    except ConnectionResetError:
        dropped = True
    except socket.timeout:
        pass
    hog.close()
    check(dropped,
          "the client that never read was not dropped (sent %d commands, read %d bytes)" %
          (sent, total))
    code = r.wait()
    check(code == 0, "exit %r, want 0:\n%s" % (code, r.stderr()))
    end = r.lines()[-1]
    check(end["type"] == "end" and end["reason"] == "duration" and end["t"] < 8 + 2,
          "the run ended late or not on its duration: %r" % end)


def part_paths(work):
    path = os.path.join(work, "file")
    with open(path, "w") as f:
        f.write("keep me\n")
    p = subprocess.run([BIN, "run", SCENARIO, "--control", path], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 3 and "exists and is not a socket" in p.stderr,
          "a regular file: exit %d %s" % (p.returncode, p.stderr))
    with open(path) as f:
        check(f.read() == "keep me\n", "the regular file was touched")
    stale = os.path.join(work, "ctl.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()  # a socket file nobody listens on: a killed run's
    r = Run(work)
    r.ok("status")
    r.ok("abort")
    check(r.wait() == 2, "abort after replacing a stale socket")
    p = subprocess.run([BIN, "ctl", stale, "status"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 4 and "cannot connect" in p.stderr, "no run: exit %d %s" %
          (p.returncode, p.stderr))
    p = subprocess.run([BIN, "ctl", stale], capture_output=True, text=True, timeout=60)
    check(p.returncode == 3, "no command: exit %d" % p.returncode)
    p = subprocess.run([BIN, "ctl", "--help"], capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and "Exit status" in p.stdout, "ctl --help: %d" % p.returncode)


def part_report(work):
    import re
    import shutil
    scen = os.path.join(work, "scripted.lua")
    with open(SCENARIO) as f:
        text = f.read().replace('"../../../scenarios/zones/', '"%s/scenarios/zones/' % REPO)
    with open(scen, "w") as f:
        f.write(text + 's:at(0.5, r2, "delay", { ms = 5, duration = 0.5 })\n')
    rep = os.path.join(work, "report")
    r = Run(work, extra=["--report", rep], scenario=scen)
    r.ok("r1", "hang", "duration=0.5")
    r.ok("truth", "publish", "file=%s/scenarios/zones/internal.v1.zone" % REPO)
    r.ctl("r1", "nosuch")
    deadline = time.monotonic() + 20
    while r.ok("status").get("t", 99) < 1.2 and time.monotonic() < deadline:
        time.sleep(0.1)  # past the scripted delay (0.5 to 1.0)
    r.ok("abort")
    check(r.wait() == 2, "report: the aborted run's exit")
    page = open(os.path.join(rep, "index.html"), encoding="utf-8").read()
    m = re.findall(r'<script type="application/json" id="dnschaos-data">(.*?)</script>', page, re.S)
    check(len(m) == 1, "report: no data blob")
    d = json.loads(m[0])
    faults = [(r_["g"], it[2], len(it) > 5 and it[5] == 1) for r_ in d["rows"] if r_["k"] == "fault"
              for it in r_["items"]]
    check(("r1", "hang", True) in faults and ("r2", "delay", False) in faults,
          "report: fault items (target, kind, manual): %r" % faults)
    pubs = [(u[1], len(u) > 5 and u[5] == 1) for u in d["pubs"]]
    check((2026110301, True) in pubs and (2026112502, False) in pubs, "report: pubs %r" % pubs)
    cmds = [(c[1], c[2]) for c in d.get("ctl", [])]
    check(("r1 hang duration=0.5", True) in cmds and ("r1 nosuch", False) in cmds
          and ("abort", True) in cmds, "report: commands %r" % cmds)
    check("dnschaos ctl: r1 hang duration=0.5" in page, "report: the events list lacks the command")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        print("  (no chromium: the page was not rendered)")
        return
    p = subprocess.run(["timeout", "60", browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--no-proxy-server", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run",
                        "--user-data-dir=" + os.path.join(work, "profile"), "--dump-dom",
                        "file://" + os.path.join(rep, "index.html")],
                       capture_output=True, text=True, env=dict(os.environ, HOME=work))
    dom = p.stdout
    check('data-rendered="1"' in dom, "report: the page's script did not finish")
    marks = dom.count('class="manual"')
    # one outline and one mark for the manual hang, one mark per command (4)
    check(marks >= 2 + 4, "report: %d manual marks drawn" % marks)
    check("manual: a command on the control socket (dnschaos ctl)" in dom, "report: no legend entry")
    check("dnschaos ctl r1 nosuch (refused: " in dom, "report: the refused command's mark")


def fenced_after(text, marker):
    """The body of the first fenced block after marker, and the block after that one."""
    i = text.index(marker)
    out = []
    for _ in range(2):
        a = text.index("```", i)
        a = text.index("\n", a) + 1
        b = text.index("\n```", a)
        out.append(text[a:b])
        i = b + 4
    return out


def part_doc(work):
    import shlex
    doc = open(os.path.join(REPO, "docs/gameday.md"), encoding="utf-8").read()
    lua = fenced_after(doc, "<!-- ctl.py: the scenario -->")[0]
    transcript, replies = fenced_after(doc, "<!-- ctl.py: the transcript -->")
    os.makedirs(os.path.join(work, "scenarios"))
    os.symlink(os.path.join(REPO, "scenarios", "zones"), os.path.join(work, "scenarios", "zones"))
    with open(os.path.join(work, "scenarios", "gameday.lua"), "w") as f:
        f.write(lua)
    cmds = [shlex.split(x) for x in transcript.strip().split("\n")]
    want = [json.loads(x) if x.endswith("}") and "..." not in x else x
            for x in replies.strip().split("\n") if x.startswith("{")]
    check(cmds[0][:2] == ["dnschaos", "run"] and len(want) == len(cmds) - 1,
          "doc: %d commands, %d replies" % (len(cmds) - 1, len(want)))
    sock = cmds[0][cmds[0].index("--control") + 1]
    mine = os.path.join(work, "gameday.sock")
    run = [BIN] + [mine if w == sock else w for w in cmds[0][1:]]
    err = open(os.path.join(work, "stderr"), "w+")
    proc = subprocess.Popen(["timeout", "-k", "5", "90"] + run, cwd=work,
                            stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        err.seek(0)
        if "control socket: " + mine in err.read() or proc.poll() is not None:
            break
        time.sleep(0.05)
    for words, w in zip(cmds[1:], want):
        check(words[:3] == ["dnschaos", "ctl", sock], "doc: not a ctl line: %r" % words)
        p = subprocess.run([BIN, "ctl", mine] + words[3:], capture_output=True, text=True,
                           timeout=60, cwd=work)
        got = json.loads(p.stdout) if p.stdout.strip().startswith("{") else {}
        if isinstance(w, str):  # elided in the doc: only ok
            check(p.returncode == 0 and got.get("ok") is True, "doc: %s: %d %r" %
                  (" ".join(words[3:]), p.returncode, p.stdout))
            continue
        check(p.returncode == (0 if w["ok"] else 1), "doc: %s: exit %d, the doc says %r" %
              (" ".join(words[3:]), p.returncode, w))
        if w["ok"]:
            check(set(got) == set(w), "doc: %s: fields %r, the doc shows %r" %
                  (" ".join(words[3:]), sorted(got), sorted(w)))
        else:
            check(got.get("error") == w["error"], "doc: %s: %r, the doc says %r" %
                  (" ".join(words[3:]), got.get("error"), w["error"]))
    try:
        code = proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = None
    err.seek(0)
    check(code == 2, "doc: the aborted run's exit %r, want 2:\n%s" % (code, err.read()))
    hist = os.path.join(work, "gameday.jsonl")
    schema_ok(hist)
    lines = [json.loads(x) for x in open(hist)]
    done = [x["command"] for x in lines if x["type"] == "control"]
    check(done == [" ".join(w[3:]) for w in cmds[1:] if w[3:] != ["status"]],
          "doc: control lines %r" % done)
    check(os.path.exists(os.path.join(work, "gameday", "index.html")), "doc: no report")


def daemons(tag):
    found = []
    for c in os.listdir("/proc"):
        if not c.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % c, "rb") as f:
                if tag.encode() in f.read():
                    found.append(c)
        except OSError:
            pass
    return found


def proc_state(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


def all_stopped(pids, limit=5.0):
    """Whether every pid is stopped (state T) within limit s: SIGSTOP lands when they next run."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if all(proc_state(p) == "T" for p in pids):
            return True
        time.sleep(0.05)
    return False


def part_process(work):
    import shutil
    if not shutil.which("unbound"):
        print("ctl process: SKIP: unbound is not installed")
        sys.exit(77)
    if os.geteuid() != 0:
        print("ctl process: SKIP: a real daemon's capture needs root (CAP_NET_RAW)")
        sys.exit(77)
    d = os.path.join(REPO, "tests/scenarios/process")
    shutil.copy(os.path.join(d, "unbound.conf.in"), work)
    os.makedirs(os.path.join(work, "zones"), exist_ok=True)
    shutil.copy(os.path.join(d, "zones", "internal.v2.zone"), os.path.join(work, "zones"))
    for n, extra in enumerate((["--live"], ["--no-sandbox"])):
        tag = name = "ctlkill%d%d" % (os.getpid(), n)
        scen = os.path.join(work, "process%d.lua" % n)
        with open(scen, "w") as f:
            f.write('local s = scenario{ name = "ctl process", duration = 30 }\n'
                    'local u = s:process{ name = "%s", zone_file = "zones/internal.v2.zone",\n'
                    '  config = "unbound.conf.in", command = { "unbound", "-d", "-p", "-c", "{config}" } }\n'
                    % tag)
        sub = os.path.join(work, "run%d" % n)
        os.mkdir(sub)
        r = Run(sub, extra=extra, scenario=scen)
        tag = "dnschaos-" + tag + "-"  # its private directory: in the daemon's arguments only
        pids = daemons(tag)
        check(pids, "process: no daemon running (tag %s)" % tag)
        if n == 0:
            h = r.ok(name, "hang", "duration=2")
            check(sorted(h) == ["fault", "ok", "t"], "process hang: %r" % h)  # as r1 hang duration=2
            st = r.ok("status").get("processes", [{}])[0]
            f = st.get("faults") or [{}]
            check(st.get("hung") is True and [x.get("id") for x in f] == [h.get("fault")]
                  and f[0].get("kind") == "hang" and f[0].get("left") is not None
                  and 0 < f[0]["left"] <= 2, "process: status of a hang with duration=: %r" % st)
            check(all_stopped(pids), "process: not stopped by the hang")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(proc_state(p) == "T" for p in pids):
                time.sleep(0.1)
            check(not any(proc_state(p) == "T" for p in pids), "process: its hang never expired")
            # its lines reach the file at the next flush (0.1 s): before the SIGKILL below
            heal = '"id":%d,"action":"heal"' % h.get("fault", 0)
            while time.monotonic() < deadline and heal not in open(r.hist).read():
                time.sleep(0.1)
            # the live dashboard showed its time left, never "until-healed"
            live = [x for x in r.stderr().splitlines() if x.startswith("live t=")]
            shown = [x for x in live if re.search(r"faults: (.*, )?%s hang [0-9.]+s" % name, x)]
            check(shown and not any("%s hang until-healed" % name in x for x in live),
                  "process: --live never showed the hang's time left: %r" % live[:6])
        rc, reply, _ = r.ctl(name, "hang")  # no expiry: until healed, or the run ends
        check(rc == 0, "process hang: %d %r" % (rc, reply))
        check(all_stopped(pids), "process: not stopped by the second hang")
        st = r.ok("status").get("processes", [{}])[0]
        check([(x.get("kind"), x.get("left")) for x in st.get("faults", [])] == [("hang", None)],
              "process: status of a hang without an expiry: %r" % st)
        # SIGKILL to the harness itself (timeout's child), as `kill -9` would
        with open("/proc/%d/task/%d/children" % (r.proc.pid, r.proc.pid)) as f:
            harness = [int(x) for x in f.read().split()]
        check(len(harness) == 1, "process: the harness under timeout: %r" % harness)
        for p in harness:
            os.kill(p, signal.SIGKILL)
        r.proc.wait()
        deadline = time.monotonic() + 10
        while daemons(tag) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = daemons(tag)
        check(not left, "process: daemons left after SIGKILL of the harness%s: %s" %
              (" (--no-sandbox)" if extra else "", left))
        for p in left:
            try:
                os.kill(int(p), signal.SIGKILL)
            except OSError:
                pass
        # A SIGKILLed harness cannot remove its daemon's private directory: the test does.
        import glob
        for d in glob.glob("/tmp/" + tag + "*"):
            shutil.rmtree(d, ignore_errors=True)
    # the expiry, in the first run's history (flushed by then: read after the kill)
    lines = []
    with open(os.path.join(work, "run0", "history.jsonl")) as f:
        for x in f:
            try:
                lines.append(json.loads(x))
            except ValueError:
                pass  # a killed run's last line may be cut
    hangs = [x for x in lines if x["type"] == "fault" and x["fault"] == "hang"]
    # as a resolver's fault by hand with duration=: the inject manual with its
    # duration, the heal at its end by itself (not the operator's line)
    check(len(hangs) >= 2 and hangs[0]["action"] == "inject" and hangs[1]["action"] == "heal"
          and hangs[0].get("manual") and hangs[0].get("duration") == 2
          and not hangs[1].get("manual") and hangs[1]["id"] == hangs[0]["id"]
          and 1.9 <= hangs[1]["t"] - hangs[0]["t"] < 10,
          "process: the hang and its expiry in the history: %r" % hangs[:2])
    cmds = [x["command"] for x in lines if x["type"] == "control"]
    check(cmds[:1] == ["ctlkill%d0 hang duration=2" % os.getpid()] and
          not any("continue" in c for c in cmds), "process: the control lines: %r" % cmds)


def part_remote(work):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import remote_daemon as rd
    if not FAKERESOLVER:
        raise SystemExit("ctl remote: give the fakeresolver binary as the 4th argument")
    tok = os.path.join(work, "a.token")
    fd = os.open(tok, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, ("a-%s\n" % os.urandom(16).hex()).encode())
    os.close(fd)
    d = rd.Daemon(FAKERESOLVER, os.path.join(REPO, "scenarios/zones/internal.v2.zone"), tok, work, "a")
    try:
        scen = os.path.join(work, "remote.lua")
        with open(scen, "w") as f:
            f.write('local s = scenario{ name = "ctl remote", duration = 8 }\n'
                    's:remote{ name = "ra", address = "127.0.0.1:%d", control = "127.0.0.1:%d",\n'
                    '          token_file = "a.token" }\n' % (d.port, d.cport))
        r = Run(work, extra=["--no-sandbox"], scenario=scen)
        delay = r.ok("ra", "delay", "ms=20", "duration=5")
        stop = r.ok("ra", "stop")
        # a fault is the daemon's once it confirmed it: its reply comes on the loop
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            st = r.ok("status")
            ra = (st.get("remotes") or [{}])[0]
            if len(ra.get("faults", [])) == 2:
                break
            time.sleep(0.05)
        f = ra.get("faults") or []
        check(ra.get("name") == "ra" and ra.get("state") == "down"
              and [(x["id"], x["kind"]) for x in f] == [(delay.get("fault"), "delay"),
                                                         (stop.get("fault"), "stop")]
              and f[0]["left"] is not None and 0 < f[0]["left"] <= 5 and f[1]["left"] is None,
              "remote: status of a delay with duration= and a stop: %r" % st)
        r.ok("abort")
        code = r.wait()
        check(code == 2, "remote: exit %r after abort, want 2:\n%s" % (code, r.stderr()))
    finally:
        d.stop()


PARTS = {"commands": part_commands, "errors": part_errors, "abort": part_abort,
         "wrong_user": part_wrong_user, "hostile": part_hostile, "paths": part_paths,
         "process": part_process, "remote": part_remote, "report": part_report,
         "doc": part_doc}


def main():
    with tempfile.TemporaryDirectory(prefix="dnschaos-ctl-") as work:
        PARTS[PART](work)
    if failures:
        print("ctl %s: %d failure(s)" % (PART, len(failures)), file=sys.stderr)
        return 1
    print("ctl %s: ok" % PART)
    return 0


if __name__ == "__main__":
    sys.exit(main())
