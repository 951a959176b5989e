#!/usr/bin/env python3
"""Remote fake resolvers on another host of a real network (--allow-non-loopback).

The test builds a two-host network of its own: it re-runs itself in a new
user and network namespace (unshare -r -n: the "near" host, where dnschaos
runs), makes a second network namespace (the "far" host) and joins them
with a veth pair, the only interface besides lo on either side (checked).
Nothing leaves these namespaces: no route leads anywhere else.

On the far host, two fakeresolver daemons on 10.253.0.2 (DNS on ports 5301
and 5302, control on 7001 and 7002 of the same address), started with
--allow-non-loopback. Then, from the near host:

- refusals: without --allow-non-loopback the s:remote line is refused
  naming the flag (exit 3, file:line), for the DNS address and for a control
  address alone; --sandbox with the flag is refused before anything runs;
  in the sandbox (where the kernel gives one) the s:remote line says to
  pass --no-sandbox; a loopback `source` (and source = true) with a target
  on the far host is refused; a client's literal far target stays refused
  with the flag;
- the run (--no-sandbox --allow-non-loopback): a userspace VIP over both
  daemons with alive health checks, a c-ares client through it and a c-ares
  and an ldns client asking one daemon directly. Lookups succeed, route lines
  name both remote backends with their lookups joined, s:query reaches the
  far daemon (an answer, then a port unreachable from the far host after the
  stop), the `stop` on rb meets queries the VIP had pinned to it (route
  `refused-icmp`: the far host's port unreachable relayed to the client),
  the health checks take rb down and up again, and detection_time passes
  (exit 0); `dnschaos check` judges the same history the same way; the
  history passes check_history.py (with python3-jsonschema). When the
  history holds the daemons' own query lines, the VIP's forwards (from the
  same host address as the direct clients) are never joined to a client;
- a broken variant (no health checks: the VIP keeps sending to the stopped
  daemon) FAILs (exit 1);
- a suite (--jobs 1) passes the flag to its run (exit 0), and without it the
  run is refused (exit 3);
- docs/gameday.md's example ("Daemons on other hosts"), as written: its
  daemons on 192.0.2.53 and 192.0.2.54 port 53 with control on the far
  host's own loopback, reached through a forwarder standing in for its ssh
  tunnels (127.0.0.1:7001 and :7002 on the near host), its scenario run with
  its command line, PASS.

Usage: remote_network.py DNSCHAOS FAKERESOLVER REPO_ROOT
Exit 0 pass, 1 fail, 77 skipped (no unshare, ip or nsenter; no user and
network namespaces or no veth pair in them here).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

INNER = "DNSCHAOS_RNET_INNER"
FAILS = []
PASSES = 0

# The far host's addresses: the test's own (the doc's are TEST-NET-1's).
NEAR, FAR = "10.253.0.1", "10.253.0.2"

SCENARIO = r'''
local s = scenario{ name = "remote daemons on another host", duration = 4.5, seed = 5 }
local a = s:remote{ name = "ra", address = "@FAR@:5301", control = "@FAR@:7001",
                    token_file = "a.token" }
local b = s:remote{ name = "rb", address = "@FAR@:5302", control = "@FAR@:7002",
                    token_file = "b.token" }
local vip = s:vip{ name = "vip", backends = { a, b }@HEALTH@ }
s:client{ name = "app", stack = "c-ares", target = vip, names = "web.internal", rate = 40,
          from = 0.1, timeout = 1 }
s:client{ name = "direct", stack = "c-ares", target = a, names = "db-primary.internal",
          rate = 20, from = 0.1 }
s:client{ name = "direct2", stack = "ldns", target = a, names = "db-primary.internal",
          rate = 5, from = 0.1 }
s:at(1.5, b, "stop")
s:at(3.0, b, "start")
s:at(0.5, function()
  local res = s:query(a, "web.internal")
  assert(res.ok and res.rcode == "NOERROR" and #res.answers > 0,
         "s:query over the network: " .. res.status .. " " .. tostring(res.error))
  print("far query answered: " .. res.answers[1])
end)
s:at(2.0, function()
  local res = s:query(b, "web.internal", "A", { timeout = 0.5 })
  assert(res.status == "refused", "stopped far daemon: " .. res.status)
  print("far stop refused")
end)
s:expect{ "the VIP stops sending to rb", detection_time{ backend = "rb", vip = "vip" },
          at_most = 1 }
s:expect{ "direct lookups succeed", success_rate{ client = "direct" }, at_least = 0.9,
          baseline = true }
'''
HEALTH = (',\n                   health = { check = "alive", interval = 0.2, timeout = 0.1, '
          'rise = 2, fall = 2, initial = "up" }')


def die_with_us():
    """preexec_fn: the child (and what it execs) is killed when this process ends."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


def check(what, ok, detail=""):
    global PASSES
    if ok:
        PASSES += 1
        print("ok: " + what, flush=True)
    else:
        FAILS.append(what)
        print("FAIL: %s %s" % (what, detail), flush=True)


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


# ---- outside: can this machine make the namespaces? ----

def part_sandbox(binary):
    """The sandbox and the flag, on this host: refused before any address is used."""
    work = tempfile.mkdtemp(prefix="remote-network-sbx-")
    for t in ("a", "b"):
        write_token(os.path.join(work, t + ".token"), "%s-%s" % (t, os.urandom(16).hex()))
    scen = write(os.path.join(work, "net.lua"),
                 SCENARIO.replace("@FAR@", FAR).replace("@HEALTH@", HEALTH))
    rc, out = dnschaos(binary, ["run", scen, "--sandbox", "--allow-non-loopback"], work)
    check("--sandbox with --allow-non-loopback: refused at once, saying --no-sandbox",
          rc == 3 and "--allow-non-loopback" in out and "give --no-sandbox with it" in out and
          "net.lua" not in out, "rc=%d %s" % (rc, out))
    # Only where the sandbox is there: without one this run would play on the
    # host, whose network the test must not send to.
    triv = write(os.path.join(work, "triv.lua"), 'scenario{ name = "t", duration = 0.1 }\n')
    p = subprocess.run([binary, "run", triv, "--sandbox"], capture_output=True, text=True,
                       timeout=60, cwd=work)
    if p.returncode != 0:
        print("no sandbox here (%s): its refusal is not checked" % p.stderr.strip()[:160])
    else:
        p = subprocess.run([binary, "run", scen, "--allow-non-loopback"], capture_output=True,
                           text=True, timeout=60, cwd=work)
        check("in the sandbox: the s:remote line says it cannot reach another host, and what "
              "to pass", p.returncode == 3 and re.search(
                  r"net\.lua:3: remote 'ra': address 10\.253\.0\.2:5301 is on another host, "
                  r"and the run is in its sandbox.*--no-sandbox --allow-non-loopback", p.stderr),
              "rc=%d %s" % (p.returncode, p.stderr))
    shutil.rmtree(work, ignore_errors=True)


def outer():
    for tool in ("unshare", "ip", "nsenter", "timeout"):
        if not shutil.which(tool):
            skip("%s is not installed" % tool)
    probe = subprocess.run(
        ["timeout", "20", "unshare", "-r", "-n", "sh", "-c",
         "ip link add rnet0 type veth peer name rnet1 && unshare -n true"],
        capture_output=True, text=True)
    if probe.returncode != 0:
        skip("no user and network namespaces with a veth pair here (unshare -r -n; ip link "
             "add type veth): " + (probe.stderr.strip() or "exit %d" % probe.returncode))
    part_sandbox(os.path.abspath(sys.argv[1]))
    env = dict(os.environ)
    env[INNER] = "1"
    p = subprocess.run(["timeout", "-k", "5", "200", "unshare", "-r", "-n", sys.executable,
                        os.path.abspath(__file__)] + sys.argv[1:], env=env)
    print("outside the namespaces: %d passed, %d failed" % (PASSES, len(FAILS)))
    return p.returncode if p.returncode != 0 or not FAILS else 1


# ---- inside: the near host ----

def sh(*cmd, far=None):
    """Runs cmd (in the far host when far is its holder's pid); fails the test on error."""
    full = (["nsenter", "-t", str(far), "-n"] if far else []) + list(cmd)
    p = subprocess.run(full, capture_output=True, text=True, timeout=20)
    if p.returncode != 0:
        sys.exit("%s: exit %d: %s" % (" ".join(full), p.returncode, p.stderr))
    return p.stdout


def links(far=None):
    """The interface names of a namespace."""
    out = sh("ip", "-o", "link", "show", far=far)
    return sorted(l.split(":")[1].strip().split("@")[0] for l in out.splitlines())


def network():
    """The far host (a holder process in a network namespace of its own) and the veth."""
    sh("ip", "link", "set", "lo", "up")
    holder = subprocess.Popen(["unshare", "-n", "sleep", "600"], preexec_fn=die_with_us)
    mine = os.readlink("/proc/self/ns/net")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if os.readlink("/proc/%d/ns/net" % holder.pid) != mine:
                break
        except OSError:
            pass
        time.sleep(0.02)
    else:
        sys.exit("the far host's namespace did not appear")
    pid = holder.pid
    sh("ip", "link", "add", "rnet-near", "type", "veth", "peer", "name", "rnet-far")
    sh("ip", "link", "set", "rnet-far", "netns", str(pid))
    sh("ip", "addr", "add", NEAR + "/24", "dev", "rnet-near")
    sh("ip", "addr", "add", "192.0.2.1/24", "dev", "rnet-near")
    sh("ip", "link", "set", "rnet-near", "up")
    for cmd in (["ip", "link", "set", "lo", "up"],
                ["ip", "addr", "add", FAR + "/24", "dev", "rnet-far"],
                ["ip", "addr", "add", "192.0.2.53/24", "dev", "rnet-far"],
                ["ip", "addr", "add", "192.0.2.54/24", "dev", "rnet-far"],
                ["ip", "link", "set", "rnet-far", "up"],
                # Linux sends a destination at most about one port unreachable a
                # second after a burst of 6 (icmp_ratelimit, 1000 ms); over lo it
                # is not limited. The far host sends every one, so that a stopped
                # daemon's closed port is seen each time (docs/gameday.md).
                ["sh", "-c", "echo 0 > /proc/sys/net/ipv4/icmp_ratelimit"]):
        sh(*cmd, far=pid)
    check("the near host has lo and the veth only", links() == ["lo", "rnet-near"], links())
    check("the far host has lo and the veth only", links(pid) == ["lo", "rnet-far"], links(pid))
    return holder


class Daemon:
    """A fakeresolver on the far host."""

    def __init__(self, binary, far, listen, control, zone, token, work, tag):
        self.err = open(os.path.join(work, tag + ".err"), "w+")
        self.p = subprocess.Popen(["nsenter", "-t", str(far), "-n", binary, "--listen", listen,
                                   "--zone", zone, "--control", control,
                                   "--control-token-file", token, "--allow-non-loopback"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=self.err, preexec_fn=die_with_us)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "ready" in self.text():
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        sys.exit("daemon %s did not start:\n%s" % (tag, self.text()))

    def text(self):
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


# What stands in for `ssh -N -L 127.0.0.1:PORT:HOST:7001 dns-x`: it accepts on
# a socket of the near host (passed in: a socket keeps its namespace) and
# connects, in the far host's namespace, to the daemon's control address.
FORWARDER = r'''
import socket, sys, threading
ls = socket.socket(fileno=int(sys.argv[1]))
host, port = sys.argv[2], int(sys.argv[3])
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = ls.accept()
    try:
        u = socket.create_connection((host, port), timeout=5)
    except OSError:
        c.close()
        continue
    u.settimeout(None)
    for x, y in ((c, u), (u, c)):
        threading.Thread(target=pump, args=(x, y), daemon=True).start()
'''


def tunnel(far, near_port, host, port):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", near_port))
    ls.listen(8)
    p = subprocess.Popen(["nsenter", "-t", str(far), "-n", sys.executable, "-c", FORWARDER,
                          str(ls.fileno()), host, str(port)], pass_fds=[ls.fileno()],
                         stdin=subprocess.DEVNULL, preexec_fn=die_with_us)
    ls.close()
    return p


def write_token(path, token):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (token + "\n").encode())
    os.close(fd)


def dnschaos(binary, args, cwd, timeout=60):
    p = subprocess.run([binary] + args, capture_output=True, text=True, timeout=timeout,
                       cwd=cwd, preexec_fn=die_with_us)
    return p.returncode, p.stdout + p.stderr


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def part_refusals(binary, work, scen):
    rc, out = dnschaos(binary, ["run", scen, "--no-sandbox"], work)
    check("without --allow-non-loopback: exit 3 at the s:remote line, naming the flag",
          rc == 3 and re.search(r"net\.lua:3: remote 'ra': address 10\.253\.0\.2:5301 is not a "
                                r"loopback address: .*--allow-non-loopback", out),
          "rc=%d %s" % (rc, out))
    ctl = write(os.path.join(work, "ctl.lua"),
                'local s = scenario{ name = "x", duration = 1 }\n'
                's:remote{ name = "ra", address = "127.0.0.1:5301", control = "%s:7001", '
                'token_file = "a.token" }\n' % FAR)
    rc, out = dnschaos(binary, ["run", ctl, "--no-sandbox"], work)
    check("a control address alone off loopback needs the flag too",
          rc == 3 and re.search(r"ctl\.lua:2: remote 'ra': control 10\.253\.0\.2:7001 is not a "
                                r"loopback address: .*--allow-non-loopback", out),
          "rc=%d %s" % (rc, out))
    head = ('local s = scenario{ name = "x", duration = 1 }\n'
            'local a = s:remote{ name = "ra", address = "%s:5301", control = "%s:7001", '
            'token_file = "a.token" }\n' % (FAR, FAR))
    for tag, extra, want in (
            ("src", 'source = "127.0.100.9"',
             r"src\.lua:3: client app: source 127\.0\.100\.9 is a loopback address, and target "
             r"10\.253\.0\.2:5301 is on another host"),
            ("srctrue", "source = true",
             r"srctrue\.lua:3: client app: source = true binds a 127\.0\.100\.x address")):
        f = write(os.path.join(work, tag + ".lua"), head +
                  's:client{ name = "app", stack = "c-ares", target = a, names = "web.internal", '
                  'rate = 1, %s }\n' % extra)
        rc, out = dnschaos(binary, ["run", f, "--no-sandbox", "--allow-non-loopback"], work)
        check("a loopback source with a far target is refused (%s)" % extra,
              rc == 3 and re.search(want, out), "rc=%d %s" % (rc, out))
    f = write(os.path.join(work, "lit.lua"),
              'local s = scenario{ name = "x", duration = 1 }\n'
              's:client{ name = "app", stack = "c-ares", target = "%s:5301", '
              'names = "web.internal", rate = 1 }\n' % FAR)
    rc, out = dnschaos(binary, ["run", f, "--no-sandbox", "--allow-non-loopback"], work)
    check("a client's own far target, not a remote daemon, stays refused with the flag",
          rc == 3 and "lit.lua:2: client app: target 10.253.0.2:5301 is not a loopback" in out,
          "rc=%d %s" % (rc, out))


def part_run(binary, work, scen, root):
    hist = os.path.join(work, "net.jsonl")
    rc, out = dnschaos(binary, ["run", scen, "--no-sandbox", "--allow-non-loopback",
                                "--history", hist], work)
    check("the run over the network passes (exit 0)", rc == 0 and "verdict: PASS" in out,
          "rc=%d\n%s" % (rc, out))
    check("s:query reached the far daemon, and met its closed port after the stop",
          "far query answered: 10.20.1.10" in out and "far stop refused" in out, out)
    if not os.path.exists(hist):
        check("a history was written", False)
        return
    lines = [json.loads(l) for l in open(hist)]
    remote = [l for l in lines if l["type"] == "remote"]
    check("the control connections went to the far host",
          {l["control"] for l in remote} == {FAR + ":7001", FAR + ":7002"} and
          all(l["ok"] for l in remote), json.dumps(remote))
    route = [l for l in lines if l["type"] == "route"]
    fwd = [l for l in route if l["action"] == "forwarded"]
    check("route lines name both remote backends",
          {l["backend"] for l in fwd} == {"ra", "rb"}, repr({l["backend"] for l in fwd}))
    joined = [l for l in fwd if l.get("client") == "app" and l.get("lookup")]
    check("route lines are joined to the client's lookups",
          len(joined) >= 0.9 * len(fwd) and fwd, "%d of %d" % (len(joined), len(fwd)))
    stop_t = next((l["t"] for l in lines if l["type"] == "state" and
                   l.get("resolver") == "rb" and l["state"] == "down"), None)
    icmp = [l for l in route if l["action"] == "refused-icmp" and l["backend"] == "rb"]
    vipline = next((l for l in lines if l["type"] == "vip"), {})
    check("the far host's port unreachable was relayed to the VIP's clients",
          vipline.get("icmp") is True and icmp and stop_t is not None and
          all(l["t"] >= stop_t for l in icmp), "%r %d %r" % (vipline, len(icmp), stop_t))
    health = [(l["event"], round(l["t"], 1)) for l in lines if l["type"] == "health" and
              l.get("backend") == "rb" and l["event"] in ("down", "up")]
    check("the health checks took rb down after its stop and up after its start",
          [e for e, _ in health] == ["down", "up"] and health[0][1] >= 1.5 and
          health[1][1] >= 3.0, repr(health))
    lookups = {}
    for l in lines:
        if l["type"] == "lookup" and l["event"] != "invoke":
            lookups.setdefault(l["client"], []).append(l["event"])
    for c, least in (("direct", 40), ("direct2", 8), ("app", 80)):
        got = lookups.get(c, [])
        check("client %s asked the far daemon and was answered" % c,
              len(got) >= least and got.count("ok") >= 0.9 * len(got),
              "%d lookups, %d ok" % (len(got), got.count("ok")))
    # The daemons' own query lines, where the history has them: a query the
    # VIP forwarded leaves from the address the direct clients use, and must
    # never be taken for theirs.
    q = [l for l in lines if l["type"] == "query" and l.get("resolver") in ("ra", "rb")]
    if q:
        rb_joined = [l for l in q if l["resolver"] == "rb" and l.get("client")]
        check("no query the VIP forwarded to rb is joined to a client", not rb_joined,
              json.dumps(rb_joined[:3]))
        ra_web = [l for l in q if l["resolver"] == "ra" and l.get("qname", "").rstrip(".") == "web.internal"]
        check("no query the VIP forwarded to ra is joined to a client",
              not [l for l in ra_web if l.get("client") or l.get("join")],
              json.dumps(ra_web[:3]))
        ra_db = [l for l in q if l["resolver"] == "ra" and l.get("qname", "").rstrip(".") == "db-primary.internal"]
        check("the direct clients' queries to ra are joined (or ambiguous between them)",
              ra_db and all(l.get("client") in ("direct", "direct2") or
                            l.get("join") == "ambiguous" for l in ra_db),
              json.dumps(ra_db[:3]))
        joined = [l for l in ra_db if l.get("client")]
        print("ra's direct queries: %d, %d joined to a lookup, %d ambiguous" %
              (len(ra_db), len(joined), len(ra_db) - len(joined)))
        check("most of the direct clients' queries to ra are joined to a lookup",
              len(joined) >= 0.8 * len(ra_db), "%d of %d" % (len(joined), len(ra_db)))
    else:
        check("the remote daemons' queries are in the history (watch)", False,
              "no query line of ra or rb")
    rc2, out2 = dnschaos(binary, ["check", hist, scen], work)
    check("dnschaos check judges the history the same way, without the flag",
          rc2 == 0 and "verdict: PASS" in out2, "rc=%d %s" % (rc2, out2))
    try:
        import jsonschema  # noqa: F401
        ch = subprocess.run([sys.executable, os.path.join(root, "tests", "e2e",
                                                          "check_history.py"), hist],
                            capture_output=True, text=True, timeout=60)
        check("check_history.py accepts the history", ch.returncode == 0, ch.stdout + ch.stderr)
    except ImportError:
        print("check_history.py skipped: no python3-jsonschema")


def part_broken(binary, work):
    scen = write(os.path.join(work, "broken.lua"),
                 SCENARIO.replace("@FAR@", FAR).replace("@HEALTH@", "")
                 .replace('name = "remote daemons on another host"',
                          'name = "remote daemons on another host, no health checks"'))
    rc, out = dnschaos(binary, ["run", scen, "--no-sandbox", "--allow-non-loopback"], work)
    check("without health checks the VIP never stops sending to the stopped daemon: FAIL "
          "(exit 1)", rc == 1 and re.search(r"the VIP stops sending to rb .*FAIL", out),
          "rc=%d\n%s" % (rc, out))


def part_suite(binary, work, scen):
    """A suite gives the flag to each of its runs."""
    rc, out = dnschaos(binary, ["run", scen, "--jobs", "1", "--no-sandbox",
                                "--allow-non-loopback", "-q"], work)
    check("a suite passes --allow-non-loopback to its runs (exit 0)", rc == 0,
          "rc=%d\n%s" % (rc, out))
    js = os.path.join(work, "suite.json")
    rc, out = dnschaos(binary, ["run", scen, "--jobs", "1", "--no-sandbox", "-q", "--json", js],
                       work)
    text = open(js).read() if os.path.exists(js) else ""
    check("a suite without it: its run is refused at the s:remote line (exit 3)",
          rc == 3 and re.search(r"net\.lua:3: remote 'ra': address .*--allow-non-loopback", text),
          "rc=%d\n%s\n%s" % (rc, out, text))


def fenced_after(text, marker):
    """The body of the first fenced block after marker."""
    i = text.index(marker)
    a = text.index("```", i)
    a = text.index("\n", a) + 1
    return text[a:text.index("\n```", a)]


def part_doc(binary, fr, far, work, root, zone):
    """docs/gameday.md's example, as written: hosts 192.0.2.53 and .54, control tunnelled."""
    doc = open(os.path.join(root, "docs", "gameday.md"), encoding="utf-8").read()
    lua = fenced_after(doc, "<!-- remote_network.py: the scenario -->")
    cmd = fenced_after(doc, "<!-- remote_network.py: the run -->").strip().split()
    d = os.path.join(work, "doc")
    os.makedirs(os.path.join(d, "scenarios"))
    check("doc: the run command is dnschaos run with the flags",
          cmd[:2] == ["dnschaos", "run"] and "--allow-non-loopback" in cmd and
          "--no-sandbox" in cmd, repr(cmd))
    path = os.path.join(d, cmd[2])
    write(path, lua)
    names = re.findall(r'token_file = "([^"]+)"', lua)
    addrs = re.findall(r'address = "([\d.]+):(\d+)"', lua)
    controls = re.findall(r'control = "127\.0\.0\.1:(\d+)"', lua)
    check("doc: two daemons, each with its tunnelled control",
          len(names) == 2 and len(addrs) == 2 and len(controls) == 2, lua)
    daemons, tunnels = [], []
    try:
        for i, (tok, (ip, port), cport) in enumerate(zip(names, addrs, controls)):
            tpath = os.path.join(os.path.dirname(path), tok)
            write_token(tpath, "doc-%d-%s" % (i, os.urandom(16).hex()))
            # each host's control on its own loopback: 127.0.0.1 and 127.0.0.2 of the far host
            far_ctl = "127.0.0.%d" % (i + 1)
            daemons.append(Daemon(fr, far, "%s:%s" % (ip, port), far_ctl + ":7001", zone, tpath,
                                  work, "doc%d" % i))
            tunnels.append(tunnel(far, int(cport), far_ctl, 7001))
        rc, out = dnschaos(binary, cmd[1:], d)
        check("doc: the example passes (exit 0)", rc == 0 and "verdict: PASS" in out,
              "rc=%d\n%s" % (rc, out))
        hist = os.path.join(d, cmd[cmd.index("--history") + 1])
        lines = [json.loads(l) for l in open(hist)] if os.path.exists(hist) else []
        check("doc: its s:log line says dns-a answered",
              any(l["type"] == "log" and "dns-a answers: answer NOERROR" in l.get("message", "")
                  for l in lines), json.dumps([l for l in lines if l["type"] == "log"]))
    finally:
        for t in tunnels:
            t.kill()
            t.wait()
        for x in daemons:
            x.stop()


def inner():
    binary, fr, root = (os.path.abspath(x) for x in sys.argv[1:4])
    zone = os.path.join(root, "scenarios", "zones", "internal.v2.zone")
    work = tempfile.mkdtemp(prefix="remote-network-")
    holder = network()
    far = holder.pid
    daemons = []
    try:
        return play(binary, fr, root, zone, work, far, daemons)
    finally:
        for d in daemons:
            d.stop()
        holder.kill()
        holder.wait()


def play(binary, fr, root, zone, work, far, daemons):
    try:
        for t in ("a", "b"):
            write_token(os.path.join(work, t + ".token"), "%s-%s" % (t, os.urandom(16).hex()))
        for i, t in enumerate(("a", "b")):
            daemons.append(Daemon(fr, far, "%s:%d" % (FAR, 5301 + i), "%s:%d" % (FAR, 7001 + i),
                                  zone, os.path.join(work, t + ".token"), work, t))
        scen = write(os.path.join(work, "net.lua"),
                     SCENARIO.replace("@FAR@", FAR).replace("@HEALTH@", HEALTH))
        part_refusals(binary, work, scen)
        part_run(binary, work, scen, root)
        part_broken(binary, work)
        part_suite(binary, work, scen)
    finally:
        for d in daemons:
            d.stop()
    part_doc(binary, fr, far, work, root, zone)
    if FAILS:
        for d in daemons:
            print("---- daemon stderr ----\n" + d.text())
    else:
        shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (PASSES, len(FAILS)))
    return 1 if FAILS else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(inner() if os.environ.get(INNER) == "1" else outer())
