#!/usr/bin/env bash
# The HTML report (docs/checks.md, "The HTML report") in a real browser:
#  1. a real run of scenarios/stale_zone_reboot.lua with --report DIR: the
#     page is one file with nothing to fetch (no src, no external href, no
#     url() but the page's own patterns), its data blob is JSON with the
#     series and lanes the run must have (p2 behind on an older serial, the
#     crashes, one check per table row), and the share that succeeded, in
#     red, says that the stale answers were successful lookups that lied;
#  2. headless Chromium loads it, with every network feature off: the script
#     ran to its end (body data-rendered="1"), drew paths, and the DOM holds
#     the panels and hover titles; a 1400x1800 screenshot is a real PNG, not
#     a blank one;
#  3. `dnschaos check` on a synthetic history of 300,000 lines whose names
#     carry "</script>" and bytes that are not UTF-8: the page stays small
#     (series, not events), still renders, and nothing from the names became
#     markup.
# Skipped (77) without chromium (Debian's package; ci/install.sh installs it).
# REPORT_HTML_KEEP=DIR keeps the pages and screenshots there.
# Usage: report_html.sh PATH/TO/dnschaos PATH/TO/scenarios
set -uo pipefail
bin=$(realpath "${1:?dnschaos binary}")
scenarios=${2:?the scenarios directory}
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	echo "report_html: SKIP: chromium is not installed (apt-get install chromium)"
	exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# No network: no proxy, no background fetches, no component or safe-browsing
# updates, no sync, no first-run pages; a profile of our own.
chrome() {
	HOME=$work timeout 60 "$browser" --headless --no-sandbox --disable-gpu \
		--no-proxy-server --disable-background-networking --disable-component-update \
		--disable-sync --no-first-run --disable-default-apps --disable-breakpad \
		--disable-features=MediaRouter,OptimizationHints,Translate \
		--user-data-dir="$work/profile" --hide-scrollbars "$@" 2>>"$work/chromium.log"
}

# Checks one page without a browser; prints what failed. Args: page, what the data must hold.
static_check() {
	python3 - "$1" "$2" <<'EOF'
import json, re, sys
path, want = sys.argv[1], sys.argv[2]
page = open(path, encoding='utf-8').read()
bad = []
if not page.startswith('<!DOCTYPE html>'):
    bad.append('no doctype')
for pat, what in [(r'<(link|img|iframe|object|embed|audio|video|source)\b', 'an element that fetches'),
                  (r'\bsrc\s*=', 'a src attribute'),
                  (r'href\s*=\s*["\']?\s*(https?:|//|file:)', 'an external link'),
                  (r'@import', 'a CSS import'),
                  (r'url\(\s*(?!#)', 'a url() that is not one of the page\'s patterns')]:
    if re.search(pat, page, re.I):
        bad.append('the page has ' + what)
m = re.findall(r'<script type="application/json" id="dnschaos-data">(.*?)</script>', page, re.S)
if len(m) != 1:
    bad.append('%d data blobs, not 1' % len(m))
    print('\n'.join(bad)); sys.exit(1)
d = json.loads(m[0])
nb = d['nb']
if not (1 <= nb <= 250 and d['w'] >= 0.05 and d['t_end'] > 0):
    bad.append('grid: nb %s, w %s, t_end %s' % (nb, d['w'], d['t_end']))
series = [d['lookups']['all'][k] for k in ('n', 'ok', 'fail', 'timeout', 'stale', 'wrong')]
series += [d['latency']['p50'], d['latency']['p99']]
series += [s['q'] for s in d['resolvers'] + d['routes']]
series += [c[k] for c in d['lookups']['clients'] for k in ('n', 'ok', 'stale')]
if any(len(s) != nb for s in series):
    bad.append('a series without %d buckets' % nb)
rows = page.count('<tr class="r-')
if len(d['checks']) != rows:
    bad.append('%d checks in the data, %d rows in the table' % (len(d['checks']), rows))
kinds = {(r['g'], r['k'], it[2]) for r in d['rows'] for it in r['items']}
if want == 'stale':
    if sum(d['lookups']['all']['n']) < 100:
        bad.append('fewer than 100 lookups')
    for need in [('p2', 'fault', 'crash'), ('g2', 'fault', 'crash'), ('p2', 'serving', 'behind'),
                 ('p1', 'serving', 'current'), ('unprotected/p2', 'health', 'hdown')]:
        if need not in kinds:
            bad.append('no lane item %s' % (need,))
    stale = sum(d['lookups']['all']['stale'])
    if stale == 0:
        bad.append('no stale answer in the series')
    # A stale answer is a successful lookup that lied: the share that
    # succeeded is red and says so, never plain (or green) above them.
    kpi = re.search(r'<div class="kpi( [a-z]+)?"><b>[^<]*</b><span>(succeeded[^<]*)</span>', page)
    if not kpi:
        bad.append('no "succeeded" figure in the run in numbers')
    elif kpi.group(1) != ' bad' or ('but %d stale' % stale) not in kpi.group(2) \
            or 'lied' not in kpi.group(2):
        bad.append('the "succeeded" figure hides %d stale answers: class %r, %r'
                   % (stale, kpi.group(1), kpi.group(2)))
    if {s['name'] for s in d['resolvers']} != {'p1', 'p2', 'g1', 'g2'}:
        bad.append('resolvers %s' % [s['name'] for s in d['resolvers']])
    if 'stale zone reboot' not in page:
        bad.append('no scenario name in the page')
elif want == 'big':
    if len(d['resolvers']) > 10 or len(d['lookups']['clients']) > 8:
        bad.append('too many lines: %d resolvers, %d clients' % (len(d['resolvers']), len(d['lookups']['clients'])))
    if any(len(r['items']) > 300 for r in d['rows']):
        bad.append('a lane with more than 300 items')
    if sum(d['lookups']['all']['n']) < 50000:
        bad.append('the lookups did not count')
print('\n'.join(bad))
sys.exit(1 if bad else 0)
EOF
}

# Loads a page in the browser: the script must have run to its end.
dom_check() {
	local page=$1 min_paths=$2 dom=$work/dom.html
	if ! chrome --dump-dom "file://$page" >"$dom"; then
		fail "$page: chromium --dump-dom failed (see below)"
		tail -5 "$work/chromium.log"
		return 1
	fi
	grep -q 'data-rendered="1"' "$dom" || fail "$page: the page's script did not finish (no data-rendered)"
	local paths
	paths=$(grep -o 'data-paths="[0-9]*"' "$dom" | grep -o '[0-9]*')
	[ "${paths:-0}" -ge "$min_paths" ] || fail "$page: ${paths:-no} paths drawn, want $min_paths"
	local drawn svgs titles
	drawn=$(grep -o '<path' "$dom" | wc -l)
	svgs=$(grep -o '<svg' "$dom" | wc -l)
	titles=$(grep -o '<title>' "$dom" | wc -l)
	[ "$drawn" -ge "$min_paths" ] || fail "$page: $drawn <path> in the DOM, want $min_paths"
	[ "$svgs" -ge 6 ] || fail "$page: $svgs svg elements, want the panels (6 or more)"
	[ "$titles" -ge 50 ] || fail "$page: $titles hover titles, want 50 or more"
	grep -q 'class="band"' "$dom" || fail "$page: no bands panel"
	echo "report_html: $page: rendered, $paths paths, $svgs svg, $titles titles"
}

shot_check() {
	local page=$1 png=$2
	rm -f "$png"
	chrome --window-size=1400,1800 --screenshot="$png" "file://$page" >/dev/null
	if [ ! -s "$png" ]; then
		fail "$page: no screenshot"
		return 1
	fi
	# A PNG of 1400x1800; a blank one compresses to a few kilobytes.
	python3 - "$png" <<'EOF' || fail "$page: bad screenshot $png"
import struct, sys, os
b = open(sys.argv[1], 'rb').read(24)
w, h = struct.unpack('>II', b[16:24])
size = os.path.getsize(sys.argv[1])
ok = b[:8] == b'\x89PNG\r\n\x1a\n' and (w, h) == (1400, 1800) and size > 60000
print('report_html: screenshot %dx%d, %d bytes' % (w, h, size))
sys.exit(0 if ok else 1)
EOF
}

# 1. A real run.
# (rc is taken right after the run: inside `if ! cmd; then`, $? is that of `! cmd`, 0.)
(cd "$scenarios" && exec "$bin" run stale_zone_reboot.lua --history "$work/run.jsonl" \
	--report "$work/run" -q) >"$work/run.out" 2>&1
rc=$?
[ "$rc" -le 2 ] || { fail "the run exited $rc"; sed 's/^/  /' "$work/run.out" | tail -20; }
if [ -s "$work/run/index.html" ]; then
	out=$(static_check "$work/run/index.html" stale) || fail "run page: $out"
	# 2. In the browser.
	dom_check "$work/run/index.html" 20
	shot_check "$work/run/index.html" "$work/run/shot.png"
else
	fail "the run wrote no $work/run/index.html"
	sed 's/^/  /' "$work/run.out" | tail -20
fi

# 3. A big history with hostile names, through dnschaos check; DIR is created with its parents.
# Its answers' classes are what its two zone versions (z1.zone, z2.zone, published in turn)
# give, since check re-derives them (docs/history.md, "Re-derived, not trusted").
python3 - "$work/big.jsonl" 300000 "$work" <<'EOF'
import hashlib, os, random, struct, sys
out, n = open(sys.argv[1], 'w', encoding='utf-8', errors='surrogateescape'), int(sys.argv[2])
random.seed(7)
def w(t, s):
    out.write('{"t":%.6f,%s}\n' % (t, s))
def wire(name):
    return b''.join(bytes([len(l)]) + l.encode() for l in name.rstrip('.').split('.')) + b'\0'
digest, addr = {}, {}
for i in (1, 2):
    # The zone file, and its digest as docs/history.md defines it (checked by dnschaos check).
    addr[i] = '10.0.0.%d' % i
    with open(os.path.join(sys.argv[3], 'z%d.zone' % i), 'w') as z:
        z.write('$ORIGIN internal.\n$TTL 300\n@ IN SOA ns1.internal. hostmaster.internal. %d 3600 600 86400 60\n'
                '@ IN NS ns1\nns1 IN A 10.0.0.53\na IN A %s\n' % (i, addr[i]))
    soa = wire('ns1.internal.') + wire('hostmaster.internal.') + struct.pack('>5I', i, 3600, 600, 86400, 60)
    recs = sorted([('internal.', 6, soa), ('internal.', 2, wire('ns1.internal.')),
                   ('ns1.internal.', 1, bytes([10, 0, 0, 53])), ('a.internal.', 1, bytes([10, 0, 0, i]))],
                  key=lambda r: (wire(r[0]), r[1], r[2]))
    h = hashlib.sha256()
    for o, ty, rd in recs:
        h.update(wire(o) + struct.pack('>HHIH', ty, 1, 300, len(rd)) + rd)
    digest[i] = h.hexdigest()
def version(t, i):
    w(t, '"type":"version","zone":"internal.","serial":%d,"digest":"%s","known":"published","file":"z%d.zone"' % (i, digest[i], i))
w(0, '"type":"meta","schema":1,"dnschaos":"0.1.0","scenario":"big.lua","name":"big history",'
     '"seed":7,"duration":600.000,"ldns":"1.8.3","libevent":"2.1.12-stable","lua":"Lua 5.4.4",'
     '"c-ares":"1.18.1","libunbound":"1.17.1","glibc":"2.36","started_unix":"1"')
version(0, 1)
w(0, '"type":"publish","source":"truth","zone":"internal.","serial":1,"digest":"%s","file":"z1.zone","initial":true' % digest[1])
res = ['r%d' % i for i in range(14)]
# a name that would end the data blob, and a byte that is not UTF-8 (written as the history would: U+FFFD)
res[3] = 'r3</script><b id=pwn>x</b>\ufffd'
for r in res:
    w(0.001, '"type":"state","resolver":"%s","state":"up","why":"booted","address":"127.0.0.11:53"' % r.replace('"', ''))
    w(0.001, '"type":"boot","resolver":"%s","from":"source","ok":true,"zones":["internal. 1"]' % r)
clients = ['c%d' % i for i in range(12)]
t, lid, lines, open_ = 0.01, 0, 3 + 2 * len(res), []
down, fid, serial, known = {}, 0, 1, {1}
while lines < n - 1:
    t += 600.0 / n
    x = random.random()
    if x < 0.35:
        lid += 1
        c = random.choice(clients)
        w(t, '"type":"lookup","event":"invoke","client":"%s","stack":"c-ares","id":%d,'
             '"name":"a.internal","family":"A","target":"vip"' % (c, lid))
        open_.append((lid, c, t))
    elif x < 0.70 and open_:
        i, c, t0 = open_.pop(0)
        if random.random() < 0.9:
            cls = random.choice(['fresh'] * 20 + ['stale', 'wrong'])
            other = 3 - serial
            if cls == 'stale' and other not in known:
                cls = 'fresh'  # no other version known yet
            if cls == 'fresh':
                extra = ',"answers":["%s"],"class":"fresh","serial":%d,"digest":"%s"' % (addr[serial], serial, digest[serial])
            elif cls == 'stale':
                extra = (',"answers":["%s"],"class":"stale","serial":%d,"digest":"%s","stale_records":["%s"]'
                         % (addr[other], other, digest[other], addr[other]))
            else:
                extra = ',"answers":["192.0.2.1"],"class":"wrong","wrong_records":["192.0.2.1"]'
            ev = 'ok'
        else:
            ev, extra = 'timeout', ',"reason":"timeout","error":"ARES_ETIMEOUT"'
        w(t, '"type":"lookup","event":"%s","client":"%s","stack":"c-ares","id":%d,'
             '"name":"a.internal","latency_ms":%.3f%s,"wire":1' % (ev, c, i, (t - t0) * 1000, extra))
    elif x < 0.85:
        w(t, '"type":"query","resolver":"%s","transport":"udp","src":"127.0.0.1:5","id":1,'
             '"qname":"a.internal.","qtype":"A","action":"answered","rcode":"NOERROR","an":1,'
             '"serial":1' % random.choice(res))
    elif x < 0.95:
        w(t, '"type":"route","vip":"v","transport":"udp","src":"127.0.0.1:5","id":1,'
             '"backend":"%s","flow":"new","action":"forwarded"' % random.choice(res))
    elif x < 0.997:
        r = random.choice(res)
        ev = 'up' if down.get(r) else 'down'
        down[r] = not down.get(r)
        w(t, '"type":"health","vip":"v","backend":"%s","event":"%s","reason":"flap","count":1' % (r, ev))
    elif x < 0.9995:
        fid += 1
        w(t, '"type":"fault","target":"%s","fault":"delay","id":%d,"action":"inject",'
             '"duration":0.500,"delay_ms":5.000,"jitter_ms":0.000,"dist":"constant"' % (random.choice(res), fid))
    else:
        serial = 3 - serial
        if serial not in known:
            known.add(serial)
            version(t, serial)
            lines += 1
        w(t, '"type":"publish","source":"truth","zone":"internal.","serial":%d,"digest":"%s","file":"z%d.zone"' % (serial, digest[serial], serial))
    lines += 1
w(t, '"type":"end","reason":"duration","lines":%d' % (lines + 1))
EOF
printf 'local s = scenario{ name = "big history", duration = 600 }\n' >"$work/big.lua"
"$bin" check "$work/big.jsonl" "$work/big.lua" --report "$work/deep/er/big" -q \
	>"$work/big.out" 2>&1
rc=$?
if [ "$rc" -ne 0 ]; then
	fail "dnschaos check on the big history exited $rc"
	sed 's/^/  /' "$work/big.out" | tail -20
fi
page=$work/deep/er/big/index.html
if [ -s "$page" ]; then
	bytes=$(stat -c %s "$page")
	echo "report_html: 300000 history lines, a page of $bytes bytes"
	[ "$bytes" -lt 3000000 ] || fail "the page of a 300000-line history is $bytes bytes"
	out=$(static_check "$page" big) || fail "big page: $out"
	dom_check "$page" 20
	grep -q '<b id="pwn">' "$work/dom.html" && fail "a resolver's name became markup"
	grep -q 'r3&lt;/script&gt;' "$work/dom.html" || fail "the hostile name is not shown as text"
else
	fail "dnschaos check wrote no $page"
fi

if [ -n "${REPORT_HTML_KEEP:-}" ]; then
	mkdir -p "$REPORT_HTML_KEEP" && cp -r "$work/run" "$work/deep/er/big" "$REPORT_HTML_KEEP"/ 2>/dev/null
fi
if [ "$failed" -ne 0 ]; then
	echo "report_html: $failed failure(s)"
	exit 1
fi
echo "report_html: ok"
