#!/usr/bin/env python3
"""Runs every Lua example of README.md and docs/*.md; a doc example that fails is a bug.

Usage: doc_examples.py DNSCHAOS FAKERESOLVER REPO [--jobs N] [--keep DIR] [--only FILE[:LINE]]

Every ```lua block is run with `dnschaos run`, from a scratch copy of the
layout the docs assume (a folder scenarios/ holding zones/, beside tests/):

- a block with its own `scenario{` runs as it is;
- any other block is a fragment: it runs after the doc's preamble, a block
  marked `<!-- example: preamble -->` (which also runs alone), or a hidden
  one, `<!-- example: preamble: LUA -->`;
- `<!-- example: setup: LUA -->` before a block puts LUA between the
  preamble and the fragment (what the fragment uses and the preamble does
  not declare); `<!-- example: own setup: LUA -->` replaces the preamble
  for that block (a fragment that declares what the preamble does);
- a block whose first line is `-- raises: MESSAGE` must be refused (exit
  3) with MESSAGE in what dnschaos prints, as the doc says;
- any other must end with exit 0, unless `<!-- example: exit N: why -->`
  says otherwise (a scenario shown failing on purpose);
- `<!-- example: not run: why -->` leaves a block out (a syntax sketch);
  the count of those is printed.

A marker is an HTML comment (not rendered) on the lines before the fence,
blank lines allowed in between.

The README's shell commands are run too, where they are dnschaos's own:
`build/harness/dnschaos run ...` and the fakeresolver with dig; the ci/
scripts, cmake and ctest lines are listed as not run (they are CI itself).
Then history.md's "Reading it" (jq and Python) reads that run's history.
Other shell lines of docs/*.md are usage synopses, not run.
A fence without a language (or ```text) whose text looks like Lua is a
sketch of the syntax: ```text says so (counted as not run); a bare fence
fails, since it could be either.

Exit status: 0 all ran as the docs say, 1 otherwise.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

# What makes a block without a language look like Lua: a call on s, a scenario.
LUA_LIKE = re.compile(r'\bs:\w+\s*[{(]|\bscenario\s*\{')
MARK = re.compile(r'<!--\s*example:\s*(.*?)\s*-->', re.S)
RUN_TIMEOUT = 180  # seconds a run may take: the longest example lasts 12 s


class Example:
    def __init__(self, doc, line, body, marks):
        self.doc, self.line, self.body, self.marks = doc, line, body, marks
        self.script = None
        self.want_exit = 0
        self.raises = None
        self.skip = None
        self.error = None  # a problem with the doc's markup itself

    @property
    def where(self):
        return '%s:%d' % (self.doc, self.line)


def parse_marks(text):
    """The markers in one HTML comment: [(kind, argument)]."""
    out = []
    for m in MARK.finditer(text):
        s = m.group(1)
        for kind in ('not run', 'own setup', 'setup', 'preamble', 'exit'):
            if s == kind or s.startswith(kind + ':') or (kind == 'exit' and s.startswith('exit ')):
                arg = s[len(kind):].lstrip(':').strip() if kind != 'exit' else s[4:].strip()
                out.append((kind, arg))
                break
        else:
            out.append(('unknown', s))
    return out


def blocks(path, rel):
    """The ```lua blocks of one markdown file, with the markers before each."""
    lines = open(path, encoding='utf-8').read().split('\n')
    out, pending, comment = [], [], None
    i = 0
    while i < len(lines):
        line = lines[i]
        if comment is not None:
            comment.append(line)
            if '-->' in line:
                pending += parse_marks('\n'.join(comment))
                comment = None
            i += 1
            continue
        if line.lstrip().startswith('<!--'):
            if '-->' in line:
                pending += parse_marks(line)
            else:
                comment = [line]
            i += 1
            continue
        if line.startswith('```'):
            lang = line[3:].strip()
            j = i + 1
            while j < len(lines) and not lines[j].startswith('```'):
                j += 1
            body = '\n'.join(lines[i + 1:j]) + '\n'
            if lang == 'lua':
                out.append(Example(rel, i + 1, body, pending))
            elif lang in ('', 'text') and LUA_LIKE.search(body):
                # A sketch of the syntax: it must say that it is not run.
                ex = Example(rel, i + 1, body, pending)
                if lang == 'text':
                    ex.skip = 'a sketch of the syntax (```text)'
                else:
                    ex.error = ('Lua in a fence without a language: ```lua if it runs, '
                                '```text if it is a sketch')
                out.append(ex)
            pending = []
            i = j + 1
            continue
        if line.strip():
            pending = []
        i += 1
    return out


def plan(docs):
    """Gives every example its script and what it must do."""
    examples = []
    for path, rel in docs:
        preamble = None
        for ex in blocks(path, rel):
            examples.append(ex)
            if ex.skip or ex.error:  # a sketch
                continue
            setup, own = '', None
            for kind, arg in ex.marks:
                if kind == 'not run':
                    ex.skip = arg or '(no reason given)'
                elif kind == 'setup':
                    setup += arg + '\n'
                elif kind == 'own setup':
                    own = arg + '\n'
                elif kind == 'exit':
                    m = re.match(r'(\d+)\s*:\s*\S', arg)
                    if not m:
                        ex.error = 'the marker "exit %s" needs a code and a reason: exit N: why' % arg
                    else:
                        ex.want_exit = int(m.group(1))
                elif kind == 'preamble' and arg:
                    preamble = arg + '\n'  # a hidden preamble, for the blocks after it
                elif kind == 'preamble':
                    preamble = ex.body
                else:
                    ex.error = 'unknown marker "example: %s"' % arg
            if ex.skip:
                continue
            first = ex.body.lstrip().split('\n', 1)[0]
            if first.startswith('-- raises:'):
                ex.raises = first[len('-- raises:'):].strip()
                ex.want_exit = 3
            if re.search(r'\bscenario\s*\{', ex.body):
                ex.script = setup + ex.body
            elif own is not None:
                ex.script = own + setup + ex.body
            elif preamble is not None:
                ex.script = preamble + setup + ex.body
            else:
                ex.error = ('a fragment without a preamble: mark the doc\'s preamble, give this '
                            'one "<!-- example: setup: ... -->", or "<!-- example: not run: why -->"')
    return examples


def scratch(repo, work):
    """The layout the docs assume: scenarios/ with zones/, beside tests/."""
    os.makedirs(os.path.join(work, 'scenarios'))
    os.symlink(os.path.join(repo, 'scenarios', 'zones'), os.path.join(work, 'scenarios', 'zones'))
    os.symlink(os.path.join(repo, 'tests'), os.path.join(work, 'tests'))
    # The "production check script" of the VIP's exec health check.
    os.symlink(os.path.join(repo, 'tests', 'scenarios', 'check_serial.sh'),
               os.path.join(work, 'scenarios', 'check_serial.sh'))


def numbered(text):
    return ''.join('  %3d  %s\n' % (i + 1, l) for i, l in enumerate(text.rstrip('\n').split('\n')))


# Put before the first line of a script (so that its line numbers stay):
# reading a global that nothing declared raises, where Lua would give nil. A
# fragment using a name its preamble does not declare (`backends = { r1, r2 }`
# without r2) would otherwise run, and show nothing of what the doc says.
STRICT = ('setmetatable(_ENV, { __index = function(_, k) error("the example reads the global \'"'
          ' .. tostring(k) .. "\', which nothing declared", 2) end }); ')


def run_one(binary, work, n, ex):
    name = 'ex%02d_%s_%d.lua' % (n, re.sub(r'\W', '_', os.path.basename(ex.doc)), ex.line)
    path = os.path.join(work, 'scenarios', name)
    with open(path, 'w', encoding='utf-8') as f:
        # Not for a block that shows a mistake: its message is the point.
        f.write(ex.script if ex.raises else STRICT + ex.script)
    hist = os.path.join(work, name + '.jsonl')
    start = time.monotonic()
    try:
        p = subprocess.run([binary, 'run', name, '--history', hist],
                           cwd=os.path.join(work, 'scenarios'), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)
        rc, out = p.returncode, p.stdout.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired as e:
        rc, out = None, (e.stdout or b'').decode('utf-8', 'replace')
    took = time.monotonic() - start
    bad = []
    if rc is None:
        bad.append('did not end in %d s' % RUN_TIMEOUT)
    elif rc != ex.want_exit:
        bad.append('exit %d, want %d%s' % (rc, ex.want_exit,
                                           ' (refused with the message of -- raises:)'
                                           if ex.raises else ''))
    if ex.raises and ex.raises not in out:
        bad.append('the doc says it raises "%s", which dnschaos did not print' % ex.raises)
    return ex, bad, out, took, name


def readme_shell(repo, work, fakeresolver, binary):
    """The README's shell blocks: runs dnschaos's own commands; returns (ran, not_run, failures)."""
    text = open(os.path.join(repo, 'README.md'), encoding='utf-8').read()
    ran, not_run, failures = [], [], []
    for m in re.finditer(r'^```sh\n(.*?)^```', text, re.S | re.M):
        line0 = text[:m.start()].count('\n') + 2
        cmds, cur = [], ''
        for k, l in enumerate(m.group(1).split('\n')):
            cur = (cur + ' ' + l.rstrip('\\').strip()) if cur else l.rstrip('\\').strip()
            if l.endswith('\\'):
                continue
            if cur:
                cmds.append((line0 + k, cur.split('#')[0].strip() if ' #' in cur else cur))
            cur = ''
        daemon = None
        try:
            for ln, cmd in cmds:
                where = 'README.md:%d' % ln
                argv = shlex.split(cmd)
                if argv[0] == 'build/harness/dnschaos':
                    # Paths as from the repository's root; files it writes go to the scratch dir.
                    argv = [binary] + [os.path.join(repo, a) if a.startswith('scenarios/') else
                                       os.path.join(work, a) if a.endswith('.jsonl') else a
                                       for a in argv[1:]]
                    p = subprocess.run(argv, cwd=work, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, timeout=RUN_TIMEOUT)
                    if p.returncode != 0:
                        failures.append('%s: `%s` exited %d:\n%s' % (
                            where, cmd, p.returncode, p.stdout.decode('utf-8', 'replace')[-2000:]))
                    ran.append(where)
                elif argv[0] == 'build/fakeresolver/fakeresolver':
                    argv = [fakeresolver] + [os.path.join(repo, a) if a.startswith('scenarios/')
                                             else os.path.join(work, a) if a.endswith('.jsonl')
                                             else a for a in argv[1:]]
                    listen = argv[argv.index('--listen') + 1]
                    host, port = listen.rsplit(':', 1)
                    daemon = subprocess.Popen(argv, cwd=work, stdout=subprocess.PIPE,
                                              stderr=subprocess.STDOUT)
                    for _ in range(200):  # until it answers on its port (10 s)
                        if daemon.poll() is not None:
                            break
                        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                        s.settimeout(0.2)
                        try:
                            s.connect((host, int(port)))
                            s.close()
                            break
                        except OSError:
                            s.close()
                            time.sleep(0.05)
                    if daemon.poll() is not None:
                        failures.append('%s: `%s` exited %d at once:\n%s' % (
                            where, cmd, daemon.returncode, daemon.stdout.read().decode()[-2000:]))
                        daemon = None
                    ran.append(where)
                elif argv[0] == 'dig':
                    if not shutil.which('dig'):
                        not_run.append('%s: `%s` (dig is not installed)' % (where, cmd))
                        continue
                    p = subprocess.run(argv + ['+time=2', '+tries=2'], stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, timeout=30)
                    out = p.stdout.decode('utf-8', 'replace')
                    if p.returncode != 0 or 'status: NOERROR' not in out or 'ANSWER SECTION' not in out:
                        failures.append('%s: `%s` got no answer (exit %d):\n%s' % (
                            where, cmd, p.returncode, out))
                    ran.append(where)
                else:
                    not_run.append('%s: `%s` (CI itself, or an install step)' % (where, cmd))
        finally:
            if daemon:
                daemon.terminate()
                daemon.wait(10)
    return ran, not_run, failures


def history_reading(repo, work):
    """history.md's "Reading it" (jq lines and Python) on the README run's run.jsonl."""
    text = open(os.path.join(repo, 'docs', 'history.md'), encoding='utf-8').read()
    ran, not_run, failures = [], [], []
    if not os.path.exists(os.path.join(work, 'run.jsonl')):
        return ran, ['docs/history.md: the reading examples (no run.jsonl from the README run)'], []
    for m in re.finditer(r'^```(sh|python)\n(.*?)^```', text, re.S | re.M):
        where = 'docs/history.md:%d' % (text[:m.start()].count('\n') + 1)
        if m.group(1) == 'sh':
            tool = shlex.split(m.group(2).split('\n', 1)[0])[0]
            if not shutil.which(tool):
                not_run.append('%s: %s is not installed' % (where, tool))
                continue
            argv = ['bash', '-euo', 'pipefail', '-c', m.group(2)]
        else:
            argv = [sys.executable, '-c', m.group(2)]
        p = subprocess.run(argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=60)
        out = p.stdout.decode('utf-8', 'replace')
        # The jq lines print the run's faults and query actions: never nothing.
        if p.returncode != 0 or (m.group(1) == 'sh' and not out.strip()):
            failures.append('%s: exit %d, output:\n%s' % (where, p.returncode, out[-2000:]))
        ran.append(where)
    return ran, not_run, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('dnschaos')
    ap.add_argument('fakeresolver')
    ap.add_argument('repo')
    ap.add_argument('--jobs', type=int, default=4, help='runs at once (they mostly wait)')
    ap.add_argument('--keep', help='keep the scratch folder (scripts, histories) there')
    ap.add_argument('--only', help='FILE or FILE:LINE: run only those examples')
    ap.add_argument('--no-shell', action='store_true', help="skip the README's shell commands")
    a = ap.parse_args()
    repo = os.path.realpath(a.repo)
    binary = os.path.realpath(a.dnschaos)
    docs = [(os.path.join(repo, 'README.md'), 'README.md')]
    docs += [(p, os.path.relpath(p, repo)) for p in sorted(glob.glob(os.path.join(repo, 'docs', '*.md')))]
    examples = plan(docs)
    if a.only:
        examples = [e for e in examples if e.where == a.only or e.doc == a.only]
        if not examples:
            print('doc_examples: no example at %s' % a.only)
            return 1
    work = a.keep or tempfile.mkdtemp(prefix='doc_examples.')
    if a.keep:
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    failed = ok = 0
    try:
        scratch(repo, work)
        todo = [e for e in examples if not e.skip and not e.error]
        for e in examples:
            if e.error:
                failed += 1
                print('FAIL: %s: %s' % (e.where, e.error))
        with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as pool:
            runs = [pool.submit(run_one, binary, work, n, e) for n, e in enumerate(todo)]
            for fut in runs:
                ex, bad, out, took, name = fut.result()
                if bad:
                    failed += 1
                    print('FAIL: %s: %s\n  the script (%s):\n%s  dnschaos said:\n%s' % (
                        ex.where, '; '.join(bad), name, numbered(ex.script),
                        ''.join('    ' + l + '\n' for l in out.rstrip('\n').split('\n')[-30:])))
                else:
                    ok += 1
                    print('ok: %s (%s, exit %d, %.1f s)' % (
                        ex.where, 'raises as the doc says' if ex.raises else
                        'whole scenario' if re.search(r'\bscenario\s*\{', ex.body) else 'fragment',
                        ex.want_exit, took))
        skipped = [e for e in examples if e.skip]
        for e in skipped:
            print('not run: %s: %s' % (e.where, e.skip))
        print('doc_examples: %d Lua examples: %d ran as the docs say, %d failed, %d marked not run'
              % (len(examples), ok, failed, len(skipped)))
        if not a.no_shell and not a.only:
            ran, not_run, failures = readme_shell(repo, work, os.path.realpath(a.fakeresolver),
                                                  binary)
            more = history_reading(repo, work)
            ran, not_run, failures = ran + more[0], not_run + more[1], failures + more[2]
            for f in failures:
                print('FAIL: %s' % f)
            for n in not_run:
                print('not run: %s' % n)
            print('doc_examples: shell and Python examples: %d ran, %d failed, %d not run'
                  % (len(ran), len(failures), len(not_run)))
            failed += len(failures)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
