#!/usr/bin/env python3
"""`dnschaos replay`: a recorded run written back as a scenario repeats it
(docs/gameday.md, "Afterwards: a game day as a regression test").

Usage: replay.py DNSCHAOS REPO

Runs, side by side, tests/e2e/replay_gameday.lua (a short game day with
every kind of timeline line replay reads: faults with and without a
duration, a fault healed on its own, a wrong answer from a zone file, a
crash with a stale reboot, stop and start, restart, reload, a publish, a VIP
member pulled and put back, rate changes, a check(fn) expectation) and
shipped scenarios (scenarios/outage_replay.lua: a rate changed every 0.25 s
by a timeline function, a crash, a manual VIP removal; tests/scenarios/
faults.lua). Then, for each:

- `dnschaos replay HISTORY --output FILE` exits 0, warns on stderr about
  what it left out (timeline functions, check(fn)) and names it in the
  comment at the top; the scenario is grouped (farm, clients, timeline in
  time order, expectations), each entry when the original's was due;
- the replay runs, and `dnschaos check` of its history against it gives the
  same exit code as the run (the scenario passes check itself);
- the fault timeline is the same: the (target, kind, action) of every fault,
  state and publish line, every VIP membership change made by hand and
  every rate change, matched one to one, each within TOLERANCE_S of the
  original's time (what happens at the start compared from the running
  line);
- the game day's verdict and each of its expectations' results are the
  original's (the shipped scenarios' verdicts are calibrated on an idle
  machine and are not compared here; their timelines are);
- round trip: replaying the replay's history writes the same scenario, from
  its `local s = scenario{` line on (the opening comment names the history
  it came from and what the original left out).

And the errors: not JSON, another schema, a history cut before its declare
lines, one from a dnschaos without them, a missing history, a bad --output
folder: exit 3 with FILE:LINE (or FILE) and no output file written.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

BIN, REPO = sys.argv[1], sys.argv[2]
failed = 0

# Timeline tolerance. The replay writes each entry when the original's entry
# was due (to 1 ms, GRID_S), or, for an action without one (by hand, or from
# a timeline function after it paused), at its line's time floored to 1 ms.
# Each run's timers fire late by as long as its loop takes to come back to
# them: a busy callback, or a core the scheduler gave to another process (the
# test runs three scenarios at once, on a 2-core machine shared with builds).
# Measured here: mostly under 1 ms, 20 ms and once 119 ms under load. The
# harness itself counts its loop as on time up to 250 ms late (a stall line
# only from there on, docs/history.md), so that is the bound: a difference
# beyond it is not lateness. Sequence errors (a fault doubled, missing,
# another kind) fail whatever the tolerance.
GRID_S = 0.001
LATENESS_S = 0.250
TOLERANCE_S = GRID_S + LATENESS_S
# The start: the farm comes up before the loop runs (the running line), in a
# time that varies from run to run (threads, transfers); what happens within
# START_S after it (the first turn's entries, the first boots from the
# source) is compared from the running line, the rest from the run's start.
START_S = 0.100


def ok(msg):
    print('ok   ' + msg)


def bad(msg, out=''):
    global failed
    failed += 1
    print('FAIL ' + msg)
    for l in str(out).splitlines()[:40]:
        print('     ' + l)


def lines(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(l) for l in f if l.endswith('\n')]


def timeline(hist):
    """The fault timeline: (t, key) of fault, state, publish, membership and rate-change lines."""
    evs, running, rates = [], 0.0, {}
    for o in hist:
        ty, t = o['type'], o['t']
        if ty == 'running':
            running = t
        elif ty == 'fault':
            evs.append((t, ('fault', o['target'], o['fault'], o['action'])))
        elif ty == 'state':
            evs.append((t, ('state', o.get('resolver') or o.get('source'), o['state'], o['why'])))
        elif ty == 'publish':
            evs.append((t, ('publish', o['source'], o['serial'], bool(o.get('initial')))))
        elif ty == 'health' and o['event'] in ('removed', 'member'):
            evs.append((t, ('member', o['vip'], o['backend'], o['event'])))
        elif ty == 'rate':
            if rates.get(o['client']) != o['rate']:
                evs.append((t, ('rate', o['client'], o['rate'])))
            rates[o['client']] = o['rate']
    return evs, running


def declared_rates(hist):
    """Rates the clients were declared with (a rate line setting one again is no change)."""
    out = {}
    for o in hist:
        if o['type'] == 'declare' and o['what'] == 'client' and 'rate' in o['opts']:
            out[o['opts']['name']] = float(o['opts']['rate'])
        if o['type'] == 'declare' and o['what'] == 'rate':
            out[o['opts']['client']['name']] = float(o['opts']['rate'])
    return out


def compare_timelines(name, h1, h2):
    """Every line of one matched to one of the other: same key, time within tolerance."""
    (a, run1), (b, run2) = timeline(h1), timeline(h2)
    # A rate line setting a client's declared rate again is no change.
    for evs, hist in ((a, h1), (b, h2)):
        dr = declared_rates(hist)
        evs[:] = [e for e in evs if not (e[1][0] == 'rate' and dr.get(e[1][1]) == e[1][2]
                                          and not any(x[1][0] == 'rate' and x[1][1] == e[1][1]
                                                      and x[0] < e[0] for x in evs))]
    def norm(t, run):
        # Before the running line: the farm's start, from 0; just after it, from it.
        return t - run if run <= t < run + START_S else t
    used = [False] * len(b)
    worst, worst_key = 0.0, ''
    missing = []
    for t, key in a:
        best = None
        for j, (u, k2) in enumerate(b):
            if used[j] or k2 != key:
                continue
            d = abs(norm(u, run2) - norm(t, run1))
            if d <= TOLERANCE_S and (best is None or d < best[0]):
                best = (d, j, key)
        if best is None:
            missing.append('%.6f %s' % (t, key))
        else:
            used[best[1]] = True
            if best[0] >= worst:
                worst, worst_key = best[0], '%.3f %s' % (t, key)
    extra = ['%.6f %s' % (u, k) for (u, k), x in zip(b, used) if not x]
    if missing or extra:
        bad('%s: the replay\'s fault timeline differs (%d lines, %d matched)' %
            (name, len(a), len(a) - len(missing)),
            '\n'.join(['original only: ' + m for m in missing[:15]] +
                      ['replay only: ' + e for e in extra[:15]]))
        return None
    ok('%s: fault timeline equal: %d lines, worst time difference %.1f ms (tolerance %.0f ms): %s'
       % (name, len(a), worst * 1000, TOLERANCE_S * 1000, worst_key))
    return worst


def body(text):
    """The scenario from its scenario{} line on."""
    i = text.find('local s = scenario{')
    return text[i:] if i >= 0 else text


def run(args, **kw):
    return subprocess.run([BIN] + args, capture_output=True, text=True, **kw)


def start(args, log):
    return subprocess.Popen(['timeout', '-k', '5', '90', BIN] + args, stdout=log,
                            stderr=subprocess.STDOUT)


def main():
    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix='replay.')
    cases = [
        ('gameday', os.path.join(REPO, 'tests/e2e/replay_gameday.lua'), True),
        ('outage_replay', os.path.join(REPO, 'scenarios/outage_replay.lua'), False),
        ('faults', os.path.join(REPO, 'tests/scenarios/faults.lua'), False),
    ]
    # 1. The originals, side by side (they wait on timers).
    procs = {}
    for name, path, _ in cases:
        log = open(os.path.join(work, name + '.1.out'), 'w')
        procs[name] = start(['run', path, '--history', os.path.join(work, name + '.1.jsonl'),
                             '--json', os.path.join(work, name + '.1.json'), '-q'], log)
    codes1 = {n: p.wait() for n, p in procs.items()}

    # 2. The replays written, then run side by side; a replay's folder is another
    # one than the original's, so every path in it is made relative to its own.
    out_dir = os.path.join(work, 'ci', 'gamedays')
    os.makedirs(out_dir)
    procs = {}
    for name, path, _ in cases:
        h1 = os.path.join(work, name + '.1.jsonl')
        lua = os.path.join(out_dir, name + '.lua')
        r = run(['replay', h1, '--output', lua], cwd=work)
        if r.returncode != 0:
            bad('%s: replay exit %d' % (name, r.returncode), r.stderr)
            continue
        text = open(lua, encoding='utf-8').read()
        heads = [text.find(h) for h in ('-- The farm\n', '-- The clients\n', '-- The timeline',
                                        '-- The expectations')]
        heads = [h for h in heads if h >= 0]  # a scenario without clients has no such group
        if text.find('-- The farm\n') < 0 or heads != sorted(heads):
            bad('%s: the scenario is not grouped farm, clients, timeline, expectations' % name,
                text)
        times = [float(m) for m in re.findall(r'^s:at\(([0-9.]+),', text, re.M)]
        if not times:
            bad('%s: no timeline entry' % name, text)
        if times != sorted(times):
            bad('%s: the timeline is not in time order' % name, times)
        if os.stat(lua).st_mode & 0o777 != 0o600:
            bad('%s: the scenario is mode %o, not 0600' % (name, os.stat(lua).st_mode & 0o777))
        if name == 'gameday':
            want = [
                r'-- Left out, because the history cannot repeat it:',
                r'replay_gameday\.lua:\d+: a timeline function \(s:at\(t, fn\)\)',
                r'replay_gameday\.lua:\d+: a timeline function \(s:every\(interval, fn\)\)',
                r'the expectation "a custom check", measured by a Lua function',
                r'local r_3 = s:resolver\{ name = "r-3", zone = internal_v2 \}',
                r'app:rate\(40\)\n',
                r'local internal_v2 = s:zone\("\.\./\.\./\.\./\.\./.*scenarios/zones/internal\.v2\.zone"\)'
                if REPO.startswith('/') else r's:zone',
                r's:at\(0, r1, "capacity", \{ qps = 400, queue = 50 \}\)',
                r's:at\(0\.6, r2, "delay", \{ ms = 150, jitter = 20, duration = 0\.7 \}\)',
                r's:at\(0\.85, function\(\) faults\[\d+\] = r_3:rcode\{ rcode = "REFUSED" \} end\)',
                r's:at\(1\.3, function\(\) r_3:heal\(faults\[\d+\]\) end\)',
                r's:at\(1\.5, r1, "heal"\)',
                r's:at\(1\.6, r2, "wrong", \{ zone = internal_v1, duration = 0\.5 \}\)',
                r's:at\(2, r2, "crash", \{ down = 0\.4, zone = internal_v1 \}\)',
                r's:at\(2\.5, vip, "remove", \{ backend = r2 \}\)',
                r's:at\(2\.6, r1, "stop"\)',
                r's:at\(2\.9, r1, "start", \{ boot = "source" \}\)',
                r's:at\(3\.2, truth, "publish", \{ zone = internal_v3 \}\)',
                r's:at\(3\.4, r_3, "reload", \{ zone = internal_v1 \}\)',
                r's:at\(3\.6, r_3, "restart", \{ zone = internal_v3 \}\)',
                r's:at\(3\.8, r_3, "heal"\)',
                r's:at\(4, app, "rate", \{ rate = 60 \}\)',
                r's:at\(4\.5, app, "rate", \{ rate = 20 \}\)\n\n',
                r's:expect\{ "fast enough before", latency\{ client = "app", from = 0\.2, p = 50, to = 0\.5 \}, at_most = 400, baseline = true \}',
            ]
            missing = [w for w in want if not re.search(w, text)]
            if missing:
                bad('gameday: the scenario lacks what the history holds', '\n'.join(missing) +
                    '\n---\n' + text)
            else:
                ok('gameday: the scenario holds every action, the declarations and the left-out notes')
            # A fault that healed itself is not healed again; nor a crash's reboot.
            if re.search(r'r2, "heal"', text) or text.count('"crash"') != 1:
                bad('gameday: a self-healing fault or a crash healed twice', text)
            if 'left out: ' not in r.stderr or 'a custom check' not in r.stderr:
                bad('gameday: no warning on stderr for what was left out', r.stderr)
            else:
                ok('gameday: what is left out is warned about on stderr')
        log = open(os.path.join(work, name + '.2.out'), 'w')
        procs[name] = start(['run', lua, '--history', os.path.join(work, name + '.2.jsonl'),
                             '--json', os.path.join(work, name + '.2.json'), '-q'], log)
    codes2 = {n: p.wait() for n, p in procs.items()}

    # 3. Compare.
    for name, path, verdicts in cases:
        if name not in codes2:
            continue
        h1p, h2p = (os.path.join(work, name + s) for s in ('.1.jsonl', '.2.jsonl'))
        if codes2[name] not in (0, 1, 2):
            bad('%s: the replay did not run: exit %d' % (name, codes2[name]),
                open(os.path.join(work, name + '.2.out')).read())
            continue
        h1, h2 = lines(h1p), lines(h2p)
        compare_timelines(name, h1, h2)
        lua = os.path.join(out_dir, name + '.lua')
        c = run(['check', h2p, lua, '-q'], cwd=work)
        if c.returncode != codes2[name]:
            bad('%s: dnschaos check of the replay gives %d, its run %d' %
                (name, c.returncode, codes2[name]), c.stderr)
        else:
            ok('%s: dnschaos check of the replay\'s history against it: exit %d, as its run'
               % (name, c.returncode))
        if verdicts:
            j1 = json.load(open(os.path.join(work, name + '.1.json')))
            j2 = json.load(open(os.path.join(work, name + '.2.json')))
            e1 = {e['name']: e['outcome'] for e in j1['expectations']}
            e2 = {e['name']: e['outcome'] for e in j2['expectations']}
            left_out = {'a custom check'}
            if (codes1[name], j1['verdict']) != (codes2[name], j2['verdict']) or \
                    {k: v for k, v in e1.items() if k not in left_out} != e2:
                bad('%s: verdict %s (exit %d) and %s, the replay\'s %s (exit %d) and %s' %
                    (name, j1['verdict'], codes1[name], e1, j2['verdict'], codes2[name], e2),
                    j1.get('why', '') + '\n' + j2.get('why', ''))
            else:
                ok('%s: the same verdict (%s, exit %d) and results: %s' %
                   (name, j2['verdict'], codes2[name], e2))
        # Round trip: the replay's history replays to the same scenario.
        r2 = run(['replay', h2p, '--output', os.path.join(out_dir, name + '.again.lua')], cwd=work)
        again = open(os.path.join(out_dir, name + '.again.lua'), encoding='utf-8').read() \
            if r2.returncode == 0 else ''
        first = open(lua, encoding='utf-8').read()
        if r2.returncode != 0 or body(again) != body(first):
            import difflib
            bad('%s: replaying the replay writes another scenario' % name,
                r2.stderr + ''.join(difflib.unified_diff(body(first).splitlines(True),
                                                        body(again).splitlines(True))))
        else:
            ok('%s: round trip: replay(history of the replay) == replay(history)' % name)

    # 4. Errors: exit 3, FILE:LINE, nothing written.
    meta = open(os.path.join(work, 'gameday.1.jsonl'), encoding='utf-8').readline()
    def case(label, content, want, args=None):
        p = os.path.join(work, label + '.jsonl')
        if content is not None:
            with open(p, 'w', encoding='utf-8') as f:
                f.write(content)
        out = os.path.join(work, label + '.lua')
        r = run(['replay', p, '--output', out] if args is None else args)
        if r.returncode != 3 or not re.search(want, r.stderr) or os.path.exists(out):
            bad('error %s: exit %d (want 3), /%s/ on stderr, no %s' %
                (label, r.returncode, want, out), r.stderr)
        else:
            ok('error %s: exit 3: %s' % (label, r.stderr.strip()))
    case('not-json', meta + '{"t":0.1,"type":\n', r'not-json\.jsonl:2: ')
    case('schema-2', meta.replace('"schema":1', '"schema":2'), r'schema-2\.jsonl:1: ')
    case('cut-before-farm', meta, r'cut-before-farm\.jsonl:\d+: no declare lines')
    no_decl = ''.join(l for l in open(os.path.join(work, 'gameday.1.jsonl'), encoding='utf-8')
                      if '"type":"declare"' not in l)
    no_decl = re.sub(r'"lines":\d+', '"lines":%d' % no_decl.count('\n'), no_decl)
    case('older-dnschaos', no_decl, r'older-dnschaos\.jsonl:2: no declare lines')
    case('missing', None, r'missing\.jsonl: ')
    case('bad-output-dir', meta, r'no/such/dir',
         ['replay', os.path.join(work, 'gameday.1.jsonl'), '--output',
          os.path.join(work, 'no/such/dir/x.lua')])
    # A history is input: nothing in it may become code. Line breaks in text
    # that lands in comments, a metric that is not a name, a number that is
    # not one.
    src = open(os.path.join(work, 'gameday.1.jsonl'), encoding='utf-8').read()
    hostile = src.replace('"name":"replay game day"', '"name":"x\\nerror(\'name\')\\n--"', 1)
    hostile = re.sub(r'("what":"at","where":")([^"]*)"', lambda m: m.group(1) + m.group(2) + '\\nerror(\'where\')"', hostile, 1)
    hostile = hostile.replace('"metric":"wrong_answers"', '"metric":"error(\'metric\') or wrong_answers"', 1)
    for label, text in (('hostile', hostile),):
        p = os.path.join(work, label + '.jsonl')
        with open(p, 'w', encoding='utf-8') as f:
            f.write(text)
        out = os.path.join(work, label + '.lua')
        r = run(['replay', p, '--output', out])
        made = open(out, encoding='utf-8').read() if r.returncode == 0 else ''
        code = [l for l in made.splitlines() if 'error(' in l and not l.startswith('--')
                and not l.startswith('local s = scenario{ name = "x\\nerror(')]
        if r.returncode != 0 or code or 'metric is not a name' not in made or \
                text == src or made.count('error(') < 3:
            bad('%s: exit %d, code from the history: %s' % (label, r.returncode, code),
                r.stderr + made[:3000])
        else:
            ok('%s: text from the history stays text (comments, strings; a bad metric left out)'
               % label)
    bad_num = src.replace('"rate":20', '"rate":--1', 1)
    case('bad-number', bad_num, r'bad-number\.jsonl:\d+: ')

    r = run(['replay'])
    if r.returncode != 3 or 'give a history' not in r.stderr:
        bad('replay without a history: exit %d' % r.returncode, r.stderr)
    else:
        ok('replay without a history: exit 3')

    print('replay: %d failed, %.0f s' % (failed, time.monotonic() - t0))
    subprocess.run(['rm', '-rf', work])
    return 1 if failed else 0


sys.exit(main())
