#!/usr/bin/env python3
"""The verdict over query faults on remote daemons (s:remote), end to end.

A remote daemon streams its queries to the run (`watch`), so a query fault
on it is judged as a local resolver's is. Three self-tests over one hang on
daemon ra (rb is healthy), each checked with `dnschaos run --json` and again
with `dnschaos check` on its history:

- a correct system: clients (c-ares, and glibc on worker threads) with both
  daemons as targets, ra first, fail over: PASS; the hang is met (ra's
  query lines, joined to the clients' lookups, carry the run's fault id),
  no fault is untouched;
- a broken one: the same client with ra alone: FAIL, and "what went wrong"
  names the hang on ra (read from those query lines);
- an untested one: the client stops before the hang: INCONCLUSIVE, the
  hang untouched.

Then, through a TCP proxy on the control connection:
- events the daemon had to drop (the proxy stops reading from the daemon
  while the test floods it with queries): a `lost` line in the history, the
  query lines and the lost count adding up to every query the daemon saw,
  an expectation that reads query lines (amplification) inconclusive with
  the reason, one over lookups alone (success_rate) still PASS;
- a daemon that does not know `watch` (the proxy misspells it, so the daemon
  answers with an error): a warning, a `remote` line ok false, no query line
  of it, and its hang untouched: INCONCLUSIVE, as before remote queries were
  recorded.

Usage: remote_verdict.py DNSCHAOS FAKERESOLVER REPO_ROOT
"""
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import remote_daemon as rd  # noqa: E402  the daemons, DNS by hand, check()

HEAD = r'''
local s = scenario{ name = "@NAME@", duration = @DUR@, seed = 5 }
local ra = s:remote{ name = "ra", address = "127.0.0.1:@PA@", control = "127.0.0.1:@CA@",
                     token_file = "a.token" }
local rb = s:remote{ name = "rb", address = "127.0.0.1:@PB@", control = "127.0.0.1:@CB@",
                     token_file = "b.token" }
'''

# Correct: ra hangs from 0.5 s, the clients ask rb after 0.2 s (c-ares) or 1 s
# (glibc, whole seconds) and succeed.
PASS = HEAD + r'''
s:at(0.5, ra, "hang")
s:client{ name = "app", stack = "c-ares", target = { ra, rb }, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2.5, timeout = 0.2, attempts = 2 }
s:client{ name = "legacy", stack = "glibc", target = { ra, rb }, names = "web.internal",
          rate = 4, arrivals = "constant", from = 0.2, to = 2.5, timeout = 1, attempts = 1 }
s:expect{ "app fails over", success_rate{ client = "app" }, at_least = 0.95 }
s:expect{ "legacy fails over", success_rate{ client = "legacy" }, at_least = 0.9 }
s:expect{ "app p99 under 700 ms", latency{ client = "app", p = 99 }, at_most = 700 }
'''

# Broken: the same client with ra alone.
FAIL = HEAD + r'''
s:at(0.5, ra, "hang")
s:client{ name = "app", stack = "c-ares", target = ra, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.2, to = 2.5, timeout = 0.2, attempts = 2 }
s:expect{ "app fails over", success_rate{ client = "app" }, at_least = 0.95 }
'''

# Untested: the client is gone when ra hangs.
INCONCLUSIVE = HEAD + r'''
s:at(0.5, ra, "hang")
s:client{ name = "app", stack = "c-ares", target = { ra, rb }, names = "db-primary.internal",
          rate = 20, arrivals = "constant", from = 0.1, to = 0.4, timeout = 0.2, attempts = 2 }
s:expect{ "app fails over", success_rate{ client = "app" }, at_least = 0.95 }
'''

# Lost events: ra's control connection goes through the proxy, which stops
# reading from the daemon for a while; the test floods ra meanwhile.
LOST = HEAD.replace('control = "127.0.0.1:@CA@"', 'control = "127.0.0.1:@PROXY@"') + r'''
s:at(0.3, ra, "delay", { ms = 5 })
s:client{ name = "app", stack = "c-ares", target = ra, names = "db-primary.internal",
          rate = 10, arrivals = "constant", from = 0.2, to = 5.5, timeout = 1, attempts = 2 }
s:expect{ "app succeeds", success_rate{ client = "app" }, at_least = 0.9 }
s:expect{ "app sends few queries", amplification{ client = "app" }, at_most = 3 }
'''

# An older daemon: the proxy misspells `watch`, which the daemon refuses.
OLD = (LOST.replace('s:at(0.3, ra, "delay", { ms = 5 })', 's:at(0.5, ra, "hang")')
       .replace("to = 5.5", "to = 2.5"))


class Proxy:
    """Relays one control connection to the daemon; mode 'stall' stops reading
    from the daemon while self.stall is set; mode 'old' misspells `watch`."""

    def __init__(self, port, mode):
        self.port, self.mode = port, mode
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.lport = self.lsock.getsockname()[1]
        self.stall = threading.Event()
        self.watched = threading.Event()
        self.stop = False
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        self.lsock.settimeout(60)
        try:
            up, _ = self.lsock.accept()
        except OSError:
            return
        down = socket.socket()
        # Small: the daemon's side fills soon once the proxy stops reading.
        down.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        down.connect(("127.0.0.1", self.port))
        pending = b""
        deadline = time.monotonic() + 120
        while not self.stop and time.monotonic() < deadline:
            want = [up] + ([] if self.stall.is_set() else [down])
            r, _, _ = select.select(want, [], [], 0.05)
            if up in r:
                data = up.recv(65536)
                if not data:
                    break
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line == b"watch":
                        self.watched.set()
                        if self.mode == "old":
                            line = b"wach"
                    down.sendall(line + b"\n")
            if down in r:
                data = down.recv(65536)
                if not data:
                    break
                up.sendall(data)
        up.close()
        down.close()


def scenario(text, name, dur, a, b, cport_a, work):
    text = (text.replace("@NAME@", name).replace("@DUR@", str(dur))
            .replace("@PA@", str(a.port)).replace("@CA@", str(a.cport))
            .replace("@PB@", str(b.port)).replace("@CB@", str(b.cport))
            .replace("@PROXY@", str(cport_a)))
    path = os.path.join(work, name.replace(" ", "_") + ".lua")
    with open(path, "w") as f:
        f.write(text)
    return path


def play(dnschaos, path, work):
    """Runs the scenario; (exit code, output, history lines, json report)."""
    hist = path[:-4] + ".jsonl"
    rep = path[:-4] + ".json"
    p = subprocess.run([dnschaos, "run", path, "--no-sandbox", "--history", hist,
                        "--json", rep], capture_output=True, text=True, timeout=60, cwd=work)
    lines = [json.loads(l) for l in open(hist)] if os.path.exists(hist) else []
    report = json.load(open(rep)) if os.path.exists(rep) else {}
    return p.returncode, p.stdout + p.stderr, lines, report, hist


def rejudge(dnschaos, path, hist, work):
    rep = path[:-4] + ".check.json"
    p = subprocess.run([dnschaos, "check", hist, path, "--json", rep], capture_output=True,
                       text=True, timeout=60, cwd=work)
    report = json.load(open(rep)) if os.path.exists(rep) else {}
    return p.returncode, p.stdout + p.stderr, report


def outcomes(report):
    return {e["name"]: e["outcome"] for e in report.get("expectations", [])}


def schema_ok(root, hist):
    try:
        import jsonschema  # noqa: F401
    except ImportError:
        print("check_history.py skipped: no python3-jsonschema")
        return True
    ch = subprocess.run([sys.executable, os.path.join(root, "tests", "e2e", "check_history.py"),
                         "--schema", os.path.join(root, "docs", "history.schema.json"), hist],
                        capture_output=True, text=True, timeout=120)
    if ch.returncode != 0:
        print(ch.stdout + ch.stderr)
    return ch.returncode == 0


def hang_id(lines, target="ra"):
    inj = [l for l in lines if l["type"] == "fault" and l["target"] == target and
           l["fault"] == "hang" and l["action"] == "inject"]
    return inj[0]["id"] if len(inj) == 1 else None


def main():
    dnschaos, fakeresolver, root = (os.path.abspath(x) for x in sys.argv[1:4])
    signal.alarm(170)  # a hang guard; the test takes about 40 s
    zone = os.path.join(root, "scenarios", "zones", "internal.v2.zone")
    work = tempfile.mkdtemp(prefix="remote-verdict-")
    for t in ("a", "b"):
        fd = os.open(os.path.join(work, t + ".token"), os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, ("%s-%s\n" % (t, os.urandom(16).hex())).encode())
        os.close(fd)
    a = rd.Daemon(fakeresolver, zone, os.path.join(work, "a.token"), work, "a")
    b = rd.Daemon(fakeresolver, zone, os.path.join(work, "b.token"), work, "b")
    try:
        verdicts(dnschaos, a, b, work, root)
        lost(dnschaos, a, b, work, root)
        old(dnschaos, a, b, work, root)
    finally:
        a.stop()
        b.stop()
        if rd.FAILS:
            for d in (a, b):
                print("---- daemon stderr ----\n" + d.text()[-3000:])
    print("%d passed, %d failed" % (rd.PASSES, len(rd.FAILS)))
    sys.exit(1 if rd.FAILS else 0)


def verdicts(dnschaos, a, b, work, root):
    check = rd.check
    # ---- correct: PASS, the hang met ----
    path = scenario(PASS, "remote hang failover", 3, a, b, a.cport, work)
    rc, out, lines, rep, hist = play(dnschaos, path, work)
    check("correct system: PASS (exit 0)", rc == 0 and rep.get("verdict") == "pass",
          "rc=%d\n%s" % (rc, out))
    check("correct system: every expectation passes",
          set(outcomes(rep).values()) == {"pass"}, repr(outcomes(rep)))
    check("correct system: no fault untouched", rep.get("untouched_faults") == [],
          repr(rep.get("untouched_faults")))
    hid = hang_id(lines)
    met = {}
    for l in lines:
        if (l["type"] == "query" and l.get("resolver") == "ra" and l.get("fault") == hid and
                "lookup" in l):
            met.setdefault(l["client"], []).append(l)
    check("correct system: ra's hung queries joined to both clients' lookups, the run's id",
          hid and set(met) == {"app", "legacy"} and
          all(l["action"] == "dropped" and l.get("remote") is True for v in met.values()
              for l in v), "hang %r: %r" % (hid, {k: len(v) for k, v in met.items()}))
    lk = {l["id"]: l for l in lines if l["type"] == "lookup" and l["event"] != "invoke"}
    ok_app = [i for i, l in lk.items() if l["client"] == "app" and l["event"] == "ok"]
    joined = {l["lookup"] for l in lines if l["type"] == "query" and "lookup" in l}
    check("correct system: every ok lookup of the c-ares client has a query line joined",
          ok_app and all(i in joined for i in ok_app),
          "%d of %d" % (len([i for i in ok_app if i in joined]), len(ok_app)))
    rc2, out2, rep2 = rejudge(dnschaos, path, hist, work)
    check("correct system: dnschaos check agrees", rc2 == 0 and
          outcomes(rep2) == outcomes(rep) and rep2.get("verdict") == "pass",
          "rc=%d %s" % (rc2, out2))
    check("correct system: the history is valid", schema_ok(root, hist))

    # ---- broken: FAIL, and the cause is the hang on ra ----
    path = scenario(FAIL, "remote hang no failover", 3, a, b, a.cport, work)
    rc, out, lines, rep, hist = play(dnschaos, path, work)
    check("broken system: FAIL (exit 1)", rc == 1 and rep.get("verdict") == "fail",
          "rc=%d\n%s" % (rc, out))
    check("broken system: the expectation fails", outcomes(rep) == {"app fails over": "fail"},
          repr(outcomes(rep)))
    causes = rep.get("causes") or []
    check("broken system: what went wrong is the hang on ra",
          causes and causes[0].get("kind") == "hang" and causes[0].get("who") == "ra",
          json.dumps(causes)[:400])
    check("broken system: no fault untouched", rep.get("untouched_faults") == [],
          repr(rep.get("untouched_faults")))
    rc2, out2, rep2 = rejudge(dnschaos, path, hist, work)
    check("broken system: dnschaos check agrees", rc2 == 1 and outcomes(rep2) == outcomes(rep),
          "rc=%d %s" % (rc2, out2))

    # ---- untested: INCONCLUSIVE, the hang untouched ----
    path = scenario(INCONCLUSIVE, "remote hang untested", 2, a, b, a.cport, work)
    rc, out, lines, rep, hist = play(dnschaos, path, work)
    check("untested system: INCONCLUSIVE (exit 2)",
          rc == 2 and rep.get("verdict") == "inconclusive", "rc=%d\n%s" % (rc, out))
    check("untested system: the expectation is inconclusive",
          outcomes(rep) == {"app fails over": "inconclusive"}, repr(outcomes(rep)))
    un = rep.get("untouched_faults") or []
    check("untested system: the hang on ra is untouched",
          len(un) == 1 and un[0].startswith("hang on ra"), repr(un))
    check("untested system: ra's query lines exist (before the hang), none with its id",
          [l for l in lines if l["type"] == "query" and l.get("resolver") == "ra"] and
          not [l for l in lines if l["type"] == "query" and l.get("fault") == hang_id(lines)])
    rc2, out2, rep2 = rejudge(dnschaos, path, hist, work)
    check("untested system: dnschaos check agrees", rc2 == 2 and outcomes(rep2) == outcomes(rep),
          "rc=%d %s" % (rc2, out2))


def status_count(d, token_file):
    c = rd.Ctl(d.cport, open(token_file).read().strip())
    st = json.loads(c.cmd("status")[3:])["counters"]
    c.close()
    return st["udp_received"] + st["tcp_queries"]


def lost(dnschaos, a, b, work, root):
    check = rd.check
    proxy = Proxy(a.cport, "stall")
    path = scenario(LOST, "remote lost events", 6, a, b, proxy.lport, work)
    before = status_count(a, os.path.join(work, "a.token"))
    res = {}
    th = threading.Thread(target=lambda: res.update(zip(
        ("rc", "out", "lines", "rep", "hist"), play(dnschaos, path, work))))
    th.start()
    check("lost: the run asked for the queries", proxy.watched.wait(20))
    time.sleep(1.5)  # into the run
    proxy.stall.set()
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            wmem = int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        wmem = 4 << 20
    want = min(200000, (wmem + (256 << 10)) // 150 + 5000)
    flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    q = rd.build_query("flood.internal")
    sent, t0 = 0, time.monotonic()
    while sent < want and time.monotonic() - t0 < 8:
        try:
            flood.sendto(q, ("127.0.0.1", a.port))
            sent += 1
        except BlockingIOError:
            time.sleep(0.001)
    flood.close()
    time.sleep(0.5)
    proxy.stall.clear()
    th.join(90)
    proxy.stop = True
    after = status_count(a, os.path.join(work, "a.token"))
    rc, out, lines, rep = res.get("rc"), res.get("out", ""), res.get("lines", []), res.get("rep", {})
    ls = [l for l in lines if l["type"] == "lost"]
    check("lost: a lost line for ra with the count and its span",
          len(ls) >= 1 and all(l["target"] == "ra" and l["queries"] > 0 and
                               0 <= l["from"] <= l["to"] <= l["t"] for l in ls), repr(ls))
    check("lost: a warning says so",
          re.search(r"warning: .*remote 'ra': the daemon dropped \d+ of its query events", out),
          out[-2000:])
    nq = len([l for l in lines if l["type"] == "query" and l.get("resolver") == "ra"])
    nl = sum(l["queries"] for l in ls)
    check("lost: query lines and lost events add up to the queries the daemon saw",
          nq + nl == after - before, "%d lines + %d lost != %d" % (nq, nl, after - before))
    print("lost: %d queries flooded, %d seen by the daemon, %d lines, %d lost"
          % (sent, after - before, nq, nl))
    o = outcomes(rep)
    check("lost: the run is INCONCLUSIVE (exit 2)", rc == 2, "rc=%r\n%s" % (rc, out[-2000:]))
    check("lost: the measure over query lines is inconclusive, the one over lookups passes",
          o == {"app succeeds": "pass", "app sends few queries": "inconclusive"}, repr(o))
    amp = [e for e in rep.get("expectations", []) if e["name"] == "app sends few queries"]
    check("lost: its reason names the daemon, the count and the line",
          amp and re.search(r"remote daemon ra lost \d+ of its query events from [\d.]+ s to "
                            r"[\d.]+ s \(history line \d+\)", amp[0]["why"]),
          amp[0]["why"] if amp else "")
    if res.get("hist"):
        rc2, out2, rep2 = rejudge(dnschaos, path, res["hist"], work)
        check("lost: dnschaos check agrees", rc2 == 2 and outcomes(rep2) == o,
              "rc=%d %s" % (rc2, out2))
        check("lost: the history is valid", schema_ok(root, res["hist"]))


def old(dnschaos, a, b, work, root):
    check = rd.check
    proxy = Proxy(a.cport, "old")
    path = scenario(OLD, "remote older daemon", 3, a, b, proxy.lport, work)
    rc, out, lines, rep, hist = play(dnschaos, path, work)
    proxy.stop = True
    check("older daemon: a warning, the run goes on",
          re.search(r"warning: .*remote 'ra': the daemon does not stream its queries", out),
          out[-2000:])
    w = [l for l in lines if l["type"] == "remote" and l["target"] == "ra" and
         l["command"] == "watch"]
    check("older daemon: the remote line of watch, ok false, the daemon's error",
          len(w) == 1 and w[0]["ok"] is False and w[0]["reply"].startswith("error unknown "
                                                                           "command"), repr(w))
    check("older daemon: no query line of it",
          not [l for l in lines if l["type"] == "query" and l.get("resolver") == "ra"])
    check("older daemon: its hang is untouched: INCONCLUSIVE (exit 2)",
          rc == 2 and any(u.startswith("hang on ra") for u in rep.get("untouched_faults", [])),
          "rc=%d %r" % (rc, rep.get("untouched_faults")))


if __name__ == "__main__":
    main()
