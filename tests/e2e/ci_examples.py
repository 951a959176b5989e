#!/usr/bin/env python3
"""ci/examples/ as far as they can be checked offline.

Usage: ci_examples.py DNSCHAOS REPO

- Both files are YAML (PyYAML; exit 77, skipped, without it) with the shape
  their CI reads: GitLab `parallel: 4`, a debian:12 image, artifacts:reports:junit;
  GitHub a debian:12 container, a matrix of 4 shards, upload-artifact and a
  JUnit test reporter.
- They install the libraries ci/install.sh lists and build with cmake.
- The dnschaos command of each, with its CI variables filled in for shards 1
  to 4, runs here over a directory of two passing scenarios: every shard
  exits 0 and writes its JUnit, and together the shards ran each scenario once.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

try:
    import yaml
except ImportError:
    print('skip: no PyYAML (python3-yaml)')
    sys.exit(77)

BIN, REPO = sys.argv[1], sys.argv[2]
failed = 0


def check(cond, msg, extra=''):
    global failed
    print(('ok   ' if cond else 'FAIL ') + msg)
    if not cond:
        failed += 1
        for line in str(extra).splitlines()[-20:]:
            print('     ' + line)


ex = os.path.join(REPO, 'ci', 'examples')
gl = yaml.safe_load(open(os.path.join(ex, 'gitlab-ci.yml')))
gh = yaml.safe_load(open(os.path.join(ex, 'github-actions.yml')))

# The libraries ci/install.sh installs for the build (its "libraries" line).
install = open(os.path.join(REPO, 'ci', 'install.sh')).read()
libs = set(re.search(r'# libraries.*\n\s*(.*)\n', install).group(1).split()) - {'libcmocka-dev'}

job = gl['dnschaos']
gl_text = ' '.join(job['before_script'])
check(job['image'] == 'debian:12' and job['parallel'] == 4, 'GitLab: debian:12, parallel: 4')
check(job['artifacts']['reports']['junit'] == 'dnschaos-*.xml' and job['artifacts']['when'] == 'always',
      'GitLab: the JUnit is a test report, kept when the job fails')
check(libs <= set(gl_text.split()) and 'cmake --build' in gl_text,
      'GitLab: installs %s and builds with cmake' % ' '.join(sorted(libs)))

on = gh.get('on', gh.get(True))  # YAML 1.1 reads the key `on` as true
chaos = gh['jobs']['chaos']
steps = chaos['steps']
gh_text = ' '.join(s.get('run', '') for s in steps)
check(on is not None and chaos['container'] == 'debian:12' and
      chaos['strategy']['matrix']['shard'] == [1, 2, 3, 4] and gh['env']['SHARDS'] == 4,
      'GitHub: debian:12 container, a matrix of 4 shards')
check(any(s.get('uses', '').startswith('actions/upload-artifact') and s.get('if') == 'always()'
          for s in steps), 'GitHub: the reports are uploaded even when the shard fails')
check(any(s.get('uses', '').startswith('dorny/test-reporter') and s['with']['reporter'] == 'java-junit'
          for s in gh['jobs']['report']['steps']), 'GitHub: a JUnit test reporter reads them')
check(libs <= set(gh_text.replace('\\', ' ').split()) and 'cmake --build' in gh_text,
      'GitHub: installs %s and builds with cmake' % ' '.join(sorted(libs)))

# The commands themselves, on two passing scenarios.
work = tempfile.mkdtemp(prefix='dnschaos-ci-examples-')
try:
    sdir = os.path.join(work, 'tests', 'suite')
    os.makedirs(sdir)
    shutil.copytree(os.path.join(REPO, 'scenarios', 'zones'), os.path.join(work, 'scenarios', 'zones'))
    for n in ('a.lua', 'b.lua'):
        shutil.copy(os.path.join(REPO, 'tests', 'suite', 'pass.lua'), os.path.join(sdir, n))
    os.makedirs(os.path.join(work, 'build', 'harness'))
    os.symlink(os.path.abspath(BIN), os.path.join(work, 'build', 'harness', 'dnschaos'))
    gl_cmd = [c for c in job['script'] if 'dnschaos run' in c][0]
    gh_cmd = [s['run'] for s in steps if 'dnschaos run' in s.get('run', '')][0]
    for name, cmd, env in (
            ('GitLab', gl_cmd, lambda k: {'CI_NODE_INDEX': str(k), 'CI_NODE_TOTAL': '4'}),
            ('GitHub', gh_cmd.replace('${{ matrix.shard }}', '$SHARD'),
             lambda k: {'SHARD': str(k), 'SHARDS': '4'})):
        ran = []
        for k in (1, 2, 3, 4):
            e = dict(os.environ, SCENARIOS='tests/suite/', **env(k))
            p = subprocess.run(['bash', '-ec', cmd], cwd=work, env=e, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=300)
            out = p.stdout.decode('utf-8', 'replace')
            junit = os.path.join(work, 'dnschaos-%d.xml' % k)
            check(p.returncode == 0 and os.path.exists(junit),
                  '%s shard %d/4: exit %d, JUnit written' % (name, k, p.returncode), out)
            if os.path.exists(junit):
                ran += [t.get('name') for t in ET.parse(junit).getroot().findall('testsuite')]
                os.unlink(junit)
        check(sorted(ran) == ['suite pass', 'suite pass'],
              '%s: the 4 shards ran each of the 2 scenarios once' % name, ran)
finally:
    shutil.rmtree(work, ignore_errors=True)

print('ci_examples.py: %s' % ('all ok' if not failed else '%d failed' % failed))
sys.exit(1 if failed else 0)
