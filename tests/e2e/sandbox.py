#!/usr/bin/env python3
"""sandbox.py - the sandbox (harness/sandbox.h, docs/sandbox.md) end to end.

Usage: sandbox.py DNSCHAOS ZONE PART

PART is one of:
  entry      inside: only lo (up), our resolv.conf and nsswitch.conf, a fresh
             pid namespace, another network namespace than the test's
  programs   getent ahosts, python3 socket.getaddrinfo and curl (against a
             listener the scenario starts inside) resolve farm names through
             the sandbox; the lookups are recorded with their answers and
             joined to their wire queries
  perclient  two exec clients with different targets and options each see
             their own /etc/resolv.conf
  kill       SIGKILL of the process the user started, and of the harness,
             mid-run: no process of the run, no mount, no namespace left
  signals    SIGINT and SIGTERM sent to the whole process group (timeout(1),
             a terminal's ^C) end the run once, interrupted, reports written;
             SIGHUP is passed on and the outer process dies of it
  resolvconf /etc/resolv.conf missing, a link to nothing (clear errors), a
             link to a file (followed), in a copy of /etc in a mount namespace;
             nscd's and systemd-resolved's sockets there hidden inside
  unpriv     as uid 65534 (setpriv): the sandbox works, the history is
             written in a folder that user owns
  nosandbox  --no-sandbox: the host's network namespace, an exec command
             without {server}/{port} refused as before
  unavailable  in a user namespace with user.max_user_namespaces=0: one
             line on stderr and the run goes on on the host; --sandbox: exit 4

Exit 77 (skipped, with the reason) when namespaces are not available to
this test at all, or a tool a part needs is missing; never a silent pass.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


class Checks:
    def __init__(self):
        self.failed = 0

    def ok(self, cond, what, detail=""):
        if cond:
            print(f"ok: {what}")
        else:
            self.failed += 1
            print(f"FAIL: {what}" + (f"\n  {detail}" if detail else ""))
        return cond


def run(bin_, scen, hist, *extra, timeout=60, prefix=()):
    cmd = list(prefix) + [bin_, "run", scen, "--history", hist] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def lines(hist):
    out = []
    with open(hist) as f:
        for ln in f:
            ln = ln.strip()
            if ln:
                try:
                    out.append(json.loads(ln))
                except ValueError:
                    pass  # a line cut by SIGKILL
    return out


def outputs(hist, client):
    return [l.get("output", "") for l in lines(hist)
            if l.get("type") == "lookup" and l.get("client") == client and "output" in l]


def python_exe():
    for p in ("/usr/bin/python3", sys.executable):
        if p and os.access(p, os.X_OK):
            return p
    return "python3"


def need_sandbox(bin_, work):
    """Skips unless `dnschaos run --sandbox` works here."""
    scen = os.path.join(work, "probe.lua")
    with open(scen, "w") as f:
        f.write('local s = scenario{ name = "probe", duration = 0.1 }\n')
    r = run(bin_, scen, os.path.join(work, "probe.jsonl"), "--sandbox")
    if r.returncode == 4 and "--sandbox:" in r.stderr:
        skip("namespaces are not available here: " + r.stderr.strip())
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        sys.exit(1)


def part_entry(c, bin_, zone, work):
    scen = os.path.join(work, "entry.lua")
    with open(scen, "w") as f:
        f.write(f'''local s = scenario{{ name = "entry", duration = 1.5 }}
local r1 = s:resolver{{ name = "r1", zone = s:zone("{zone}") }}
s:client{{ name = "look", stack = "exec", target = r1, names = "db.sbx.test", limit = 1,
          command = {{ "sh", "-c", "echo NET $(readlink /proc/self/ns/net); echo PID $(readlink /proc/self/ns/pid); tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sed 's/^/IF /'; cat /sys/class/net/lo/operstate | sed 's/^/LO /'; ls /proc | grep -c '^[0-9]' | sed 's/^/NPROC /'; echo COMM1 $(cat /proc/1/comm); echo COMM2 $(cat /proc/2/comm); grep -v '^#' /etc/resolv.conf | sed 's/^/RESOLV /'; grep '^hosts' /etc/nsswitch.conf | sed 's/^/NSS /'; echo 10.0.0.1" }} }}
''')
    hist = os.path.join(work, "entry.jsonl")
    r = run(bin_, scen, hist)
    c.ok(r.returncode == 0, "a sandboxed run completes", r.stderr)
    c.ok("no sandbox" not in r.stderr, "no 'no sandbox' line when the sandbox works", r.stderr)
    outs = outputs(hist, "look")
    out = outs[0] if outs else ""
    words = {}
    for ln in out.splitlines():
        k, _, v = ln.partition(" ")
        words.setdefault(k, []).append(v.strip())
    my_net = os.readlink("/proc/self/ns/net")
    my_pid = os.readlink("/proc/self/ns/pid")
    c.ok(words.get("NET", [""])[0] not in ("", my_net), "another network namespace",
         f"inside {words.get('NET')}, test {my_net}")
    c.ok(words.get("PID", [""])[0] not in ("", my_pid), "another pid namespace",
         f"inside {words.get('PID')}, test {my_pid}")
    c.ok(words.get("IF") == ["lo"], "only lo inside", out)
    c.ok(words.get("LO", [""])[0] in ("unknown", "up"), "lo is up", out)
    nproc = int(words.get("NPROC", ["999"])[0])
    c.ok(nproc <= 8, f"a fresh /proc of a fresh pid namespace ({nproc} processes)", out)
    c.ok(words.get("COMM1") == ["dnschaos-init"], "pid 1 is the sandbox's init", out)
    c.ok(words.get("COMM2") == [os.path.basename(bin_)[:15]], "pid 2 is the harness", out)
    # The exec client's own resolv.conf (target r1 on port 53), not the host's.
    c.ok(any(v.startswith("nameserver 127.") for v in words.get("RESOLV", [])),
         "the command's resolv.conf names the farm", out)
    with open("/etc/resolv.conf") as f:
        host = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    c.ok(not any(h in words.get("RESOLV", []) for h in host if h.startswith("nameserver")),
         "no nameserver of the host's", out)
    c.ok(words.get("NSS") == ["hosts: files dns"], "nsswitch.conf says hosts: files dns", out)


def part_programs(c, bin_, zone, work):
    if not shutil.which("curl"):
        skip("curl is not installed (apt-get install curl)")
    if not shutil.which("getent"):
        skip("getent is not installed")
    py = python_exe()
    scen = os.path.join(work, "programs.lua")
    # One client per name and one lookup in flight each: every wire query
    # can be joined to exactly one lookup.
    with open(scen, "w") as f:
        f.write(f'''local s = scenario{{ name = "programs", duration = 5 }}
local r1 = s:resolver{{ name = "r1", zone = s:zone("{zone}") }}
s:client{{ name = "srv", stack = "exec", target = r1, names = "ns1.sbx.test", limit = 1, timeout = 60,
          command = {{ "{py}", "-m", "http.server", "--bind", "127.0.0.1", "8053", "--directory", "/" }} }}
s:client{{ name = "curl", stack = "exec", target = r1, names = "web.sbx.test", from = 1.5, limit = 2,
          timeout = 3,
          command = {{ "curl", "-sS", "-o", "/dev/null", "--max-time", "2", "-w", "%{{remote_ip}}\\n",
                       "http://{{name}}:8053/" }} }}
s:client{{ name = "python", stack = "exec", target = r1, names = "db.sbx.test", limit = 2,
          command = {{ "{py}", "-c", "import socket,sys; print(' '.join(sorted({{a[4][0] for a in socket.getaddrinfo(sys.argv[1], 80, socket.AF_INET)}})))", "{{name}}" }} }}
s:client{{ name = "getent", stack = "exec", target = r1, names = "db2.sbx.test", limit = 2,
          command = {{ "getent", "ahosts", "{{name}}" }} }}
''')
    hist = os.path.join(work, "programs.jsonl")
    r = run(bin_, scen, hist, timeout=90)
    c.ok(r.returncode == 0, "the run completes", r.stderr)
    ls = lines(hist)
    want = {"curl": ("web.sbx.test", "127.0.0.1"), "python": ("db.sbx.test", "192.0.2.53"),
            "getent": ("db2.sbx.test", "192.0.2.54")}
    for client, (name, ip) in want.items():
        done = [l for l in ls if l.get("type") == "lookup" and l.get("client") == client
                and l.get("event") != "invoke"]
        oks = [l for l in done if l.get("event") == "ok"]
        c.ok(len(oks) >= 1 and all(l.get("answers") == [ip] for l in oks),
             f"{client} resolves {name} to {ip} through the sandbox", json.dumps(done)[:600])
        c.ok(all(l.get("wire", 0) >= 1 for l in oks),
             f"{client}'s lookups are joined to their wire queries", json.dumps(oks)[:600])
        qs = [l for l in ls if l.get("type") == "query" and l.get("qname") == name + "."]
        c.ok(qs and all(q.get("client") == client and q.get("join") != "ambiguous" for q in qs),
             f"every query for {name} is {client}'s", json.dumps(qs)[:600])


def part_perclient(c, bin_, zone, work):
    scen = os.path.join(work, "perclient.lua")
    with open(scen, "w") as f:
        f.write(f'''local s = scenario{{ name = "perclient", duration = 1.5 }}
local z = s:zone("{zone}")
local r1 = s:resolver{{ name = "r1", zone = z }}
local r2 = s:resolver{{ name = "r2", zone = z, address = "127.0.0.77" }}
s:client{{ name = "a", stack = "exec", target = r1, names = "db.sbx.test", limit = 1,
          ndots = 2, resolv_timeout = 3, attempts = 4, edns0 = true,
          command = {{ "sh", "-c", "cat /etc/resolv.conf; echo 10.0.0.1" }} }}
s:client{{ name = "b", stack = "exec", target = {{ r2, r1 }}, names = "db.sbx.test", limit = 1,
          search = {{ "sbx.test", "example.test" }}, rotate = true, single_request = true,
          command = {{ "sh", "-c", "cat /etc/resolv.conf; echo 10.0.0.1" }} }}
s:client{{ name = "told", stack = "exec", target = "127.0.0.78:5300", names = "db.sbx.test", limit = 1,
          command = {{ "sh", "-c", "cat /etc/resolv.conf; echo {{server}} {{port}}; echo 10.0.0.1" }} }}
''')
    hist = os.path.join(work, "perclient.jsonl")
    r = run(bin_, scen, hist)
    c.ok(r.returncode == 0, "the run completes", r.stderr)
    a = "\n".join(outputs(hist, "a"))
    b = "\n".join(outputs(hist, "b"))
    told = "\n".join(outputs(hist, "told"))
    conf = lambda t: [l for l in t.splitlines() if l and not l.startswith("#") and l != "10.0.0.1"]
    ra = conf(a)
    rb = conf(b)
    c.ok(len(ra) == 2 and ra[0].startswith("nameserver 127.0.0.") and
         ra[1] == "options ndots:2 timeout:3 attempts:4 edns0",
         "client a sees its one target and its options", a)
    c.ok(rb == ["nameserver 127.0.0.77", ra[0], "search sbx.test example.test",
                "options rotate single-request"],
         "client b sees its two targets in order, its search list and options", b)
    c.ok(not any(l.startswith("nameserver") for l in told.splitlines()) and "127.0.0.78 5300" in told,
         "a client whose target is off port 53 keeps {server}/{port} and the sandbox's file", told)
    # A command that is not told {server}/{port} needs targets on port 53.
    bad = os.path.join(work, "perclient_bad.lua")
    with open(bad, "w") as f:
        f.write(f'''local s = scenario{{ name = "bad", duration = 1 }}
local r1 = s:resolver{{ name = "r1", zone = s:zone("{zone}"), address = "127.0.0.9:5300" }}
s:client{{ name = "g", stack = "exec", target = r1, names = "db.sbx.test", limit = 1,
          command = {{ "getent", "ahosts", "{{name}}" }} }}
''')
    r = run(bin_, bad, os.path.join(work, "bad.jsonl"))
    c.ok(r.returncode == 3 and "perclient_bad.lua:3:" in r.stderr and "port 5300" in r.stderr,
         "a target off port 53 for a resolv.conf is refused at its s:client line", r.stderr)


def proc_ns_net(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def mountinfo():
    with open("/proc/self/mountinfo") as f:
        return sorted(" ".join(l.split()[3:5]) for l in f)


def netns_held(netns):
    """Processes holding netns: as their namespace, or through an open descriptor."""
    held = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        if proc_ns_net(d) == netns:
            held.append(d)
            continue
        try:
            fds = os.listdir(f"/proc/{d}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{d}/fd/{fd}") == netns:
                    held.append(f"{d} (fd {fd})")
                    break
            except OSError:
                pass
    return held


def leftovers(mark, netns):
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        if mark in cmdline(d) or (netns and proc_ns_net(d) == netns):
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if st not in ("Z", "X"):
                found.append(f"{d}: {cmdline(d)}")
    return found


def part_kill(c, bin_, zone, work):
    for who in ("outer", "harness"):
        mark = f"2{os.getpid() % 1000}.{int(time.time() * 1000) % 100000}"
        scen = os.path.join(work, f"kill_{who}.lua")
        with open(scen, "w") as f:
            f.write(f'''local s = scenario{{ name = "kill", duration = 60 }}
local r1 = s:resolver{{ name = "r1", zone = s:zone("{zone}") }}
s:client{{ name = "ns", stack = "exec", target = r1, names = "db.sbx.test", limit = 1,
          command = {{ "sh", "-c", "echo NET $(readlink /proc/self/ns/net); echo 10.0.0.1" }} }}
s:client{{ name = "long", stack = "exec", target = r1, names = "db2.sbx.test", limit = 1, timeout = 120,
          command = {{ "sh", "-c", "sleep {mark} & setsid sleep {mark} & sleep {mark}" }} }}
''')
        hist = os.path.join(work, f"kill_{who}.jsonl")
        before = mountinfo()
        p = subprocess.Popen([bin_, "run", scen, "--history", hist],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        netns = None
        deadline = time.time() + 30
        while time.time() < deadline and p.poll() is None:
            outs = outputs(hist, "ns") if os.path.exists(hist) else []
            if outs and len(leftovers(mark, None)) >= 3:
                netns = outs[0].split()[1] if outs[0].startswith("NET ") else None
                break
            time.sleep(0.1)
        c.ok(netns is not None, f"({who}) the run's network namespace is known and its "
             "sleeps run", f"netns {netns}, marked {leftovers(mark, None)}")
        if who == "outer":
            target = p.pid
        else:
            init = children(p.pid)
            harness = children(init[0]) if init else []
            target = harness[0] if harness else p.pid
            c.ok(bool(harness) and "run" in cmdline(target),
                 "(harness) the harness is init's child", f"init {init}, harness {harness}")
        os.kill(target, signal.SIGKILL)
        p.wait(timeout=30)
        gone = False
        for _ in range(100):  # 10 s for the kernel to tear the namespace down
            if not leftovers(mark, netns):
                gone = True
                break
            time.sleep(0.1)
        c.ok(gone, f"({who}) SIGKILL leaves no process of the run (marked or in its "
             "network namespace)", "\n  ".join(leftovers(mark, netns)))
        if not gone:
            for ln in leftovers(mark, netns):
                try:
                    os.kill(int(ln.split(":")[0]), signal.SIGKILL)
                except OSError:
                    pass
        after = mountinfo()
        c.ok(after == before, f"({who}) the host's mounts are unchanged",
             f"{set(after) ^ set(before)}")
        held = netns_held(netns) if netns else ["unknown"]
        c.ok(not held, f"({who}) no process holds the run's network namespace {netns}",
             str(held))


def part_unpriv(c, bin_, zone, work):
    if os.geteuid() != 0:
        skip("needs root to become uid 65534 with setpriv")
    if not shutil.which("setpriv"):
        skip("setpriv is not installed (util-linux)")
    os.chmod(work, 0o755)
    d = os.path.join(work, "nobody")
    os.mkdir(d)
    os.chown(d, 65534, 65534)
    shutil.copy(zone, os.path.join(d, "z.zone"))
    scen = os.path.join(d, "unpriv.lua")
    with open(scen, "w") as f:
        f.write('''local s = scenario{ name = "unpriv", duration = 1.5 }
local r1 = s:resolver{ name = "r1", zone = s:zone("z.zone") }
s:client{ name = "g", stack = "exec", target = r1, names = "db.sbx.test", limit = 1,
          command = { "getent", "ahosts", "{name}" } }
s:client{ name = "id", stack = "exec", target = r1, names = "db2.sbx.test", limit = 1,
          command = { "sh", "-c", "echo UID $(id -u); echo 10.0.0.1" } }
''')
    hist = os.path.join(d, "unpriv.jsonl")
    pre = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    probe = subprocess.run(pre + [bin_, "--version"], capture_output=True, text=True)
    if probe.returncode != 0:
        skip(f"uid 65534 cannot run {bin_}: {probe.stderr.strip()}")
    r = run(bin_, scen, hist, "--sandbox", prefix=pre)
    if r.returncode == 4 and "cannot create private namespaces" in r.stderr:
        skip("unprivileged user namespaces are not allowed here: " + r.stderr.strip())
    c.ok(r.returncode == 0, "uid 65534 runs in the sandbox", r.stderr)
    st = os.stat(hist) if os.path.exists(hist) else None
    c.ok(st is not None and st.st_uid == 65534, "the history belongs to uid 65534")
    g = outputs(hist, "g") if st else []
    c.ok(g and "192.0.2.53" in g[0], "getent resolves through the sandbox as uid 65534", str(g))
    ids = outputs(hist, "id") if st else []
    c.ok(ids and "UID 0" in ids[0], "inside, the user is uid 0 of its own namespace", str(ids))


def part_nosandbox(c, bin_, zone, work):
    scen = os.path.join(work, "nosbx.lua")
    with open(scen, "w") as f:
        f.write(f'''local s = scenario{{ name = "nosbx", duration = 1 }}
local r1 = s:resolver{{ name = "r1", zone = s:zone("{zone}") }}
s:client{{ name = "ns", stack = "exec", target = r1, names = "db.sbx.test", limit = 1,
          command = {{ "sh", "-c", "echo NET $(readlink /proc/self/ns/net) {{server}} {{port}}; echo 10.0.0.1" }} }}
''')
    hist = os.path.join(work, "nosbx.jsonl")
    r = run(bin_, scen, hist, "--no-sandbox")
    c.ok(r.returncode == 0 and not r.stderr.strip(), "--no-sandbox runs quietly", r.stderr)
    outs = outputs(hist, "ns")
    mine = os.readlink("/proc/self/ns/net")
    c.ok(outs and f"NET {mine} " in outs[0], "--no-sandbox runs in the host's network namespace",
         str(outs))
    c.ok(outs and " 53\n" not in outs[0] + "\n" and outs[0].split()[3] != "53",
         "--no-sandbox: a farm object gets a free port, not 53", str(outs))
    bad = os.path.join(work, "nosbx_bad.lua")
    with open(bad, "w") as f:
        f.write(f'''local s = scenario{{ name = "nosbx bad", duration = 1 }}
local r1 = s:resolver{{ name = "r1", zone = s:zone("{zone}") }}
s:client{{ name = "g", stack = "exec", target = r1, names = "db.sbx.test", limit = 1,
          command = {{ "getent", "ahosts", "{{name}}" }} }}
''')
    r = run(bin_, bad, os.path.join(work, "nosbx_bad.jsonl"), "--no-sandbox")
    c.ok(r.returncode == 3 and "nosbx_bad.lua:3:" in r.stderr and "{server}" in r.stderr,
         "--no-sandbox: an exec command without {server}/{port} is refused at its line",
         r.stderr)
    r = run(bin_, bad, os.path.join(work, "nosbx_bad2.jsonl"), "--no-sandbox", "--sandbox")
    c.ok(r.returncode == 3 and "not both" in r.stderr, "--sandbox with --no-sandbox is refused",
         r.stderr)


def part_unavailable(c, bin_, zone, work):
    if not shutil.which("unshare"):
        skip("unshare is not installed (util-linux)")
    scen = os.path.join(work, "unavail.lua")
    with open(scen, "w") as f:
        f.write(f'''local s = scenario{{ name = "unavail", duration = 1 }}
local r1 = s:resolver{{ name = "r1", zone = s:zone("{zone}") }}
s:client{{ name = "d", stack = "exec", target = r1, names = "db.sbx.test", limit = 1,
          command = {{ "sh", "-c", "echo {{server}} {{port}}; echo 10.0.0.1" }} }}
''')
    hist = os.path.join(work, "unavail.jsonl")
    # A real denial: a user namespace whose own limit of user namespaces is 0.
    deny = ["unshare", "--user", "--map-root-user", "sh", "-c",
            'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', "deny"]
    r = subprocess.run(deny + ["true"], capture_output=True, text=True)
    if r.returncode != 0:
        skip("cannot make a user namespace to deny namespaces in: " + r.stderr.strip())
    r = run(bin_, scen, hist, prefix=deny)
    err = [l for l in r.stderr.splitlines() if l.strip()]
    c.ok(r.returncode == 0, "without the sandbox the run goes on, on the host", r.stderr)
    c.ok(len(err) == 1 and "no sandbox" in err[0] and "max_user_namespaces" in err[0] and
         "{server}/{port}" in err[0],
         "one line on stderr says why and that exec commands must use {server}/{port}",
         r.stderr)
    r = run(bin_, scen, hist, "--sandbox", prefix=deny)
    c.ok(r.returncode == 4 and "--sandbox: cannot create private namespaces" in r.stderr,
         "--sandbox where it cannot be had: exit 4 and why", f"exit {r.returncode}: {r.stderr}")


def part_signals(c, bin_, zone, work):
    """SIGINT, SIGTERM and SIGHUP reach the harness through the outer process.

    timeout(1) signals its whole process group, the way a terminal's ^C
    does: the harness must get the signal once (a second one, after the run
    handled the first, has the watchdog end it without reports), and the
    run ends interrupted with its reports written.
    """
    if not shutil.which("timeout"):
        skip("timeout is not installed (coreutils)")
    scen = os.path.join(work, "signals.lua")
    with open(scen, "w") as f:
        f.write(f'''local s = scenario{{ name = "signals", duration = 60 }}
local r1 = s:resolver{{ name = "r1", zone = s:zone("{zone}") }}
s:client{{ name = "g", stack = "exec", target = r1, names = "db.sbx.test", rate = 5,
          command = {{ "getent", "ahosts", "{{name}}" }} }}
s:expect{{ "answers", success_rate{{ client = "g" }}, at_least = 0.5 }}
''')
    for sig in ("INT", "TERM"):
        hist = os.path.join(work, f"sig{sig}.jsonl")
        js = os.path.join(work, f"sig{sig}.json")
        r = subprocess.run(["timeout", "--preserve-status", "-s", sig, "4", bin_, "run", scen, "--history", hist,
                            "--json", js], capture_output=True, text=True, timeout=60)
        c.ok(r.returncode == 2, f"SIG{sig} to the whole group: exit 2 (interrupted)",
             f"exit {r.returncode}: {r.stderr}")
        c.ok(os.path.exists(js) and "watchdog" not in r.stderr,
             f"SIG{sig}: the run ended itself and wrote its report", r.stderr)
        end = [l for l in lines(hist) if l.get("type") == "end"]
        c.ok(end and end[-1].get("reason") == "interrupted",
             f"SIG{sig}: the history ends 'interrupted'", str(end))
    hist = os.path.join(work, "sigHUP.jsonl")
    p = subprocess.Popen([bin_, "run", scen, "--history", hist], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(300):
        if os.path.exists(hist) and len(lines(hist)) >= 2:
            break
        time.sleep(0.1)
    p.send_signal(signal.SIGHUP)
    rc = p.wait(timeout=30)
    c.ok(rc == -signal.SIGHUP, "SIGHUP (which the run does not catch) is passed on: the "
         "outer process dies of it as the harness did", f"returncode {rc}")


def part_resolvconf(c, bin_, zone, work):
    """/etc/resolv.conf missing, a symbolic link to nothing, a link to a file.

    In a mount namespace of the test's own (unshare -m), /etc is a copy on a
    tmpfs: the host's files are never touched.
    """
    if os.geteuid() != 0:
        skip("needs root for a mount namespace with a copy of /etc (unshare -m)")
    if not shutil.which("unshare"):
        skip("unshare is not installed (util-linux)")
    probe = os.path.join(work, "rc_probe.lua")
    with open(probe, "w") as f:
        f.write('local s = scenario{ name = "probe", duration = 0.1 }\n')
    scen = os.path.join(work, "rc.lua")
    with open(scen, "w") as f:
        f.write(f'''local s = scenario{{ name = "rc", duration = 1 }}
local r1 = s:resolver{{ name = "r1", zone = s:zone("{zone}") }}
s:client{{ name = "cat", stack = "exec", target = r1, names = "db.sbx.test", limit = 1,
          command = {{ "sh", "-c", "cat /etc/resolv.conf; cat /etc/real-resolv.conf; echo {{server}} 10.0.0.1" }} }}
s:client{{ name = "sockets", stack = "exec", target = r1, names = "db2.sbx.test", limit = 1,
          command = {{ "sh", "-c", "for f in /run/nscd/socket /run/systemd/resolve/io.systemd.Resolve; do test -S $f && echo VISIBLE $f; test -e $f && echo THERE $f; done; echo 10.0.0.1" }} }}
''')
    hist = os.path.join(work, "rc.jsonl")
    script = f'''set -u
d=$(mktemp -d) && mount -t tmpfs tmpfs "$d" && cp -a /etc/. "$d"/ && mount --bind "$d" /etc || exit 99
rm -f /etc/resolv.conf
"$1" run "$2" --sandbox; echo "missing --sandbox: $?"
"$1" run "$2"; echo "missing default: $?"
ln -s /run/dnschaos-test-nowhere/stub.conf /etc/resolv.conf
"$1" run "$2" --sandbox; echo "dangling: $?"
rm /etc/resolv.conf; echo "nameserver 192.0.2.99" > /etc/real-resolv.conf
ln -s /etc/real-resolv.conf /etc/resolv.conf
mount -t tmpfs tmpfs /run && mkdir -p /run/nscd /run/systemd/resolve || exit 98
"$5" -c 'import socket, sys
for p in sys.argv[1:]: socket.socket(socket.AF_UNIX).bind(p)' /run/nscd/socket /run/systemd/resolve/io.systemd.Resolve
test -S /run/nscd/socket && test -S /run/systemd/resolve/io.systemd.Resolve && echo "sockets made"
"$1" run "$3" --sandbox --history "$4"; echo "link: $?"
'''
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "rc",
                        bin_, probe, scen, hist, python_exe()], capture_output=True, text=True,
                       timeout=120)
    out = r.stdout + r.stderr
    c.ok("missing --sandbox: 4" in out and "/etc/resolv.conf is missing" in out and
         "--no-sandbox" in out, "a missing /etc/resolv.conf: --sandbox exits 4 saying what to do",
         out)
    c.ok("missing default: 0" in out and "no sandbox (/etc/resolv.conf is missing" in out,
         "a missing /etc/resolv.conf: by default the run goes on on the host, saying why", out)
    c.ok("dangling: 4" in out and "symbolic link to /run/dnschaos-test-nowhere/stub.conf" in out,
         "a symbolic link to nothing: exit 4 naming its target", out)
    got = "\n".join(outputs(hist, "cat")) if os.path.exists(hist) else ""
    c.ok("link: 0" in out and got.count("the resolv.conf of client cat") == 2 and
         "192.0.2.99" not in got,
         "a symbolic link to a file: the private file is bound over its target", out + got)
    socks = "\n".join(outputs(hist, "sockets")) if os.path.exists(hist) else ""
    c.ok("sockets made" in out and "VISIBLE" not in socks and socks.count("THERE") == 2,
         "nscd's and systemd-resolved's sockets are hidden inside", out + socks)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        return 2
    bin_, zone, part = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
    parts = {"entry": part_entry, "programs": part_programs, "perclient": part_perclient,
             "kill": part_kill, "signals": part_signals, "resolvconf": part_resolvconf, "unpriv": part_unpriv, "nosandbox": part_nosandbox,
             "unavailable": part_unavailable}
    if part not in parts:
        print(f"unknown part {part}: one of {', '.join(parts)}")
        return 2
    work = tempfile.mkdtemp(prefix="dnschaos-sandbox-")
    try:
        c = Checks()
        if part not in ("nosandbox", "unavailable"):
            need_sandbox(bin_, work)
        parts[part](c, bin_, zone, work)
        print(f"{part}: {c.failed} failed")
        return 1 if c.failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
