#!/usr/bin/env python3
"""live_screen.py - `dnschaos run --live` end to end (docs/gameday.md, "Watching").

  live_screen.py DNSCHAOS SCENARIO_DIR lines
      stderr a pipe: one status line a second in the documented format, t
      growing, the run's figures in it (resolver states, a client's success
      rate, a fault with its time left), a last line after the end (every
      resolver down), and the summary still on stdout.
  live_screen.py DNSCHAOS SCENARIO_DIR tmux
      the dashboard in a real terminal: the run inside `tmux new-session -d
      -x 160 -y 50` (a private tmux server), the pane captured every 0.3 s:
      resolver names and states, the VIP's backends, a client's success rate
      and the expectation's value so far appear; the frame is redrawn in place (one header per screen, the time
      in it moving between two captures); shrunk to 60x12, the frame is cut
      to fit (never scrolled) and says how many lines did not; after the run
      the last frame stays and the summary follows it. Exit 77 without tmux
      (Debian: tmux).
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time

STATUS = re.compile(
    r"live t=(\d+\.\d)/(\d+\.\d)"
    r" \| resolvers:((?: [^,|]+ (?:up|down|booting|-) \d+qps \d+q \d+d,?)*)"
    r" \| vips:((?: [^,|]+/[^,|]+ (?:up|down|\?)(?: removed)?,?)*)"
    r" \| clients:((?: [^,|]+ \d+ (?:-|\d+\.\d\d%)ok p99(?:<=-|<=\d+\.\d{3}ms|>18min)"
    r" \d+stale \d+wrong,?)*)"
    r" \| faults:((?: [^,|]+ [^,|]+ (?:\d+\.\ds|until-healed),?)*)"
    r" \| expectations:((?: [^;]+ (?:at-end|none-yet|\d+\.\d{4}\((?:>=|<=)[^)]+\)"
    r"|\d+\((?:>=|<=)[^)]+\)|<=\d+\.\dms\((?:>=|<=)[^)]+ms\)|>18min\([^)]+\));?)*)$")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def lines_mode(dnschaos, scenario):
    tmp = tempfile.mkdtemp(prefix="dnschaos-live-")
    hist = os.path.join(tmp, "h.jsonl")
    p = subprocess.run([dnschaos, "run", scenario, "--live", "--history", hist],
                       capture_output=True, text=True, timeout=90)
    if p.returncode != 0:
        fail("exit %d: %s" % (p.returncode, p.stderr))
    status = [l for l in p.stderr.splitlines() if l.startswith("live ")]
    if "\033" in p.stderr:
        fail("an escape sequence on stderr, which is not a terminal")
    for l in status:
        if not STATUS.fullmatch(l):
            fail("a status line not in the documented format: %r" % l)
    ts = [float(STATUS.fullmatch(l).group(1)) for l in status]
    # one a second over a 6 s run, and the last one after the end line
    if len(status) < 4 or ts != sorted(ts):
        fail("%d status lines, t %s" % (len(status), ts))
    if not any(re.search(r"\| clients: .*app \d+ \d+\.\d\d%ok", l) for l in status):
        fail("no client success rate in the status lines")
    if not all(re.search(r"\| expectations: app keeps resolving (none-yet|\d\.\d{4}\(>=0\.5\))$", l)
               for l in status):
        fail("the expectation's value so far is not on every line: %s" % status)
    if not any(re.search(r"\| faults: .*r2 hang \d+\.\ds", l) for l in status):
        fail("the hang fault and its time left never showed: %s" % status)
    last = STATUS.fullmatch(status[-1])
    if " up " in last.group(3) or last.group(3).count(" down ") != 3:
        fail("the last line is not after the end (every resolver down): %r" % status[-1])
    if "verdict: PASS" not in p.stdout:
        fail("the summary is missing from stdout: %r" % p.stdout)
    shutil.rmtree(tmp, ignore_errors=True)
    print("ok: %d status lines, t %s .. %s, the last after the end; the summary on stdout" %
          (len(status), ts[0], ts[-1]))
    return 0


def tmux_mode(dnschaos, scenario):
    tmux = shutil.which("tmux")
    if not tmux:
        print("skip: tmux is not installed (Debian: tmux)")
        return 77
    if not stat.S_ISCHR(os.stat("/dev/null").st_mode):
        # tmux's server refuses to start then ("server exited unexpectedly")
        print("skip: /dev/null is not a character device here, and tmux needs one")
        return 77
    tmp = tempfile.mkdtemp(prefix="dnschaos-live-")
    sock = "dnschaos-live-%d" % os.getpid()
    hist = os.path.join(tmp, "h.jsonl")
    done = os.path.join(tmp, "done")
    cmd = "%s run %s --live --history %s; echo exit=$? > %s; sleep 60" % (
        dnschaos, scenario, hist, done)
    t = [tmux, "-L", sock, "-f", "/dev/null"]
    caps = []
    try:
        subprocess.run(t + ["new-session", "-d", "-x", "160", "-y", "50", cmd], check=True,
                       timeout=10, env=dict(os.environ, TERM="xterm"))
        deadline = time.monotonic() + 60
        resized_at = None
        while not os.path.exists(done) and time.monotonic() < deadline:
            c = subprocess.run(t + ["capture-pane", "-p"], capture_output=True, text=True,
                               timeout=10)
            if c.returncode == 0:
                caps.append(c.stdout)
            seen_t = {m.group(1) for x in caps for m in [re.search(r"live views  t (\S+)", x)] if m}
            if resized_at is None and len(seen_t) >= 3 and any("app " in x for x in caps):
                # a window too small for the frame: it must be cut, never scroll
                subprocess.run(t + ["resize-window", "-x", "60", "-y", "12"], check=True,
                               timeout=10)
                resized_at = len(caps)
            time.sleep(0.3)
        time.sleep(0.3)
        final = subprocess.run(t + ["capture-pane", "-p", "-S", "-100"], capture_output=True,
                               text=True, timeout=10).stdout
    finally:
        subprocess.run(t + ["kill-server"], capture_output=True, timeout=10)
    if not os.path.exists(done):
        fail("the run did not end within 60 s")
    with open(done) as f:
        if f.read().strip() != "exit=0":
            fail("the run failed: %s" % final)
    small = [c for c in caps[resized_at or len(caps):] if "more lines: the window" in c]
    if not small:
        fail("after the window shrank to 60x12, no frame said what did not fit:\n%s" % caps[-1])
    for c in small:
        rows = c.rstrip("\n").split("\n")
        if c.count("dnschaos live") != 1 or len(rows) > 12 or max(map(len, rows)) > 60:
            fail("a frame in the 60x12 window scrolled or overflowed:\n%s" % c)
    caps = caps[:resized_at]
    frames = [c for c in caps if "dnschaos live" in c]
    if len(frames) < 3:
        fail("%d captures showed the dashboard" % len(frames))
    for c in frames:
        if c.count("dnschaos live") != 1:
            fail("a capture holds %d headers: frames scroll instead of being redrawn:\n%s" %
                 (c.count("dnschaos live"), c))
    clock = set()
    for c in frames:
        m = re.search(r"dnschaos live  live views  t (\d+\.\d) / 6\.0 s", c)
        if not m:
            fail("no header with the run's name and time:\n%s" % c)
        clock.add(m.group(1))
    if len(clock) < 2:
        fail("the dashboard never redrew (always t %s)" % clock)
    mid = [c for c in frames if re.search(r"^app +glibc +\d+ +\d+ +\d+\.\d\d%", c, re.M)]
    if not mid:
        fail("no capture showed app's success rate:\n%s" % frames[-1])
    c = mid[-1]
    for want in (r"^RESOLVER +state", r"^r1 +up ", r"^r2 +(up|down) ", r"^r3 +up ",
                 r"^vip +r1 ", r"^vip +r2 ", r"^direct +c-ares ", r"^EXPECTATIONS \(1\)",
                 r"^  app keeps resolving +\d\.\d{4} \(>= 0\.5\)$"):
        if not re.search(want, c, re.M):
            fail("%r is not on the screen:\n%s" % (want, c))
    # the last frame (every resolver down, after the end) stays, and the summary follows it
    if "ended:" not in final or "verdict: PASS" not in final:
        fail("the last frame or the summary is missing:\n%s" % final)
    if final.rindex("ended:") > final.index("verdict: PASS"):
        fail("the summary came before the last frame:\n%s" % final)
    if os.environ.get("LIVE_SCREEN_SHOW"):
        print(c)
    shutil.rmtree(tmp, ignore_errors=True)
    print("ok: %d frames in tmux, redrawn in place (t %s), names, states and success rates "
          "on screen, the summary after the last frame" % (len(frames), sorted(clock)))
    return 0


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("lines", "tmux"):
        print(__doc__)
        return 2
    dnschaos = os.path.abspath(sys.argv[1])
    scenario = os.path.join(os.path.abspath(sys.argv[2]), "live.lua")
    return lines_mode(dnschaos, scenario) if sys.argv[3] == "lines" else tmux_mode(dnschaos,
                                                                                 scenario)


if __name__ == "__main__":
    sys.exit(main())
