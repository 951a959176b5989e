#!/usr/bin/env python3
"""The fakeresolver daemon's control connection, end to end, on loopback.

Two daemons, each with a control port and its own token file (mode 0600).
Checked, each by DNS queries over UDP (and TCP for stop/start):
- a wrong token, and garbage before `auth`, get `error refused` and nothing
  more, and the connection is closed;
- hang (no answer), rcode, delay (the answer comes late), wrong, truncate,
  capacity, publish (the serial changes; a bad file's error names file:line),
  heal ID, heal, stop/start (port closed, then answering again); a fault on
  one daemon leaves the other alone;
- a fault set without duration= heals when the connection that set it
  closes; a fault with duration= outlives it and heals when it runs out;
- hostile input (a 1 MB line before auth, a line over 4096 octets after it:
  an error and the connection closed; 60 connections that never
  authenticate) never stops DNS answers, and a real controller still gets in;
- start-up refusals: a token file of mode 0644, --control without a token
  file, a non-loopback control address, a short token;
- watch: `ok now=T` on the daemon's clock, then one `query {...}` event per
  query (UDP and TCP) with the fields and action names of a farm resolver's
  history line and the daemon's fault ids (hang, rcode, truncate, delay,
  capacity with its `arrive` event and tag), each in the controller's socket
  before the client has its reply; unwatch stops them; a controller that
  does not read loses events, never the DNS answers, and once it reads gets
  `lost N from=T to=T`, the events it got and N adding up to every query the
  daemon saw meanwhile.

Usage: remote_daemon.py FAKERESOLVER ZONEDIR
"""
import os
import json
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

FAILS = []
PASSES = 0


def check(what, ok, detail=""):
    global PASSES
    if ok:
        PASSES += 1
    else:
        FAILS.append(what)
        print("FAIL: %s %s" % (what, detail), flush=True)


# ---- DNS on the wire, by hand (no dnspython on the CI image) ----

def build_query(name, qtype=1, qid=0x1234):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def parse_reply(msg):
    """(rcode, tc, [A addresses], SOA serial or None)."""
    _, flags, qd, an, ns, _ = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    addrs, serial = [], None
    for _ in range(an + ns):
        off = skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
        off += 10
        rd = msg[off:off + rdlen]
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(rd))
        if rtype == 6:
            o = skip_name(rd, 0)
            o = skip_name(rd, o)
            serial = struct.unpack(">I", rd[o:o + 4])[0]
        off += rdlen
    return flags & 0xF, bool(flags & 0x0200), addrs, serial


def udp(port, name, qtype=1, timeout=1.5):
    """The reply and its delay, or (None, None) on no answer (or port unreachable)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    t0 = time.monotonic()
    try:
        s.sendto(build_query(name, qtype), ("127.0.0.1", port))
        msg, _ = s.recvfrom(65535)
        return parse_reply(msg), time.monotonic() - t0
    except (socket.timeout, ConnectionRefusedError):
        return None, None
    finally:
        s.close()


def tcp_refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def answers(port, name="db-primary.internal"):
    r, _ = udp(port, name)
    return r is not None and r[0] == 0 and len(r[2]) > 0


# ---- the daemons ----

class Daemon:
    def __init__(self, binary, zone, tokfile, work, tag, extra=()):
        self.err_path = os.path.join(work, tag + ".err")
        self.err = open(self.err_path, "w+")
        self.p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--zone", zone,
                                   "--control", "127.0.0.1:0", "--control-token-file", tokfile]
                                  + list(extra), stderr=self.err)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = self.text()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
            c = re.search(r"control on 127\.0\.0\.1:(\d+)", text)
            if m and c and "ready" in text:
                self.port, self.cport = int(m.group(1)), int(c.group(1))
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        self.p.kill()
        sys.exit("daemon did not start:\n" + self.text())

    def text(self):
        self.err.seek(0)
        return self.err.read()

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


EVENT = re.compile(r"(query|arrive|lost) ")


class Ctl:
    """A control connection, line by line over the raw socket (a timed-out read of a
    socket file object leaves it unusable; events are read with a time limit)."""

    def __init__(self, port, token, rcvbuf=None):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(5)
        self.s.connect(("127.0.0.1", port))
        self.buf = b""
        self.events = []  # event lines read while waiting for a reply (watch)
        if token is not None:
            r = self.cmd("auth " + token)
            if r != "ok authenticated":
                raise RuntimeError("auth: " + r)

    def readline(self, limit=5.0):
        """The next line without its newline, b"" at EOF, None when none came in limit s."""
        deadline = time.monotonic() + limit
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return None
            chunk = self.s.recv(65536)
            if not chunk:
                return b""
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def send(self, line):
        self.s.sendall(line.encode() + b"\n")

    def cmd(self, line):
        self.send(line)
        while True:
            r = self.readline()
            if not r:
                return ""
            r = r.decode()
            if not EVENT.match(r):
                return r
            self.events.append(r)

    def event(self, limit=3.0):
        """The next event line (kept by cmd, or read now), or None after limit seconds."""
        if self.events:
            return self.events.pop(0)
        line = self.readline(limit)
        return line.decode() if line else None

    def close(self):
        self.s.close()


def fault_id(reply):
    m = re.match(r"ok id=(\d+)", reply)
    return int(m.group(1)) if m else None


def wait_until(cond, limit=5.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def refusals(binary, zone, work):
    """Start-up refusals: every one exit 3 with a clear message."""
    loose = os.path.join(work, "loose.token")
    with open(loose, "w") as f:
        f.write("x" * 32 + "\n")
    os.chmod(loose, 0o644)
    short = os.path.join(work, "short.token")
    with open(short, "w") as f:
        f.write("tooshort\n")
    os.chmod(short, 0o600)
    good = os.path.join(work, "a.token")
    cases = [
        (["--control", "127.0.0.1:0", "--control-token-file", loose], r"mode 0644 .*chmod 600"),
        (["--control", "127.0.0.1:0"], r"--control and --control-token-file go together"),
        (["--control-token-file", good], r"--control and --control-token-file go together"),
        (["--control", "10.1.2.3:9", "--control-token-file", good], r"not a loopback address"),
        (["--control", "127.0.0.1:0", "--control-token-file", short], r"16 to 256 octets"),
    ]
    for extra, want in cases:
        p = subprocess.run([binary, "--listen", "127.0.0.1:0", "--zone", zone] + extra,
                           capture_output=True, text=True, timeout=10)
        check("refused at start: %s" % " ".join(extra), p.returncode == 3 and
              re.search(want, p.stderr), "rc=%d stderr=%r" % (p.returncode, p.stderr))


def main():
    binary, zones = sys.argv[1], sys.argv[2]
    signal.alarm(80)  # a hang is a failure, not a stuck CI
    v1 = os.path.join(zones, "internal.v1.zone")
    v2 = os.path.join(zones, "internal.v2.zone")
    work = tempfile.mkdtemp(prefix="remote-daemon-")
    tokens = {}
    for tag in ("a", "b"):
        tokens[tag] = "%s-%s" % (tag, os.urandom(16).hex())
        path = os.path.join(work, tag + ".token")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (tokens[tag] + "\n").encode())
        os.close(fd)
    refusals(binary, v1, work)
    a = Daemon(binary, v1, os.path.join(work, "a.token"), work, "a")
    b = Daemon(binary, v1, os.path.join(work, "b.token"), work, "b")
    try:
        run(a, b, tokens, v1, v2, work)
    finally:
        a.stop()
        b.stop()
        for d in (a, b):
            # 0 on SIGTERM; a sanitizer's report would make it another code.
            check("daemon exits 0 on SIGTERM", d.p.returncode == 0, "rc=%r" % d.p.returncode)
        for d in (a, b):
            if FAILS:
                print("---- daemon stderr ----\n" + d.text())
    print("%d passed, %d failed" % (PASSES, len(FAILS)))
    sys.exit(1 if FAILS else 0)


def run(a, b, tokens, v1, v2, work):
    check("both answer at start", answers(a.port) and answers(b.port))

    # Authentication: a wrong token (even b's token on a) and garbage first.
    for first in ("auth " + tokens["b"], "auth " + tokens["a"][:-1], "status", "\x01\x02junk"):
        s = socket.create_connection(("127.0.0.1", a.cport), timeout=5)
        s.sendall(first.encode() + b"\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        check("refused without detail: %r" % first[:12], data == b"error refused\n", repr(data))
    check("the refusals changed nothing", answers(a.port))

    c = Ctl(a.cport, tokens["a"])
    cb = Ctl(b.cport, tokens["b"])

    # hang, on one name only, on a only.
    r = c.cmd("hang name=db-primary.internal")
    hang = fault_id(r)
    check("hang: ok id=N", hang is not None, r)
    rep, _ = udp(a.port, "db-primary.internal", timeout=1.0)
    check("hang: no answer", rep is None)
    check("hang: another name still answers", answers(a.port, "web.internal"))
    check("hang: the other daemon still answers", answers(b.port))
    r = c.cmd("heal %d" % hang)
    check("heal ID", r == "ok healed=1", r)
    check("heal ID: answers again", answers(a.port))
    check("heal of an unknown id is an error", c.cmd("heal %d" % hang).startswith("error no fault"))

    # rcode
    fid = fault_id(c.cmd("rcode rcode=REFUSED"))
    rep, _ = udp(a.port, "db-primary.internal")
    check("rcode: REFUSED", rep is not None and rep[0] == 5, repr(rep))
    c.cmd("heal %d" % fid)

    # delay: 600 ms added, an answer no sooner than 500 ms (a floor, not a ceiling).
    fid = fault_id(c.cmd("delay ms=600"))
    rep, took = udp(a.port, "db-primary.internal", timeout=5)
    check("delay: answered late", rep is not None and took >= 0.5, "took=%r" % took)
    c.cmd("heal %d" % fid)

    # wrong, truncate (UDP)
    fid = fault_id(c.cmd("wrong address=192.0.2.77"))
    rep, _ = udp(a.port, "db-primary.internal")
    check("wrong: the wrong address", rep is not None and rep[2] == ["192.0.2.77"], repr(rep))
    c.cmd("heal %d" % fid)
    fid = fault_id(c.cmd("truncate transport=udp"))
    rep, _ = udp(a.port, "db-primary.internal")
    check("truncate: TC set", rep is not None and rep[1], repr(rep))
    c.cmd("heal")

    # capacity: 1 qps, queue 1: a burst of 5 gets at most 2 answers within 0.5 s.
    fid = fault_id(c.cmd("capacity qps=1 queue=1"))
    check("capacity: ok id=N", fid is not None)
    socks = []
    for _ in range(5):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.sendto(build_query("db-primary.internal"), ("127.0.0.1", a.port))
        socks.append(s)
    time.sleep(0.5)
    got = 0
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(4096)
            got += 1
        except BlockingIOError:
            pass
        s.close()
    check("capacity: a burst is not all served", got <= 2, "got=%d" % got)
    c.cmd("heal %d" % fid)
    check("capacity healed: answers", wait_until(lambda: answers(a.port)))

    # publish: the serial moves from v1's to v2's; a bad file names file:line.
    soa0, _ = udp(a.port, "internal", qtype=6)
    r = c.cmd("publish " + v2)
    check("publish: ok with the serial", r.startswith("ok zone=internal. serial=2026112502"), r)
    soa1, _ = udp(a.port, "internal", qtype=6)
    check("publish: the served serial changed", soa0 and soa1 and soa0[3] == 2026110301 and
          soa1[3] == 2026112502, "%r -> %r" % (soa0, soa1))
    soab, _ = udp(b.port, "internal", qtype=6)
    check("publish: the other daemon kept its serial", soab and soab[3] == 2026110301)
    bad = os.path.join(work, "bad.zone")
    with open(bad, "w") as f:
        f.write("$ORIGIN internal.\n$TTL 60\n@ IN SOA ns1 h 7 1 1 1 1\nwww IN A 10.0.0.300\n")
    r = c.cmd("publish " + bad)
    check("publish of a bad file: error FILE:LINE", re.match(r"error %s:4: " % re.escape(bad), r), r)
    soa2, _ = udp(a.port, "internal", qtype=6)
    check("publish of a bad file: still the last serial", soa2 and soa2[3] == 2026112502)

    # stop/start: the ports close (TCP refused, UDP unreachable), then answer again.
    r = c.cmd("stop")
    sid = fault_id(r)
    check("stop: ok id=N", sid is not None, r)
    check("stop: TCP refused", tcp_refused(a.port))
    check("stop: no UDP answer", udp(a.port, "db-primary.internal", timeout=0.5)[0] is None)
    st = c.cmd("status")
    check("status while stopped", st.startswith('ok {"state":"stopped"') and
          '"kind":"stop"' in st and '"serial":2026112502' in st, st)
    r = c.cmd("start")
    check("start", r == "ok healed=%d" % sid, r)
    check("start: answers again", answers(a.port) and not tcp_refused(a.port))

    # A fault without duration heals when its connection closes; one with
    # duration outlives the connection and heals when it runs out.
    c2 = Ctl(a.cport, tokens["a"])
    fault_id(c2.cmd("rcode rcode=SERVFAIL name=db-primary.internal"))
    fault_id(c2.cmd("hang name=web.internal duration=2"))
    rep, _ = udp(a.port, "db-primary.internal")
    check("connection fault: in force", rep is not None and rep[0] == 2, repr(rep))
    c2.close()
    check("connection fault: healed when its connection closed",
          wait_until(lambda: answers(a.port)))
    check("duration fault: outlives its connection", udp(a.port, "web.internal", timeout=0.5)[0]
          is None)
    st = c.cmd("status")
    m = re.search(r'"kind":"hang","left":([0-9.]+)', st)
    check("status: time left", m and 0 < float(m.group(1)) <= 2, st)
    check("duration fault: healed when it ran out",
          wait_until(lambda: answers(a.port, "web.internal"), limit=5))
    check("status: no fault left", '"faults":[]' in c.cmd("status"))

    # A stop by a connection that goes away: the ports open again.
    c3 = Ctl(a.cport, tokens["a"])
    c3.cmd("stop")
    check("stop by c3: refused", tcp_refused(a.port))
    c3.close()
    check("stop: reopened when its connection closed", wait_until(lambda: answers(a.port)))

    # Hostile input: a huge line before auth and after, 60 connections that never
    # authenticate; DNS answers all along, and a controller still gets in.
    h = socket.create_connection(("127.0.0.1", a.cport), timeout=5)
    try:
        h.sendall(b"A" * (1 << 20))
    except OSError:
        pass  # closed on us mid-send: as it should be
    h.close()
    c5 = Ctl(a.cport, tokens["a"])
    r = c5.cmd("x" * 8000)
    check("a 8000-octet line after auth: error", r.startswith("error line too long"), r[:60])
    check("a 8000-octet line after auth: closed", c5.readline() == b"")
    c5.close()
    check("after a huge line: DNS answers", answers(a.port))
    idle = []
    for _ in range(60):
        try:
            s = socket.create_connection(("127.0.0.1", a.cport), timeout=2)
            s.sendall(b"garbage-without-newline")
            idle.append(s)
        except OSError:
            pass
    check("60 idle connections: DNS answers", answers(a.port) and answers(a.port, "web.internal"))
    c4 = Ctl(a.cport, tokens["a"])
    check("60 idle connections: a controller still gets in", c4.cmd("status").startswith("ok {"))
    for s in idle:
        s.close()
    c4.close()
    check("the old controller still works", c.cmd("status").startswith('ok {"state":"up"'))
    # Unauthenticated connections are closed after the 5 s allowed for `auth`.
    s = socket.create_connection(("127.0.0.1", a.cport), timeout=20)
    t0 = time.monotonic()
    data = s.recv(100)
    check("no auth within 5 s: closed", data == b"" and 4.5 <= time.monotonic() - t0 < 15,
          "%r after %.1f s" % (data, time.monotonic() - t0))
    s.close()
    c.close()
    cb.close()
    watching(a, tokens["a"])
    check("both answer at the end", answers(a.port) and answers(b.port))


def query_event(w, name, limit=3.0):
    """The next `query` event for name (other events skipped), as a dict, or None."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        line = w.event(deadline - time.monotonic())
        if line is None:
            return None
        if line.startswith("query "):
            ev = json.loads(line[6:])
            if ev.get("qname") == name.rstrip(".") + ".":
                return ev
    return None


def udp_from(port, name, qtype=1, qid=0x1234, timeout=1.5):
    """(reply or None, the source port the query left from)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(timeout)
    try:
        s.sendto(build_query(name, qtype, qid), ("127.0.0.1", port))
        msg, _ = s.recvfrom(65535)
        return parse_reply(msg), s.getsockname()[1]
    except (socket.timeout, ConnectionRefusedError):
        return None, s.getsockname()[1]
    finally:
        s.close()


def watching(a, token):
    """`watch`: the daemon's queries as events on the control connection."""
    w = Ctl(a.cport, token)
    c = Ctl(a.cport, token)  # sets the faults; does not watch
    r = w.cmd("watch")
    m = re.match(r"ok now=(\d+\.\d{6})$", r)
    check("watch: ok now=T", m, r)
    now = float(m.group(1)) if m else 0.0

    rep, sport = udp_from(a.port, "db-primary.internal", qid=0x4242)
    ev = query_event(w, "db-primary.internal")
    check("watch: an event per query, with the query's fields",
          rep is not None and ev is not None and ev["transport"] == "udp" and
          ev["src"] == "127.0.0.1:%d" % sport and ev["id"] == 0x4242 and
          ev["qtype"] == "A" and ev["action"] == "answered" and ev["rcode"] == "NOERROR" and
          ev["an"] == len(rep[2]) >= 1 and isinstance(ev["serial"], int) and
          "fault" not in ev and ev["t"] >= now, repr(ev))

    # The event is in the controller's socket before the client has its reply:
    # what a controller needs to join the query to a client still waiting.
    first = 0
    for i in range(40):
        quiet = not w.buf and not select.select([w.s], [], [], 0)[0]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(2)
        u.sendto(build_query("web.internal", qid=i), ("127.0.0.1", a.port))
        try:
            u.recvfrom(4096)
            first += quiet and bool(select.select([w.s], [], [], 0)[0])
        except socket.timeout:
            pass
        u.close()
        query_event(w, "web.internal", 1.0)
    check("watch: each event before its query's reply (40 of 40)", first == 40, "%d" % first)

    hang = fault_id(c.cmd("hang name=hang.internal"))
    udp_from(a.port, "hang.internal", timeout=0.3)
    ev = query_event(w, "hang.internal")
    check("watch: a hang is action dropped with the daemon's fault id",
          ev and ev["action"] == "dropped" and ev.get("fault") == hang and "rcode" not in ev,
          repr(ev))
    rc = fault_id(c.cmd("rcode rcode=REFUSED name=rcode.internal"))
    udp_from(a.port, "rcode.internal")
    ev = query_event(w, "rcode.internal")
    check("watch: an rcode fault is action rcode, its rcode and id",
          ev and ev["action"] == "rcode" and ev["rcode"] == "REFUSED" and ev["fault"] == rc,
          repr(ev))
    tr = fault_id(c.cmd("truncate name=tc.internal"))
    udp_from(a.port, "tc.internal")
    ev = query_event(w, "tc.internal")
    check("watch: truncate is action truncated, tc true",
          ev and ev["action"] == "truncated" and ev.get("tc") is True and ev["fault"] == tr,
          repr(ev))
    dl = fault_id(c.cmd("delay ms=200 name=db-primary.internal"))
    udp_from(a.port, "db-primary.internal")
    ev = query_event(w, "db-primary.internal")
    check("watch: a delayed answer has delay_fault and delay_ms",
          ev and ev["action"] == "answered" and ev.get("delay_fault") == dl and
          abs(ev.get("delay_ms", 0) - 200) < 1 and "fault" not in ev, repr(ev))
    c.cmd("heal")
    s = socket.create_connection(("127.0.0.1", a.port), timeout=2)
    q = build_query("web.internal", qid=0x7777)
    s.sendall(struct.pack(">H", len(q)) + q)
    s.recv(4096)
    s.close()
    ev = query_event(w, "web.internal")
    check("watch: a TCP query is transport tcp", ev and ev["transport"] == "tcp" and
          ev["id"] == 0x7777, repr(ev))

    # capacity: a query that waits in the queue is an `arrive` event, then its
    # `query` event with the same tag, the wait and the capacity fault's id.
    cap = fault_id(c.cmd("capacity qps=5 queue=5"))
    udp_from(a.port, "cap.internal")
    arrive = query = None
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not query:
        line = w.event(1)
        if line and line.startswith("arrive "):
            arrive = json.loads(line[7:])
        elif line and line.startswith("query ") and "cap.internal" in line:
            query = json.loads(line[6:])
    check("watch: capacity: arrive then query, one tag, the wait and the fault",
          arrive and query and arrive["qname"] == "cap.internal." and arrive["tag"] > 0 and
          query.get("tag") == arrive["tag"] and query.get("fault") == cap and
          query.get("queue_ms", 0) > 100 and arrive["t"] < query["t"],
          "%r %r" % (arrive, query))
    c.cmd("heal")

    r = w.cmd("unwatch")
    check("unwatch: ok", r == "ok", r)
    udp_from(a.port, "web.internal")
    check("unwatch: no more events", w.event(0.5) is None)

    # A controller that reads nothing: its events are dropped past the bound,
    # the DNS path goes on, and once it reads it is told how many it lost.
    stuck = Ctl(a.cport, token, rcvbuf=4096)
    r = stuck.cmd("watch")
    check("stuck watcher: watch", r.startswith("ok now="), r)
    before = json.loads(c.cmd("status")[3:])["counters"]["udp_received"]
    flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    q = build_query("web.internal")
    sent = 0
    # Enough events (about 190 octets each) to fill what the kernel may buffer
    # on the daemon's side (tcp_wmem's maximum) and the daemon's own bound.
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            wmem = int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        wmem = 4 << 20
    want = min(200000, (wmem + (256 << 10)) // 150 + 5000)
    t0 = time.monotonic()
    while sent < want and time.monotonic() - t0 < 15:
        try:
            flood.sendto(q, ("127.0.0.1", a.port))
            sent += 1
        except BlockingIOError:
            time.sleep(0.001)
        if sent % 5000 == 0:
            _, took = udp(a.port, "db-primary.internal")
            check("stuck watcher: DNS answered during the flood (%d sent)" % sent,
                  took is not None and took < 0.5, "took=%r" % took)
    time.sleep(0.3)  # the daemon reads what is left in its socket
    after = json.loads(c.cmd("status")[3:])["counters"]["udp_received"]
    flood.close()
    got, lost, spans = 0, 0, []
    while True:
        line = stuck.event(1.0)
        if line is None:
            break
        if line.startswith("query "):
            got += 1
        elif line.startswith("lost "):
            m = re.match(r"lost (\d+) from=(\d+\.\d+) to=(\d+\.\d+)$", line)
            check("stuck watcher: a lost line reads 'lost N from=T to=T'", m, line)
            if m:
                lost += int(m.group(1))
                spans.append((float(m.group(2)), float(m.group(3))))
    check("stuck watcher: events were lost, and said so", lost > 0 and spans and
          all(f <= t for f, t in spans), "lost=%d got=%d" % (lost, got))
    check("stuck watcher: events got and lost add up to the queries the daemon saw",
          got + lost == after - before, "got %d + lost %d != %d received" %
          (got, lost, after - before))
    udp(a.port, "marker.internal")
    ev = query_event(stuck, "marker.internal")
    check("stuck watcher: events flow again once it reads", ev is not None)
    print("stuck watcher: %d queries sent, %d seen, %d events got, %d lost in %d lost line(s)"
          % (sent, after - before, got, lost, len(spans)))
    stuck.close()
    w.close()
    c.close()


if __name__ == "__main__":
    main()
