#!/usr/bin/env python3
"""A stand-in daemon whose address outlives it (tests/scenarios/process/restart_wait.lua).

Usage: lingering_holder.py ADDR PORT HOLD_S

It binds UDP ADDR:PORT and answers every query with its header echoed back
as a reply (QR set, REFUSED): "any reply" is what the run waits for. A
child of it leaves the process group (setsid), so the run's kill of the
daemon's group does not reach it, and keeps the socket open for HOLD_S
seconds after the daemon is gone: the address is still taken when the run
starts the daemon again, as it is, briefly, when a killed daemon's
processes have not yet been torn down on a busy machine. A second copy that
finds the address taken exits 1 with "Address already in use", as a real
daemon does.
"""
import os
import socket
import sys
import time

addr, port, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.bind((addr, port))
except OSError as e:
    print("lingering_holder: cannot bind %s:%d: %s" % (addr, port, e.strerror), flush=True)
    sys.exit(1)
daemon = os.getpid()
if os.fork() == 0:
    os.setsid()
    give_up = time.monotonic() + 60  # never outlive a run by much
    while os.getppid() == daemon and time.monotonic() < give_up:
        time.sleep(0.005)
    time.sleep(hold)
    os._exit(0)
print("lingering_holder: answering on %s:%d" % (addr, port), flush=True)
while True:
    data, peer = s.recvfrom(4096)
    if len(data) >= 12:
        flags = (data[2] | 0x80, (data[3] & 0xF0) | 5)  # QR, REFUSED
        s.sendto(data[:2] + bytes(flags) + data[4:], peer)
