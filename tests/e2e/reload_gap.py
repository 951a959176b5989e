#!/usr/bin/env python3
"""A SIGHUP reload of a large zone must not stop the daemon's answers.

Starts fakeresolver on a generated zone of RECORDS address records, replaces
the file with the same zone at the next serial, sends SIGHUP and queries the
SOA over UDP every few milliseconds until the new serial is answered. The
load takes a while (about a second for 200,000 records on a busy machine);
while it runs, the old zone must keep answering.

Passes when the new serial is served and the longest gap between two answers
(from the SIGHUP to the first answer from the new zone) is under half of
the time the reload took, and under 1 s. Loading on the serving loop, as
before, stops every answer for the whole load: the gap is the reload time.

A second SIGHUP, 50 ms into the load, must be coalesced: one more load once
the first is swapped in (two "reload done" lines), not a second load beside it.

Also usable by bench/reload_gap.sh (no second SIGHUP then): --json prints the figures as one line.

Usage: reload_gap.py FAKERESOLVER [--records N] [--zone FILE] [--json]
"""
import argparse
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "..", "bench", "gen_zone.py")
ORIGIN = "bench.test."
OLD_SERIAL = 2024010101
NEW_SERIAL = 2024010102


def soa_query(qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in ORIGIN.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 6, 1)


def soa_serial(reply):
    """The serial of the SOA in the answer section, or None."""
    if len(reply) < 12 or struct.unpack(">H", reply[6:8])[0] < 1:
        return None
    i = 12
    while reply[i]:  # the question name (not compressed)
        i += reply[i] + 1
    i += 5
    # answer owner: a pointer to the question
    i += 2 if reply[i] & 0xC0 == 0xC0 else 0
    rdlen = struct.unpack(">H", reply[i + 8:i + 10])[0]
    rd = reply[i + 10:i + 10 + rdlen]
    return struct.unpack(">I", rd[-20:-16])[0]


def start(binary, zone, work):
    err = open(os.path.join(work, "stderr"), "w+")
    p = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--zone", zone], stderr=err)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        err.seek(0)
        text = err.read()
        if "fakeresolver: ready" in text:
            port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", text).group(1))
            return p, port, err
        if p.poll() is not None:
            break
        time.sleep(0.1)
    p.kill()
    err.seek(0)
    sys.exit("daemon did not start:\n" + err.read())


def measure(binary, zone, work, second_hup=False):
    """Returns a dict of figures for one reload of zone by binary. With
    second_hup, a second SIGHUP comes 50 ms into the load: it must be
    coalesced (one more load once this one is swapped in)."""
    new_zone = os.path.join(work, "new.zone")
    served = os.path.join(work, "served.zone")
    shutil.copy(zone, served)
    with open(zone) as src, open(new_zone, "w") as dst:
        for line in src:
            dst.write(line.replace(" %d " % OLD_SERIAL, " %d " % NEW_SERIAL))
    p, port, err = start(binary, served, work)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    try:
        os.replace(new_zone, served)
        answers = []  # (time, serial)
        qid = random.randrange(65536)
        hup = time.monotonic()
        p.send_signal(signal.SIGHUP)
        deadline = hup + 60
        new_at = None
        next_send = hup
        hup2_due = hup + 0.05 if second_hup else None
        while time.monotonic() < deadline:
            now = time.monotonic()
            if hup2_due is not None and now >= hup2_due:
                p.send_signal(signal.SIGHUP)
                hup2_due = None
            if now >= next_send:
                qid = (qid + 1) & 0xFFFF
                try:
                    s.send(soa_query(qid))
                except BlockingIOError:
                    pass
                next_send = now + 0.003
            r, _, _ = select.select([s], [], [], max(0.0, next_send - time.monotonic()))
            while r:
                try:
                    reply = s.recv(4096)
                except BlockingIOError:
                    break
                t = time.monotonic()
                serial = soa_serial(reply)
                answers.append((t, serial))
                if serial == NEW_SERIAL and new_at is None:
                    new_at = t
            if new_at is not None and time.monotonic() > new_at + 0.2:
                break
        if new_at is None:
            err.seek(0)
            sys.exit("FAIL: the new serial was never served within 60 s\n" + err.read())
        times = [hup] + [t for t, _ in answers if t <= new_at]
        gap = max(b - a for a, b in zip(times, times[1:]))
        old_answers = sum(1 for t, v in answers if t <= new_at and v == OLD_SERIAL)
        f = {"reload_s": new_at - hup, "max_gap_s": gap, "answers_during": old_answers}
        if second_hup:
            text = ""
            end = time.monotonic() + 60
            while time.monotonic() < end:
                err.seek(0)
                text = err.read()
                if text.count("reload done") >= 2:
                    break
                time.sleep(0.1)
            f["coalesced"] = (text.count("reload done") == 2 and
                              "a reload is under way; loading again when it ends" in text and
                              "reloading again for the SIGHUP that came during the load" in text)
            if not f["coalesced"]:
                f["stderr"] = text
        return f
    finally:
        s.close()
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
        err.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--zone", help="a zone made by bench/gen_zone.py (else one is made)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="reload_gap.")
    try:
        zone = a.zone
        if not zone:
            zone = os.path.join(work, "gen.zone")
            subprocess.run([sys.executable, GEN, "--records", str(a.records), "--zone", zone],
                           check=True, stdout=subprocess.DEVNULL)
        f = measure(a.binary, zone, work, second_hup=not a.json)
        if a.json:
            print(json.dumps(f))
            return 0
        print("reload took %.3f s; longest gap between answers %.3f s; %d answers from the "
              "old zone meanwhile" % (f["reload_s"], f["max_gap_s"], f["answers_during"]))
        if f["max_gap_s"] >= f["reload_s"] / 2 or f["max_gap_s"] >= 1.0:
            print("FAIL: answers stopped during the reload (gap %.3f s of a %.3f s reload)"
                  % (f["max_gap_s"], f["reload_s"]))
            return 1
        if not f["coalesced"]:
            print("FAIL: a second SIGHUP 50 ms into the load was not coalesced into one "
                  "more load:\n" + f["stderr"])
            return 1
        print("a second SIGHUP during the load: one more load after it, as documented")
        print("PASS")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
