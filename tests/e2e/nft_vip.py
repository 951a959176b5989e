#!/usr/bin/env python3
"""nft_vip.py - the VIP of kind "nftables" end to end, in a private network
namespace: the kernel's DNAT and conntrack with real sockets.

  pinning  a UDP flow stays on its backend while its conntrack entry lives,
           even after that backend leaves the map (on_down = "keep"); a new
           flow then goes to a member
  flush    with on_down = "flush" the pinned flow moves at once, after the
           history's `flushed` line
  drop     with no backend in the map a new flow gets nothing
  expiry   with flow_idle = 2, a flow silent for 3 s is routed anew (the
           conntrack UDP timeouts were set), as the userspace VIP's pin expires
  refusal  outside a private network namespace (here: one with a dummy,
           veth or ifb interface besides lo) the run is refused, naming the s:vip line,
           and no table is made

Usage: nft_vip.py DNSCHAOS ZONE_FILE. Exit 77 (skipped) when unshare, nft,
conntrack or an unprivileged network namespace are missing.
"""
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile

VIP = "127.0.0.50:5353"

SCENARIO = """\
local s = scenario{ name = "nft pinning", duration = 7, seed = 1 }
local zone = s:zone("internal.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
local r2 = s:resolver{ name = "r2", zone = zone }
local vip = s:vip{ name = "vip", kind = "nftables", address = "%s",
                   backends = { r1, r2 }, on_down = "%s" }
s:at(2.5, vip, "remove", { backend = r2 })
s:at(4.0, vip, "remove", { backend = r1 })
"""

# The client, in the same namespace: two long-lived sockets (flows) asking
# every 0.1 s, and a new socket every 0.25 s asking once. It prints each
# socket's port and whether each of its queries got an answer, as JSON.
CLIENT = r"""
import json, os, socket, struct, sys, time
vip = (sys.argv[1].split(":")[0], int(sys.argv[1].split(":")[1]))
def query(qid):
    name = b"".join(bytes([len(p)]) + p for p in b"db-primary.internal".split(b".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
def ask(s, qid, wait=0.3):
    s.send(query(qid))
    s.settimeout(wait)
    try:
        return len(s.recv(512)) > 0
    except (socket.timeout, ConnectionRefusedError):
        return False
def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(vip)
    return s
# wait for the VIP (the table exists once the run has started)
t0 = time.monotonic()
while not ask(sock(), 1, 0.1):
    if time.monotonic() - t0 > 20:
        sys.exit("the VIP never answered")
flows = [sock(), sock()]
out = {"flows": [f.getsockname()[1] for f in flows], "fresh": []}
end = time.monotonic() + float(sys.argv[2])
qid, nextfresh = 100, 0
while time.monotonic() < end:
    for f in flows:
        qid += 1
        ask(f, qid, 0.05)
    if time.monotonic() >= nextfresh:
        s = sock()
        qid += 1
        out["fresh"].append([s.getsockname()[1], ask(s, qid, 0.2)])
        s.close()
        nextfresh = time.monotonic() + 0.25
    time.sleep(0.1)
print(json.dumps(out))
"""


EXPIRY = """\
local s = scenario{ name = "nft expiry", duration = 6, seed = 1 }
local zone = s:zone("internal.zone")
local r1 = s:resolver{ name = "r1", zone = zone }
local r2 = s:resolver{ name = "r2", zone = zone }
s:vip{ name = "vip", kind = "nftables", address = "%s", backends = { r1, r2 }, flow_idle = 2 }
"""

# T asks every 0.3 s (never idle); S asks twice, is silent for 3 s, asks again.
# Only S's return opens a flow after S's first: numgen inc gives it the slot
# after S's, the other backend. Prints the ports.
EXPIRY_CLIENT = r"""
import json, socket, struct, sys, time
vip = (sys.argv[1].split(":")[0], int(sys.argv[1].split(":")[1]))
def query(qid):
    name = b"".join(bytes([len(p)]) + p for p in b"db-primary.internal".split(b".")) + b"\0"
    return struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
def ask(s, qid, wait=0.3):
    s.send(query(qid))
    s.settimeout(wait)
    try:
        return len(s.recv(512)) > 0
    except (socket.timeout, ConnectionRefusedError):
        return False
def sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(vip)
    return s
t0 = time.monotonic()
while not ask(sock(), 1, 0.1):
    if time.monotonic() - t0 > 20:
        sys.exit("the VIP never answered")
T = sock(); ask(T, 2)
S = sock(); ask(S, 3); time.sleep(0.2); ask(S, 4)
end = time.monotonic() + 3.0
while time.monotonic() < end:
    ask(T, 5)
    time.sleep(0.3)
ask(S, 6)
print(json.dumps({"T": T.getsockname()[1], "S": S.getsockname()[1]}))
"""


def skip(why):
    print("SKIP: " + why)
    sys.exit(77)


def in_netns(script, *args, extra=""):
    """argv running the shell script in a new private user and network
    namespace with lo up (extra: more setup first). The one place to change
    when `dnschaos run --sandbox` replaces unshare."""
    return ["timeout", "60", "unshare", "-r", "-n", "sh", "-c",
            "ip link set lo up && " + extra + script, "sh"] + list(args)


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.endswith("\n")]


def run_pinning(dnschaos, zone, on_down, tmp):
    d = os.path.join(tmp, on_down)
    os.mkdir(d)
    shutil.copy(zone, os.path.join(d, "internal.zone"))
    scen = os.path.join(d, "pin.lua")
    with open(scen, "w") as f:
        f.write(SCENARIO % (VIP, on_down))
    client = os.path.join(d, "client.py")
    with open(client, "w") as f:
        f.write(CLIENT)
    hist = os.path.join(d, "h.jsonl")
    script = ('"$1" run -q "$2" --history "$3" >"$4" 2>&1 & run=$!; '
              'python3 "$5" "$6" 6.5 >"$7"; rc=$?; wait $run; echo "run=$?" >>"$4"; exit $rc')
    p = subprocess.run(in_netns(script, dnschaos, scen, hist, os.path.join(d, "run.out"),
                                client, VIP, os.path.join(d, "client.out")))
    runout = open(os.path.join(d, "run.out")).read()
    if p.returncode != 0:
        sys.exit("%s: the client failed (%d); the run said:\n%s" % (on_down, p.returncode, runout))
    if "run=0" not in runout:
        sys.exit("%s: the run failed:\n%s" % (on_down, runout))
    # every line as docs/history.md and its schema say
    chk = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "check_history.py"),
                          hist], capture_output=True, text=True)
    if chk.returncode == 77:
        print("(history schema not checked: %s)" % chk.stdout.strip()[:100])
    elif chk.returncode != 0:
        sys.exit("%s: the history breaks docs/history.md:\n%s%s" % (on_down, chk.stdout, chk.stderr))
    return lines(hist), json.load(open(os.path.join(d, "client.out")))


def check_pinning(h, c, on_down):
    port = {}
    for l in h:
        if l["type"] == "query" and l["src"].startswith("127.0.0.1:"):
            port.setdefault(int(l["src"].split(":")[1]), []).append((l["t"], l["resolver"]))
    health = [l for l in h if l["type"] == "health"]
    removed = {l["backend"]: l["t"] for l in health if l["event"] == "removed"}
    assert set(removed) == {"r1", "r2"}, health
    assert all(l.get("kernel_ms", -1) >= 0 for l in health if l["event"] == "removed"), health
    out2, out1 = removed["r2"], removed["r1"]
    # the flow pinned to r2
    pinned = [p for p in c["flows"] if port.get(p) and port[p][0][1] == "r2"]
    assert len(pinned) == 1, ("one of the two flows starts on r2", c["flows"], port)
    q = port[pinned[0]]
    # On r2 until r2's removal is decided (the timeline's entry at 2.5 s, never
    # sooner). Not "until the removed line": that line is written when nft's
    # command has ended, after the kernel has the change and (flush) after
    # the flush, so on a loaded machine the flow had moved before its time.
    assert all(r == "r2" for t, r in q if t < min(out2, 2.5)), q
    # One move at most, never back.
    rs = [r for t, r in q]
    assert rs == sorted(rs, key=lambda r: r != "r2"), q
    after = [(t, r) for t, r in q if t > out2]
    if on_down == "keep":
        # kept on r2 while its entry lives (0.1 s apart: never idle), even with no member
        assert len(after) >= 10 and all(r == "r2" for t, r in after), after
        assert not [l for l in health if l["event"] == "flushed"], health
    else:
        fl = [l for l in health if l["event"] == "flushed" and l["backend"] == "r2"]
        assert len(fl) == 1 and fl[0]["flows"] >= 1 and fl[0]["t"] >= out2, fl
        moved = [(t, r) for t, r in after if t > fl[0]["t"] and t < out1]
        assert len(moved) >= 5 and all(r == "r1" for t, r in moved), (fl, after)
    # new flows: to r1 while it is the only member, nowhere with none
    fresh_mid = [p for p, ok in c["fresh"] if port.get(p) and out2 < port[p][0][0] < out1]
    assert len(fresh_mid) >= 3, (c["fresh"], out2, out1)
    assert all(port[p][0][1] == "r1" for p in fresh_mid), [port[p] for p in fresh_mid]
    # New flows after the last member left reach no backend. Judged by what the
    # backends saw, not by the client's answers alone: on a loaded machine a
    # new flow while r1 was a member can be answered after the client's 0.2 s
    # (seen in CI: r1 read it at 0.94 s); it timed out, yet was never dropped.
    # A query read just after out1 may have been sent (and DNATed) before the
    # change reached the kernel; none is read 0.05 s after it.
    dropped = [p for p, ok in c["fresh"] if not ok and p not in port]
    assert len(dropped) >= 3, ("new flows after the last member left get nothing", c["fresh"])
    late = [(p, port[p]) for p, ok in c["fresh"] if p in port and port[p][0][0] > out1 + 0.05]
    assert not late, ("a new flow reached a backend after the last member left", out1, late)
    slow = [p for p, ok in c["fresh"] if not ok and p in port]
    # answered new flows all reached a backend (the join saw them there)
    for p, ok in c["fresh"]:
        if ok:
            assert p in port, ("an answered flow no backend saw", p)
    # each backend's query from the client is joined to no lookup (no client in the
    # scenario) and the vip line says what it is
    vip = [l for l in h if l["type"] == "vip"][0]
    assert vip["kind"] == "nftables" and vip["on_down"] == on_down, vip
    # no health check: both in the kernel's map from the start (what the
    # checker starts from when it asks whether the map was ever empty)
    assert vip["in_map"] == ["r1", "r2"], vip
    print("%s: pinned flow %d: %d queries after r2 left; %d new flows to r1; %d dropped; "
          "%d answered after the client's 0.2 s" %
          (on_down, pinned[0], len(after), len(fresh_mid), len(dropped), len(slow)))


def check_expiry(dnschaos, zone, tmp):
    d = os.path.join(tmp, "expiry")
    os.mkdir(d)
    shutil.copy(zone, os.path.join(d, "internal.zone"))
    scen = os.path.join(d, "expiry.lua")
    with open(scen, "w") as f:
        f.write(EXPIRY % VIP)
    client = os.path.join(d, "client.py")
    with open(client, "w") as f:
        f.write(EXPIRY_CLIENT)
    hist = os.path.join(d, "h.jsonl")
    script = ('"$1" run -q "$2" --history "$3" >"$4" 2>&1 & run=$!; '
              'python3 "$5" "$6" >"$7"; rc=$?; wait $run; echo "run=$?" >>"$4"; exit $rc')
    p = subprocess.run(in_netns(script, dnschaos, scen, hist, os.path.join(d, "run.out"),
                                client, VIP, os.path.join(d, "client.out")))
    runout = open(os.path.join(d, "run.out")).read()
    if p.returncode != 0 or "run=0" not in runout:
        sys.exit("expiry: the client (%d) or the run failed:\n%s" % (p.returncode, runout))
    c = json.load(open(os.path.join(d, "client.out")))
    at = {}
    for l in lines(hist):
        if l["type"] == "query" and l["src"].startswith("127.0.0.1:"):
            at.setdefault(int(l["src"].split(":")[1]), []).append((l["t"], l["resolver"]))
    s, t = at.get(c["S"], []), at.get(c["T"], [])
    assert len(s) == 3 and len(t) >= 5, (s, t)
    assert s[0][1] == s[1][1], ("S pinned while it talks", s)
    assert s[2][0] - s[1][0] > 2.5, s
    assert s[2][1] != s[1][1], ("S routed anew after 3 s of silence with flow_idle 2", s)
    assert len({r for _, r in t}) == 1, ("T never idle: pinned throughout", t)
    print("expiry: S on %s, silent %.1f s, then on %s; T stayed on %s" %
          (s[1][1], s[2][0] - s[1][0], s[2][1], t[0][1]))


def check_refusal(dnschaos, zone, tmp):
    d = os.path.join(tmp, "refuse")
    os.mkdir(d)
    shutil.copy(zone, os.path.join(d, "internal.zone"))
    scen = os.path.join(d, "pin.lua")
    with open(scen, "w") as f:
        f.write(SCENARIO % (VIP, "keep"))
    script = '"$1" run -q "$2" --history "$3"; echo "rc=$?"; nft list ruleset | grep -c dnschaos'
    p = subprocess.run(in_netns(script, dnschaos, scen, os.path.join(d, "h.jsonl"),
                                extra="{ ip link add dnschaos0 type dummy || ip link add "
                                      "dnschaos0 type veth peer name dnschaos1 || "
                                      "ip link add dnschaos0 type ifb; } 2>/dev/null && "),
                       capture_output=True, text=True)
    out = p.stdout + p.stderr
    if "rc=" not in out:
        skip("cannot add an interface (dummy, veth or ifb) in a user namespace here: " + out)
    assert re.search(r"pin\.lua:[45]: vip 'vip'", out) and "private network namespace" in out and \
        "dnschaos0" in out, out
    assert "rc=0" not in out, out
    assert p.stdout.strip().endswith("\n0"), ("no table made", out)
    print("refusal: " + [l for l in out.splitlines() if "private network" in l][0][:160])


def main():
    dnschaos, zone = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    for tool in ("unshare", "nft", "conntrack", "ip", "timeout"):
        if not shutil.which(tool):
            skip(tool + " is missing")
    if subprocess.run(["unshare", "-r", "-n", "nft", "list", "ruleset"],
                      capture_output=True).returncode != 0:
        skip("no private user and network namespace with nftables here (unshare -r -n)")
    with tempfile.TemporaryDirectory() as tmp:
        for on_down in ("keep", "flush"):
            h, c = run_pinning(dnschaos, zone, on_down, tmp)
            check_pinning(h, c, on_down)
        check_expiry(dnschaos, zone, tmp)
        check_refusal(dnschaos, zone, tmp)
    print("PASS")


if __name__ == "__main__":
    main()
