#!/usr/bin/env python3
"""live_metrics.py - `dnschaos run --metrics` end to end (docs/gameday.md, "Watching").

Runs tests/e2e/live.lua with --metrics 127.0.0.1:0 (the sandbox where the
kernel allows it: the listener is bound before it, so the host reaches it),
scrapes GET /metrics about three times a second while it plays, and then:

- every scrape passes a strict parser of the Prometheus text format 0.0.4
  written here (HELP/TYPE before the samples of their family, families not
  interleaved, no series twice, label escaping, histograms with increasing
  `le`, cumulative buckets, `+Inf`, `_count` equal to it, `_sum`), and
  `promtool check metrics` where Debian's prometheus package is installed
  (skipped with a message otherwise);
- the invariant: a scrape's figures are exactly the history's. The scrape
  says how many lines it had seen (`dnschaos_history_lines_total` N) and at
  what run time (`dnschaos_run_seconds`); every sample of it is recomputed
  here from the first N lines of the finished history file, by the rules
  docs/gameday.md gives, and must be equal (counters to the unit, gauges to
  1e-6). This holds whatever the timing: the aggregate is fed each line as
  the writer ends it, on the loop that answers the scrape;
- not vacuous: scrapes came from before the faults to after them, lookups
  and faults were counted, and the figures grew;
- other paths get 404; addresses off loopback and bad ones are refused with
  exit 3 and the reason, before anything runs.

Usage: live_metrics.py DNSCHAOS SCENARIO_DIR(tests/e2e)
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PROM_LE_MS = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
ACTIONS = ["answered", "dropped", "rcode", "truncated", "wrong", "queue-full", "axfr"]
OUTCOMES = ["ok", "fail", "timeout", "cancelled"]
CLASSES = ["fresh", "stale", "wrong"]

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


# ---- a strict parser of the text format 0.0.4 ----

def parse_value(s, where):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", s):
        raise ValueError("%s: bad value %r" % (where, s))
    return float(s)


def parse_labels(text, i, where):
    """Parses {k="v",...} from text[i] == '{'; returns (labels, index after '}')."""
    labels = {}
    i += 1
    while True:
        if text[i] == "}":
            return labels, i + 1
        m = LABEL.match(text, i)
        if not m:
            raise ValueError("%s: bad label name at %r" % (where, text[i:]))
        key = m.group(0)
        i = m.end()
        if text[i:i + 2] != '="':
            raise ValueError("%s: expected =\" after %s" % (where, key))
        i += 2
        val = []
        while True:
            c = text[i]
            if c == "\\":
                nxt = text[i + 1]
                if nxt not in '\\"n':
                    raise ValueError("%s: bad escape \\%s" % (where, nxt))
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError("%s: raw newline in a label value" % where)
            else:
                val.append(c)
                i += 1
        if key in labels:
            raise ValueError("%s: label %s twice" % (where, key))
        labels[key] = "".join(val)
        if text[i] == ",":
            i += 1
        elif text[i] != "}":
            raise ValueError("%s: expected , or } after a label" % where)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[:-len(suffix)]) == "histogram":
            return name[:-len(suffix)]
    return name


def parse_exposition(text):
    """Returns {(name, frozenset(labels.items())): value}; raises ValueError on any breach."""
    if not text.endswith("\n"):
        raise ValueError("the text does not end with a newline")
    types, helps, samples = {}, {}, {}
    done = set()      # families whose samples are over (another family began)
    current = None
    order = []        # (family, name, labels) in order, for the histogram checks
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d" % n
        if line == "":
            raise ValueError("%s: empty line" % where)
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+) (.*)", line)
            if not m or not NAME.fullmatch(m.group(2)):
                raise ValueError("%s: a comment that is not HELP or TYPE: %r" % (where, line))
            kind, name, rest = m.groups()
            if name in done or name in samples_families(samples, types):
                raise ValueError("%s: %s for %s after its samples" % (where, kind, name))
            if kind == "TYPE":
                if rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise ValueError("%s: unknown type %r" % (where, rest))
                if name in types:
                    raise ValueError("%s: TYPE of %s twice" % (where, name))
                types[name] = rest
            else:
                if name in helps:
                    raise ValueError("%s: HELP of %s twice" % (where, name))
                if re.search(r"\\[^\\n]", rest):
                    raise ValueError("%s: bad escape in HELP" % where)
                helps[name] = rest
            continue
        m = NAME.match(line)
        if not m:
            raise ValueError("%s: bad metric name: %r" % (where, line))
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line + "\n", i, where)
        if i >= len(line) or line[i] != " ":
            raise ValueError("%s: expected a space before the value" % where)
        parts = line[i + 1:].split(" ")
        if len(parts) not in (1, 2):
            raise ValueError("%s: extra fields" % where)
        value = parse_value(parts[0], where)
        fam = family_of(name, types)
        if fam not in types:
            raise ValueError("%s: sample of %s before its TYPE" % (where, fam))
        if fam != current:
            if fam in done:
                raise ValueError("%s: samples of %s interleaved with another family" % (where, fam))
            if current is not None:
                done.add(current)
            current = fam
        if types[fam] == "counter" and not value >= 0:
            raise ValueError("%s: counter %s is %r" % (where, name, value))
        if types[fam] == "histogram" and name == fam:
            raise ValueError("%s: a histogram sample without _bucket/_sum/_count" % where)
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise ValueError("%s: series %s%s twice" % (where, name, labels))
        samples[key] = value
        order.append((fam, name, labels, value, where))
    check_histograms(order, types)
    return samples


def samples_families(samples, types):
    return {family_of(name, types) for name, _ in samples}


def check_histograms(order, types):
    series = {}
    for fam, name, labels, value, where in order:
        if types[fam] != "histogram":
            continue
        base = frozenset((k, v) for k, v in labels.items() if k != "le")
        s = series.setdefault((fam, base), {"buckets": [], "sum": None, "count": None})
        if name == fam + "_bucket":
            if "le" not in labels:
                raise ValueError("%s: a bucket without le" % where)
            le = parse_value(labels["le"], where)
            if s["buckets"] and not le > s["buckets"][-1][0]:
                raise ValueError("%s: le not increasing" % where)
            if s["buckets"] and value < s["buckets"][-1][1]:
                raise ValueError("%s: buckets not cumulative" % where)
            s["buckets"].append((le, value))
        elif name == fam + "_sum":
            s["sum"] = value
        else:
            s["count"] = value
    for (fam, base), s in series.items():
        if not s["buckets"] or s["buckets"][-1][0] != math.inf:
            raise ValueError("%s%s: no +Inf bucket" % (fam, dict(base)))
        if s["count"] is None or s["count"] != s["buckets"][-1][1]:
            raise ValueError("%s%s: _count is not the +Inf bucket" % (fam, dict(base)))
        if s["sum"] is None:
            raise ValueError("%s%s: no _sum" % (fam, dict(base)))


def self_test_parser():
    """The parser refuses what the format forbids (so a pass means something)."""
    good = ('# HELP a_total x\n# TYPE a_total counter\na_total{l="q\\"\\\\\\n"} 1\n'
            '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n')
    parse_exposition(good)
    bad = [
        "a 1\n",                                                   # no TYPE
        "# TYPE a gauge\na 1\na 2\n",                              # series twice
        "# TYPE a gauge\na{l=\"x\\t\"} 1\n",                       # bad escape
        "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 1\n",  # interleaved
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 0\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0\nh_count 1\n",
        "# TYPE a counter\na -1\n",
        "# TYPE a gauge\na 1",                                     # no final newline
        "# TYPE a gauge\na 1\n# HELP a late\n",
        "# TYPE a gauge\na{l=\"1\",l=\"2\"} 1\n",
    ]
    for b in bad:
        try:
            parse_exposition(b)
        except (ValueError, IndexError):
            continue
        fail("the strict parser accepted %r" % b)


# ---- the figures, recomputed from the history (docs/gameday.md) ----

def expected(lines, now):
    """The samples a scrape at run time `now` after these history lines must hold."""
    out = {}

    def put(name, value, **labels):
        out[(name, frozenset(labels.items()))] = float(value)

    meta = json.loads(lines[0])
    res, res_order = {}, []
    backends, routes, clients, kinds, faults = {}, {}, {}, {}, {}
    stalls, ended = 0, False

    def resolver(name):
        if name not in res:
            res[name] = {"state": "", "serial": None, "actions": {}, "q": []}
            res_order.append(name)
        return res[name]

    def backend(vip, name):
        return backends.setdefault((vip, name), {"up": None, "removed": False, "ok": 0,
                                                 "failed": 0})

    for raw in lines:
        ln = json.loads(raw)
        ty = ln["type"]
        if ty == "state" and "resolver" in ln:
            resolver(ln["resolver"])["state"] = ln["state"]
        elif ty == "boot" and "resolver" in ln:
            r = resolver(ln["resolver"])
            if ln.get("zones"):
                r["serial"] = int(ln["zones"][0].rsplit(" ", 1)[1])
        elif ty == "query" and "resolver" in ln:
            r = resolver(ln["resolver"])
            a = ln.get("action")
            a = a if a in ACTIONS else "other"
            r["actions"][a] = r["actions"].get(a, 0) + 1
            r["q"].append((ln["t"], ln.get("queue_ms", 0.0)))
        elif ty == "vip":
            for b in ln.get("backends", []):
                backend(ln["vip"], b)
        elif ty == "health":
            b = backend(ln["vip"], ln["backend"])
            ev = ln["event"]
            if ev in ("up", "down"):
                b["up"] = 1 if ev == "up" else 0
            elif ev == "removed":
                b["removed"] = True
            elif ev == "member":
                b["removed"] = False
            elif ev == "probe":
                b["ok" if ln["ok"] else "failed"] += 1
        elif ty == "route":
            if ln.get("backend") is not None:
                backend(ln["vip"], ln["backend"])
            key = (ln["vip"], ln.get("backend") or "", ln.get("action", ""))
            routes[key] = routes.get(key, 0) + 1
        elif ty == "lookup":
            c = clients.setdefault(ln["client"], {"stack": ln.get("stack", ""), "invoked": 0,
                                                  "out": {}, "cls": {}, "lat": []})
            ev = ln["event"]
            if ev == "invoke":
                c["invoked"] += 1
                continue
            c["out"][ev] = c["out"].get(ev, 0) + 1
            if ln.get("class") in CLASSES:
                c["cls"][ln["class"]] = c["cls"].get(ln["class"], 0) + 1
            if ev != "cancelled":
                c["lat"].append(ln["latency_ms"])
        elif ty == "fault":
            k = kinds.setdefault((ln["target"], ln["fault"]), {"injected": 0, "active": 0})
            if ln["action"] == "inject":
                k["injected"] += 1
                k["active"] += 1
                faults[ln["id"]] = (ln["target"], ln["fault"])
            elif ln["action"] == "heal" and ln["id"] in faults:
                kinds[faults.pop(ln["id"])]["active"] -= 1
        elif ty == "stall":
            stalls += 1
        elif ty == "end":
            ended = True

    put("dnschaos_run_seconds", now)
    put("dnschaos_run_duration_seconds", meta["duration"])
    put("dnschaos_history_lines_total", len(lines))
    put("dnschaos_stalls_total", stalls)
    put("dnschaos_run_ended", 1 if ended else 0)
    k = math.floor(now * 10)
    for name, r in res.items():
        for st in ("down", "booting", "up"):
            put("dnschaos_resolver_state", 1 if r["state"] == st else 0, resolver=name, state=st)
        if r["serial"] is not None:
            put("dnschaos_resolver_serial", r["serial"], resolver=name)
        for a in ACTIONS + ["other"]:
            put("dnschaos_resolver_queries_total", r["actions"].get(a, 0), resolver=name, action=a)
        window = [(t, w) for t, w in r["q"] if k - 9 <= math.floor(t * 10) <= k]
        put("dnschaos_resolver_qps", len(window), resolver=name)
        put("dnschaos_resolver_queue_wait_max_seconds",
            max([w for _, w in window] + [0.0]) / 1000.0, resolver=name)
    for (vip, name), b in backends.items():
        if b["up"] is not None:
            put("dnschaos_vip_backend_up", b["up"], vip=vip, backend=name)
        put("dnschaos_vip_backend_member", 0 if b["removed"] else 1, vip=vip, backend=name)
        put("dnschaos_vip_backend_probes_total", b["ok"], vip=vip, backend=name, ok="true")
        put("dnschaos_vip_backend_probes_total", b["failed"], vip=vip, backend=name, ok="false")
    for (vip, b, a), n in routes.items():
        put("dnschaos_vip_routes_total", n, vip=vip, backend=b, action=a)
    for name, c in clients.items():
        lb = {"client": name, "stack": c["stack"]}
        put("dnschaos_client_lookups_invoked_total", c["invoked"], **lb)
        for o in OUTCOMES:
            put("dnschaos_client_lookups_total", c["out"].get(o, 0), outcome=o, **lb)
        for cl in CLASSES:
            put("dnschaos_client_answers_total", c["cls"].get(cl, 0), **{"class": cl}, **lb)
        for le in PROM_LE_MS:
            put("dnschaos_client_lookup_duration_seconds_bucket",
                sum(1 for x in c["lat"] if x <= le), le="%g" % (le / 1000.0), **lb)
        put("dnschaos_client_lookup_duration_seconds_bucket", len(c["lat"]), le="+Inf", **lb)
        total = 0.0
        for x in c["lat"]:  # summed in the file's order, as the aggregate does
            total += x
        put("dnschaos_client_lookup_duration_seconds_sum", total / 1000.0, **lb)
        put("dnschaos_client_lookup_duration_seconds_count", len(c["lat"]), **lb)
    for (target, kind), kd in kinds.items():
        put("dnschaos_fault_active", kd["active"], target=target, kind=kind)
        put("dnschaos_faults_injected_total", kd["injected"], target=target, kind=kind)
    return out


def compare(scrape, lines, label):
    got = parse_exposition(scrape)
    n = int(got[("dnschaos_history_lines_total", frozenset())])
    now = got[("dnschaos_run_seconds", frozenset())]
    if n < 1 or n > len(lines):
        fail("%s: %d lines seen, the history has %d" % (label, n, len(lines)))
    want = expected(lines[:n], now)
    missing = set(want) - set(got)
    extra = set(got) - set(want)
    if missing or extra:
        fail("%s (%d lines): series missing %s, unexpected %s" %
             (label, n, sorted(missing)[:5], sorted(extra)[:5]))
    for key, v in want.items():
        g = got[key]
        if not (abs(g - v) <= 1e-6 * max(1.0, abs(v))):
            fail("%s (%d lines, t %.6f): %s%s is %r, the history's first %d lines give %r" %
                 (label, n, now, key[0], dict(key[1]), g, n, v))
    return n, got


def scrape(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            ctype = r.headers.get("Content-Type", "")
            if r.status != 200 or not ctype.startswith("text/plain; version=0.0.4"):
                fail("GET %s: %s %r" % (url, r.status, ctype))
            return r.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=2.0) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def refusals(dnschaos, scenario):
    for addr, words in (("0.0.0.0:9100", "only a loopback address is served"),
                        ("10.1.2.3:0", "only a loopback address is served"),
                        ("[::]:0", "only a loopback address is served"),
                        ("nonsense", "--metrics nonsense")):
        p = subprocess.run([dnschaos, "run", scenario, "--metrics", addr], capture_output=True,
                           text=True, timeout=30)
        if p.returncode != 3 or words not in p.stderr:
            fail("--metrics %s: exit %d, stderr %r (want exit 3 and %r)" %
                 (addr, p.returncode, p.stderr, words))
    print("ok: --metrics off loopback or malformed is refused with exit 3")


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    dnschaos, here = sys.argv[1], sys.argv[2]
    scenario = os.path.join(here, "live.lua")
    self_test_parser()
    print("ok: the strict parser refuses each breach of the format it is shown")
    refusals(dnschaos, scenario)

    tmp = tempfile.mkdtemp(prefix="dnschaos-live-")
    hist = os.path.join(tmp, "h.jsonl")
    err = open(os.path.join(tmp, "stderr"), "w+")
    proc = subprocess.Popen([dnschaos, "run", scenario, "--metrics", "127.0.0.1:0", "--history",
                             hist, "-q"], stdout=subprocess.DEVNULL, stderr=err)
    scrapes = []
    try:
        url = None
        deadline = time.monotonic() + 20
        while url is None and time.monotonic() < deadline:
            err.seek(0)
            m = re.search(r"dnschaos: metrics at (http://127\.0\.0\.1:[0-9]+/metrics)\n", err.read())
            if m:
                url = m.group(1)
            elif proc.poll() is not None:
                break
            else:
                time.sleep(0.05)
        if not url:
            err.seek(0)
            fail("no 'metrics at' line on stderr: %r" % err.read())
        not_found = None
        while proc.poll() is None and time.monotonic() < deadline + 30:
            text = scrape(url)
            if text is not None:
                scrapes.append(text)
                if not_found is None:
                    not_found = status_of(url.replace("/metrics", "/other"))
            time.sleep(0.3)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err.seek(0)
    stderr = err.read()
    if rc != 0:
        fail("the run exited %d: %s" % (rc, stderr))
    sandboxed = "sandbox" not in stderr  # the fallback says why on stderr
    with open(hist, encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n") if l.strip()]
    if not_found != 404:
        fail("GET /other answered %r, not 404" % not_found)
    if len(scrapes) < 5:
        fail("only %d scrapes answered during a 6 s run" % len(scrapes))
    seen = []
    for i, s in enumerate(scrapes):
        n, got = compare(s, lines, "scrape %d" % (i + 1))
        seen.append((n, got))
    ns = [n for n, _ in seen]
    if ns != sorted(ns) or ns[0] == ns[-1]:
        fail("the scrapes' line counts do not grow: %s" % ns)
    first_fault = next(i for i, l in enumerate(lines) if '"type":"fault"' in l) + 1
    if ns[0] >= first_fault or ns[-1] < first_fault:
        fail("the scrapes (lines %d..%d) do not span the first fault (line %d)" %
             (ns[0], ns[-1], first_fault))
    last = seen[-1][1]
    lookups = sum(v for (name, _), v in last.items() if name == "dnschaos_client_lookups_total")
    injected = sum(v for (name, _), v in last.items() if name == "dnschaos_faults_injected_total")
    if lookups < 50 or injected < 2:
        fail("the last scrape counted %d lookups and %d faults" % (lookups, injected))
    print("ok: %d scrapes (%s), each equal to the first N lines of the history, N from %d to %d "
          "of %d; %d lookups, %d faults in the last" %
          (len(scrapes), "from the host into the sandbox" if sandboxed else "on the host",
           ns[0], ns[-1], len(lines), lookups, injected))

    promtool = shutil.which("promtool")
    if promtool:
        p = subprocess.run([promtool, "check", "metrics"], input=scrapes[-1], text=True,
                           capture_output=True, timeout=30)
        if p.returncode != 0:
            fail("promtool check metrics: %s%s" % (p.stdout, p.stderr))
        print("ok: promtool check metrics")
    elif os.environ.get("CI"):
        # ci/install.sh installs it: in CI its absence is a broken install, not a skip.
        fail("promtool is not installed, and CI installs it (Debian: prometheus)")
    else:
        print("skip: promtool is not installed (Debian: prometheus); the strict parser above "
              "stands in for it")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
