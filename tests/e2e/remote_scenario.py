#!/usr/bin/env python3
"""A scenario drives two fakeresolver daemons it did not start (s:remote).

The test starts two daemons on loopback, each with a control port and a
token file, and runs a scenario that puts them behind a VIP, with a client
through it, and breaks them from the timeline (s:at entries) and from a
timeline function (methods, checked with s:query): hang, delay with a
duration, rcode, heal, stop/start, publish (one good file, one missing).
Then it checks:
- both expectations pass, and the failed publish is a warning, not a crash;
- the verdict: the hang on ra and the delay on rb met the clients' lookups
  (through the VIP, and directly); rb's rcode, on a name only s:query asks,
  is the one untouched fault: INCONCLUSIVE (exit 2);
- the history: a `remote` line per command with the daemon's reply (the
  failed publish with ok false and the daemon's error), `watch` with its
  round trip, `fault` inject and heal lines with the run's ids (the delay's
  heal from its duration), `state` lines for stop and start, route lines
  naming the remotes as backends, and the daemons' `query` lines ("remote":
  true): every ok lookup of the client that asks rb directly joined to one,
  the run's fault ids on those the faults decided (ra's hang, rb's delay
  and rcode, rb's capacity: queries that waited in its queue joined on
  arrival, with their wait); check_history.py accepts it (with jsonschema);
- the daemons: what the scenario published is served, and no fault is left
  once the run is over (the end heals every fault);
- the run SIGKILLed with a hang and a stop in force: both heal on the daemons;
- a daemon killed mid-run: a warning and `remote` lines, the run goes on;
- a wrong token: the run fails at start, saying the daemon refused the token.

Usage: remote_scenario.py DNSCHAOS FAKERESOLVER REPO_ROOT
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import remote_daemon as rd  # noqa: E402  the daemons and the control client

SCENARIO = r'''
local s = scenario{ name = "remote daemons behind a VIP", duration = 5.5, seed = 3 }
local a = s:remote{ name = "ra", address = "127.0.0.1:@PA@", control = "127.0.0.1:@CA@",
                    token_file = "a.token" }
local b = s:remote{ name = "rb", address = "127.0.0.1:@PB@", control = "127.0.0.1:@CB@",
                    token_file = "b.token" }
local vip = s:vip{ name = "vip", backends = { a, b },
                   health = { check = "alive", interval = 0.2, timeout = 0.1, rise = 2, fall = 2,
                              initial = "up" } }
s:client{ name = "app", stack = "c-ares", target = vip, names = "web.internal", rate = 40,
          from = 0.1 }

-- From the timeline, as declared actions.
s:at(1.0, a, "hang")
s:at(1.0, b, "delay", { ms = 30, duration = 1 })
s:at(2.2, a, "heal")
s:at(2.6, b, "stop")
s:at(3.2, b, "start")
s:at(3.6, a, "publish", { file = "@V2@" })
s:at(3.7, a, "publish", { file = "/nonexistent/internal.zone" })
s:at(4.0, b, "capacity", { qps = 8, queue = 2, duration = 1 })

-- From a timeline function: a method returns the fault id; its effect is seen
-- once the daemon has had the command.
s:at(0.3, function()
  local id = b:rcode{ rcode = "REFUSED", name = "api.internal" }
  assert(math.type(id) == "integer" and id > 0, "rcode returns the fault id")
  s:sleep(0.3)
  local res = s:query(b, "api.internal", "A")
  assert(res.ok and res.rcode == "REFUSED", "remote rcode: got " .. tostring(res.rcode))
  b:heal(id)
  s:sleep(0.3)
  res = s:query(b, "api.internal", "A")
  assert(res.ok and res.rcode == "NOERROR", "remote heal: got " .. tostring(res.rcode))
  print("remote rcode took effect and healed")
end)
s:at(2.9, function()
  assert(b:state() == "down", "rb stopped, got " .. b:state())
  local res = s:query(b, "web.internal", "A", { timeout = 0.3 })
  assert(res.status == "refused", "stopped remote: got " .. res.status)
end)
s:at(4.5, function()
  local res = s:query(a, "internal", "SOA")
  assert(res.ok and res.serial == 2026112502, "published serial: " .. tostring(res.serial))
  assert(a:state() == "up" and b:state() == "up")
  print("remote publish served")
end)

-- A client that asks rb directly meets its stop (its lookups in flight while
-- rb is down, as its state lines say): the verdict has a fault to judge by.
s:client{ name = "direct", stack = "c-ares", target = b, names = "web.internal", rate = 20,
          from = 0.1 }
s:expect{ "lookups to rb mostly succeed", success_rate{ client = "direct" }, at_least = 0.5 }
s:expect{ "lookups through the VIP succeed", success_rate{ client = "app" }, at_least = 0.5,
          baseline = true }
'''


def write_token(path, token):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (token + "\n").encode())
    os.close(fd)


def main():
    dnschaos, fakeresolver, root = sys.argv[1], sys.argv[2], sys.argv[3]
    signal.alarm(85)  # a hang guard; the test takes about 20 s
    zones = os.path.join(root, "scenarios", "zones")
    v1 = os.path.join(zones, "internal.v1.zone")
    v2 = os.path.join(zones, "internal.v2.zone")
    work = tempfile.mkdtemp(prefix="remote-scenario-")
    tokens = {t: "%s-%s" % (t, os.urandom(16).hex()) for t in ("a", "b")}
    for t, tok in tokens.items():
        write_token(os.path.join(work, t + ".token"), tok)
    a = rd.Daemon(fakeresolver, v1, os.path.join(work, "a.token"), work, "a")
    b = rd.Daemon(fakeresolver, v1, os.path.join(work, "b.token"), work, "b")
    try:
        run(dnschaos, a, b, tokens, v2, work, root)
    finally:
        a.stop()
        b.stop()
        if rd.FAILS:
            for d in (a, b):
                print("---- daemon stderr ----\n" + d.text())
    print("%d passed, %d failed" % (rd.PASSES, len(rd.FAILS)))
    sys.exit(1 if rd.FAILS else 0)


def run(dnschaos, a, b, tokens, v2, work, root):
    check = rd.check
    text = (SCENARIO.replace("@PA@", str(a.port)).replace("@CA@", str(a.cport))
            .replace("@PB@", str(b.port)).replace("@CB@", str(b.cport)).replace("@V2@", v2))
    scen = os.path.join(work, "remote.lua")
    with open(scen, "w") as f:
        f.write(text)
    hist = os.path.join(work, "remote.jsonl")
    # In the sandbox (the default where the kernel allows it) the host's
    # loopback is out of reach: the s:remote line says so.
    p = subprocess.run([dnschaos, "run", scen, "--sandbox"], capture_output=True, text=True,
                       timeout=30)
    if "sandbox" in p.stderr and p.returncode == 4 and "remote" not in p.stderr:
        print("no sandbox here (%s): its check skipped" % p.stderr.strip()[:120])
    else:
        check("in the sandbox: refused at the s:remote line, saying --no-sandbox",
              p.returncode == 3 and re.search(r"remote\.lua:\d+: remote 'ra': the run is in "
                                              r"its sandbox.*--no-sandbox", p.stderr),
              "rc=%d %s" % (p.returncode, p.stderr))
    p = subprocess.run([dnschaos, "run", scen, "--no-sandbox", "--history", hist],
                       capture_output=True, text=True, timeout=40)
    out = p.stdout + p.stderr
    # Query faults on a remote daemon are judged as a local resolver's: its
    # queries are in the history. rb's rcode acts on api.internal, which only
    # s:query asks (no client's lookup): untouched, so the run is inconclusive.
    check("the run is inconclusive (exit 2): rb's rcode met no client's lookup",
          p.returncode == 2, "rc=%d\n%s" % (p.returncode, out))
    check("both expectations pass",
          re.search(r"lookups to rb mostly succeed .* PASS", out) and
          re.search(r"lookups through the VIP succeed .* PASS", out), out)
    m = re.search(r"untouched faults.*?:\n((?:  .*\n)+)", out)
    untouched = sorted(re.findall(r"  (\w+) on (\w+) \(fault", m.group(1))) if m else []
    check("untouched: only rb's rcode (the hang on ra and the delay on rb were met)",
          untouched == [("rcode", "rb")], repr(untouched))
    check("the failed publish is a warning naming the scenario line",
          re.search(r"dnschaos: warning: .*remote\.lua:\d+: remote 'ra': publish "
                    r"/nonexistent/internal\.zone: error /nonexistent/internal\.zone", out), out)
    check("the timeline function's checks ran",
          "remote rcode took effect and healed" in out and "remote publish served" in out, out)
    if not os.path.exists(hist):
        check("a history was written", False)
        return
    lines = [json.loads(l) for l in open(hist)]
    remote = [l for l in lines if l["type"] == "remote"]
    faults = [l for l in lines if l["type"] == "fault"]
    states = [l for l in lines if l["type"] == "state" and l.get("resolver") in ("ra", "rb")]

    def find(seq, **kw):
        return [l for l in seq if all(l.get(k) == v for k, v in kw.items())]

    for target, cmd in (("ra", "hang"), ("rb", "delay ms=30.000 jitter=0.000 dist=constant "
                                                "duration=1.000"),
                        ("rb", "rcode rcode=REFUSED name=api.internal."), ("rb", "stop"),
                        ("rb", "start"), ("ra", "publish " + v2)):
        got = find(remote, target=target, command=cmd, ok=True)
        check("remote line: %s %s" % (target, cmd), len(got) == 1, json.dumps(remote, indent=0))
    check("remote lines: the authentication first, with the control address",
          find(remote, target="ra", command="auth", reply="ok authenticated",
               control="127.0.0.1:%d" % a.cport) and remote[0]["command"] == "auth" and
          all(l["control"] in ("127.0.0.1:%d" % a.cport, "127.0.0.1:%d" % b.cport)
              for l in remote), json.dumps(remote[:3]))
    bad = find(remote, target="ra", command="publish /nonexistent/internal.zone", ok=False)
    check("remote line: the failed publish with the daemon's error",
          len(bad) == 1 and bad[0]["reply"].startswith("error /nonexistent/internal.zone"),
          json.dumps(remote))
    ok_publish = find(remote, target="ra", command="publish " + v2)
    check("remote line: the publish's reply names the serial",
          ok_publish and "serial=2026112502" in ok_publish[0]["reply"])
    check("remote lines: the ids the daemon gave",
          all(re.match(r"ok id=\d+$", l["reply"]) for l in remote
              if l["command"].split()[0] in ("hang", "delay", "rcode", "stop")),
          json.dumps(remote))

    def inject_heal(target, kind, dur=None):
        inj = find(faults, target=target, fault=kind, action="inject")
        if len(inj) != 1:
            return None
        heal = find(faults, target=target, fault=kind, action="heal", id=inj[0]["id"])
        if len(heal) != 1 or (dur is not None and inj[0].get("duration") != dur):
            return None
        return inj[0], heal[0]

    for target, kind, dur in (("ra", "hang", None), ("rb", "delay", 1.0), ("rb", "rcode", None),
                              ("rb", "stop", None)):
        check("fault lines: %s %s injected and healed" % (target, kind),
              inject_heal(target, kind, dur) is not None, json.dumps(faults))
    hang = inject_heal("ra", "hang")
    if hang:
        # Recorded when the daemon confirms: not before the entry's time, and
        # (with margins for a loaded machine) not long after.
        check("the timeline's hang: injected at 1 s, healed at 2.2 s",
              1.0 <= hang[0]["t"] < 2.2 <= hang[1]["t"] < 4.5,
              "%r %r" % (hang[0]["t"], hang[1]["t"]))
    delay = inject_heal("rb", "delay", 1.0)
    if delay:
        check("the delay's heal comes from its duration",
              0.9 <= delay[1]["t"] - delay[0]["t"] < 3, "%r" % (delay[1]["t"] - delay[0]["t"]))
    rc = inject_heal("rb", "rcode")
    if rc:
        check("the rcode fault's inject line has its match",
              rc[0].get("rcode") == "REFUSED" and rc[0].get("name") == "api.internal.", rc[0])
    check("state lines: both up at start, rb down and up again",
          len(find(states, resolver="ra", state="up", why="connected")) == 1 and
          len(find(states, resolver="rb", state="down", why="stop")) == 1 and
          len(find(states, resolver="rb", state="up", why="start")) == 1, json.dumps(states))
    routes = [l for l in lines if l["type"] == "route"]
    backends = {l.get("backend") for l in routes}
    check("route lines name the remote backends", {"ra", "rb"} <= backends, repr(backends))
    # The daemons' queries, streamed over their control connections.
    for name, d in (("ra", a), ("rb", b)):
        w = find(remote, target=name, command="watch")
        check("remote line: %s watch, ok now=T, with its round trip" % name,
              len(w) == 1 and w[0]["ok"] and re.match(r"ok now=\d+\.\d{6}$", w[0]["reply"]) and
              0 <= w[0].get("rtt_ms", -1) < 1000, json.dumps(w))
    rq = [l for l in lines if l["type"] == "query" and l.get("resolver") in ("ra", "rb")]
    check("query lines of both remotes, each marked remote",
          {l["resolver"] for l in rq} == {"ra", "rb"} and all(l.get("remote") is True for l in rq),
          "%d lines" % len(rq))
    lk = {l["id"]: l for l in lines if l["type"] == "lookup" and l["event"] != "invoke"}
    direct_ok = [i for i, l in lk.items() if l["client"] == "direct" and l["event"] == "ok"]
    joined = {l["lookup"] for l in rq if l["resolver"] == "rb" and l.get("client") == "direct"}
    check("every ok lookup of the client asking rb directly has rb's query line joined",
          direct_ok and all(i in joined for i in direct_ok),
          "%d of %d" % (len([i for i in direct_ok if i in joined]), len(direct_ok)))
    if hang:
        hq = [l for l in rq if l["resolver"] == "ra" and l.get("fault") == hang[0]["id"]]
        check("ra's hung queries: dropped, with the run's fault id, while it was on",
              hq and all(l["action"] == "dropped" and
                         hang[0]["t"] - 0.01 <= l["t"] <= hang[1]["t"] + 0.01 for l in hq),
              json.dumps(hq[:3]))
    if delay:
        dq = [l for l in rq if l["resolver"] == "rb" and l.get("delay_fault") == delay[0]["id"]]
        check("rb's delayed queries: delay_ms 30 with the run's id, some joined to direct's",
              dq and all(abs(l["delay_ms"] - 30) < 0.01 for l in dq) and
              any(l.get("client") == "direct" for l in dq), json.dumps(dq[:3]))
    cap = inject_heal("rb", "capacity", 1.0)
    check("fault lines: rb capacity injected and healed", cap is not None, json.dumps(faults))
    if cap:
        kq = [l for l in rq if l["resolver"] == "rb" and l.get("fault") == cap[0]["id"]]
        waited = [l for l in kq if l.get("queue_ms", 0) > 0 and l.get("client") == "direct"]
        check("rb's capacity: queries that waited in its queue, joined to direct's lookups, "
              "with their wait",
              waited and all("lookup" in l and l["action"] == "answered" for l in waited),
              json.dumps(kq[:4]))
    if rc:
        cq = [l for l in rq if l["resolver"] == "rb" and l.get("fault") == rc[0]["id"]]
        check("rb's rcode: s:query's api.internal answered REFUSED with the run's id, "
              "joined to no lookup",
              len(cq) == 1 and cq[0]["action"] == "rcode" and cq[0]["rcode"] == "REFUSED" and
              cq[0]["qname"] == "api.internal." and "lookup" not in cq[0], json.dumps(cq))
    try:
        import jsonschema  # noqa: F401
        ch = subprocess.run([sys.executable, os.path.join(root, "tests", "e2e", "check_history.py"),
                             "--schema", os.path.join(root, "docs", "history.schema.json"), hist],
                            capture_output=True, text=True, timeout=60)
        check("check_history.py accepts the history", ch.returncode == 0, ch.stdout + ch.stderr)
    except ImportError:
        print("check_history.py skipped: no python3-jsonschema")

    # After the run: the daemons serve what was published and hold no fault.
    for d, tag in ((a, "a"), (b, "b")):
        c = rd.Ctl(d.cport, tokens[tag])
        st = c.cmd("status")
        c.close()
        check("no fault left on %s after the run" % tag, '"faults":[]' in st, st)
        check("%s answers after the run" % tag, rd.answers(d.port))
    soa, _ = rd.udp(a.port, "internal", qtype=6)
    check("ra serves the published serial", soa and soa[3] == 2026112502, repr(soa))

    # Lifecycle faults on a remote daemon are judged as a local resolver's: its
    # state lines say when it was down. Only a stop and a start: PASS.
    lines_ = text.split("\n")
    keep = [l for l in lines_ if not re.match(r"s:at\((1\.0|2\.2|3\.[67]), ", l)]
    life = "\n".join(keep)
    life = life[:life.index("-- From a timeline function")] + life[life.index("-- A client that"):]
    scen2 = os.path.join(work, "remote_life.lua")
    with open(scen2, "w") as f:
        f.write(life)
    p = subprocess.run([dnschaos, "run", scen2, "--no-sandbox"], capture_output=True, text=True,
                       timeout=40)
    check("a stop and start on a remote, met by a client: PASS (exit 0)",
          p.returncode == 0 and "verdict: PASS" in p.stdout + p.stderr,
          "rc=%d\n%s%s" % (p.returncode, p.stdout, p.stderr))

    # The harness killed mid-run (SIGKILL: no end, no heal sent): what it set
    # without a duration heals when the kernel closes its connections.
    killed = os.path.join(work, "remote_kill.lua")
    with open(killed, "w") as f:
        f.write(text[:text.index("local vip")] +
                's:at(0.2, a, "hang")\ns:at(0.2, b, "stop")\n')
    k = subprocess.Popen([dnschaos, "run", killed, "--no-sandbox"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    ca, cb = rd.Ctl(a.cport, tokens["a"]), rd.Ctl(b.cport, tokens["b"])
    both = rd.wait_until(lambda: '"kind":"hang"' in ca.cmd("status") and
                         '"kind":"stop"' in cb.cmd("status"), limit=10)
    check("killed run: its hang and stop were in force", both and not rd.answers(b.port))
    k.kill()
    k.wait()
    check("killed run: every fault healed once it was gone",
          rd.wait_until(lambda: '"faults":[]' in ca.cmd("status") and
                        '"faults":[]' in cb.cmd("status"), limit=5))
    check("killed run: both answer again", rd.answers(a.port) and rd.answers(b.port))
    ca.close()
    cb.close()

    # A wrong token: the run fails before it starts, and says why.
    write_token(os.path.join(work, "b.token"), "x" * 40)
    p = subprocess.run([dnschaos, "run", scen, "--no-sandbox"], capture_output=True, text=True,
                       timeout=30)
    check("a wrong token fails the run at start",
          p.returncode not in (0, 1, 2) and "remote 'rb'" in p.stderr and
          "refused the token" in p.stderr, "rc=%d %s" % (p.returncode, p.stderr))
    # A token file others can read is refused, naming the file.
    os.chmod(os.path.join(work, "b.token"), 0o644)
    p = subprocess.run([dnschaos, "run", scen, "--no-sandbox"], capture_output=True, text=True,
                       timeout=30)
    check("a token file of mode 0644 is refused", p.returncode == 3 and
          re.search(r"remote\.lua:\d+: remote 'rb': token_file .*mode 0644", p.stderr),
          "rc=%d %s" % (p.returncode, p.stderr))

    write_token(os.path.join(work, "b.token"), tokens["b"])
    os.chmod(os.path.join(work, "b.token"), 0o600)

    # A daemon that dies mid-run: a warning and remote lines, not a crash; its
    # hang is recorded healed (the daemon's end ended it) and the heal that
    # follows is recorded as not sent.
    dies = os.path.join(work, "remote_dies.lua")
    with open(dies, "w") as f:
        f.write(text[:text.index("local vip")].replace("duration = 5.5", "duration = 3") +
                's:at(0.2, b, "hang")\ns:at(2.0, b, "heal")\n')
    hist3 = os.path.join(work, "remote_dies.jsonl")
    k = subprocess.Popen([dnschaos, "run", dies, "--no-sandbox", "--history", hist3],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cb = rd.Ctl(b.cport, tokens["b"])
    rd.wait_until(lambda: '"kind":"hang"' in cb.cmd("status"), limit=10)
    cb.close()
    b.p.kill()
    b.p.wait()
    out3, _ = k.communicate(timeout=30)
    check("a daemon dead mid-run: the run still ends with its verdict", k.returncode in (0, 2),
          "rc=%d %s" % (k.returncode, out3))
    check("a daemon dead mid-run: a warning", re.search(
        r"warning: .*remote 'rb': control connection lost", out3), out3)
    l3 = [json.loads(l) for l in open(hist3)] if os.path.exists(hist3) else []
    r3 = [l for l in l3 if l["type"] == "remote" and l["target"] == "rb"]
    check("a daemon dead mid-run: recorded as lost, its heal as not sent",
          any(l["reply"].startswith("error connection lost") for l in r3) and
          any(l["command"] == "heal" and l["reply"] == "error not connected" for l in r3),
          json.dumps(r3))
    f3 = [l for l in l3 if l["type"] == "fault" and l["target"] == "rb"]
    check("a daemon dead mid-run: its hang injected and healed",
          [x["action"] for x in f3] == ["inject", "heal"], json.dumps(f3))

if __name__ == "__main__":
    main()
