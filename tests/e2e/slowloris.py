#!/usr/bin/env python3
"""TCP slowloris against the fakeresolver daemon: real TCP queries keep being answered.

200 connections trickle one octet a second of a message that never ends, and
open again at once whenever the daemon closes them: 80 from 127.0.0.2 (over
the per-address limit of 64) and 20 from each of 127.0.0.3 to 127.0.0.8, so
that the per-address limit alone cannot save the day (64 + 120 trickling
connections are more than the 128 slots). Meanwhile a client on 127.0.0.1
asks 12 real queries over TCP, one a second, each on a new connection with 4 s
to get its answer. At least 11 must be answered. Before the message deadline,
the per-address limit and the closing of stalled connections, none was (the
first 128 trickling connections held every slot for as long as they trickled).

Prints the daemon's TCP counters (closed for idleness, message deadline,
eviction; refused) from its shutdown line.

Usage: slowloris.py FAKERESOLVER ZONEDIR
"""
import os
import shutil
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

TRICKLERS = [("127.0.0.2", 80)] + [("127.0.0.%d" % i, 20) for i in range(3, 9)]
REAL_QUERIES = 12
NEED = 11
WARMUP_S = 3.0     # the trickling connections fill the slots first
QUERY_EVERY_S = 1.0
QUERY_TIMEOUT_S = 4.0


def start(binary, zone, err_path):
    err = open(err_path, "w+")
    p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--zone", zone, "--no-udp"],
                         stderr=err)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        err.seek(0)
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", err.read())
        if m and p.poll() is None:
            return p, int(m.group(1)), err
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    err.seek(0)
    sys.exit("daemon did not start:\n" + err.read())


class Trickler:
    """Connections that send one octet a second of a 257-octet message, forever."""

    def __init__(self, port):
        self.port = port
        self.sel = selectors.DefaultSelector()
        self.socks = {}  # socket -> (source, next send time, octets sent)
        self.reconnects = 0
        self.stop = False

    def open(self, source):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.bind((source, 0))
        s.connect_ex(("127.0.0.1", self.port))
        self.socks[s] = [source, time.monotonic(), 0]
        self.sel.register(s, selectors.EVENT_READ)

    def close(self, s):
        self.sel.unregister(s)
        s.close()
        return self.socks.pop(s)[0]

    def run(self, until):
        for source, n in TRICKLERS:
            for _ in range(n):
                self.open(source)
        while time.monotonic() < until and not self.stop:
            for key, _ in self.sel.select(timeout=0.05):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:  # closed by the daemon: open another at once
                    self.reconnects += 1
                    self.open(self.close(s))
            now = time.monotonic()
            for s, st in list(self.socks.items()):
                if now < st[1]:
                    continue
                st[1] = now + 1.0
                try:
                    # 0x01 0x01: a 257-octet message, then its body, an octet at a time
                    s.send(b"\x01")
                    st[2] += 1
                except (BlockingIOError, InterruptedError):
                    pass  # not connected yet
                except OSError:
                    self.reconnects += 1
                    self.open(self.close(s))
        for s in list(self.socks):
            self.close(s)


def query(port, qid):
    """One real query over a new TCP connection; True if answered in time."""
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in ("db-primary", "internal"):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", 1, 1)
    end = time.monotonic() + QUERY_TIMEOUT_S
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=QUERY_TIMEOUT_S,
                                      source_address=("127.0.0.1", 0)) as s:
            s.sendall(struct.pack(">H", len(q)) + q)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
                s.settimeout(max(0.01, end - time.monotonic()))
                chunk = s.recv(65535)
                if not chunk:
                    return False
                buf += chunk
            return struct.unpack(">H", buf[2:4])[0] == qid
    except OSError:
        return False


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binary, zones = sys.argv[1], sys.argv[2]
    work = tempfile.mkdtemp(prefix="slowloris.")
    p, port, err = start(binary, os.path.join(zones, "internal.v1.zone"),
                         os.path.join(work, "stderr"))
    answered = []
    t = Trickler(port)
    total_s = WARMUP_S + REAL_QUERIES * QUERY_EVERY_S + QUERY_TIMEOUT_S + 1
    th = threading.Thread(target=t.run, args=(time.monotonic() + total_s,))
    th.start()
    try:
        time.sleep(WARMUP_S)
        for i in range(REAL_QUERIES):
            t0 = time.monotonic()
            ok = query(port, 1000 + i)
            answered.append(ok)
            print("real query %2d: %s in %.2f s" % (i + 1, "answered" if ok else "NOT answered",
                                                     time.monotonic() - t0))
            time.sleep(max(0.0, QUERY_EVERY_S - (time.monotonic() - t0)))
    finally:
        t.stop = True
        th.join(30)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    err.seek(0)
    stats = [l for l in err.read().splitlines() if "tcp:" in l]
    err.close()
    shutil.rmtree(work, ignore_errors=True)
    print("\n".join(stats) or "(no TCP counters printed)")
    print("trickling connections reopened %d times" % t.reconnects)
    n = sum(answered)
    print("%d of %d real TCP queries answered under 200 trickling connections" % (n, REAL_QUERIES))
    if n < NEED:
        print("FAIL: fewer than %d answered" % NEED)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
