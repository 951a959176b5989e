(function () {
'use strict';
var D = JSON.parse(document.getElementById('dnschaos-data').textContent);
var NS = 'http://www.w3.org/2000/svg';
/* Okabe-Ito first (safe for colour blindness), then more; every line also has its dash and a label. */
var PAL = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#555555', '#8c564b',
  '#7b1fa2', '#33691e', '#c2185b'];
var DASH = [null, '7 3', '2 3', '9 3 2 3', '14 4', '4 2 1 2', '1 4', '6 6', '3 6', '10 2', '5 2 1 2 1 2'];
var FAULT = { hang: '#37474f', delay: '#5e35b1', rcode: '#c62828', truncate: '#00838f', wrong: '#ad1457',
  capacity: '#ef6c00', stop: '#6d4c41', crash: '#4e342e', restart: '#546e7a', reload: '#546e7a' };
var BAND = {
  current: { fill: '#dcedc8', stroke: '#7cb342', ink: '#33691e', name: 'serving the published serial' },
  behind: { fill: 'url(#pat-behind)', stroke: '#e65100', ink: '#bf360c', name: 'serving an older serial' },
  empty: { fill: 'url(#pat-down)', stroke: '#757575', ink: '#424242', name: 'serving no zone' },
  up: { fill: '#e3f2fd', stroke: '#90caf9', ink: '#0d47a1', name: 'up' },
  down: { fill: 'url(#pat-down)', stroke: '#616161', ink: '#212121', name: 'down' },
  booting: { fill: 'url(#pat-boot)', stroke: '#9e9e9e', ink: '#424242', name: 'booting' },
  gated: { fill: 'url(#pat-gate)', stroke: '#6a1b9a', ink: '#4a148c', name: 'gated (behind the published serial)' },
  hdown: { fill: 'url(#pat-hdown)', stroke: '#b71c1c', ink: '#b71c1c', name: 'health down: out of the VIP' },
  hwait: { fill: 'url(#pat-hwait)', stroke: '#e57373', ink: '#b71c1c', name: 'not up yet' },
  removed: { fill: 'url(#pat-removed)', stroke: '#455a64', ink: '#263238', name: 'removed by hand' }
};
var ROWNAME = { fault: 'faults', serving: 'state', gate: 'gate', health: 'health' };
/* A manual action (a command on the control socket, dnschaos ctl): a dashed
 * outline and a downward mark at its start; its commands get a row of marks. */
var MANUAL = '#111111';
function handMark(x, y) { return 'M' + x.toFixed(1) + ' ' + (y + 6) + 'l-4 -6h8z'; }
var CTL = D.ctl || [];
var LEFT = 168, RIGHT = 150, ROW = 22, STRIP = 26;
var T = D.t_end, W = D.w, NB = D.nb;
var root = document.getElementById('timeline');
var panels = [], paths = 0, plotW = 800, ticks = null, sel = -1, pinned = null;
var spans = [], pubs = [];

/*
 * Faults shade every chart: the union of their intervals per kind. Past a
 * few dozen spans shading would only grey the whole run out; the bands
 * panel still shows each one.
 */
function faultSpans() {
  var byKind = {}, out = [];
  D.rows.forEach(function (r) { if (r.k === 'fault') r.items.forEach(function (it) { (byKind[it[2]] = byKind[it[2]] || []).push(it); }); });
  Object.keys(byKind).forEach(function (k) {
    var a = byKind[k].slice().sort(function (x, y) { return x[0] - y[0]; }), cur = null;
    a.forEach(function (it) {
      if (cur && it[0] <= cur[1] + W) cur[1] = Math.max(cur[1], it[1]);
      else { cur = [it[0], it[1], k]; out.push(cur); }
    });
  });
  return out.length > 40 ? [] : out;
}

function el(tag, a, parent) {
  var e = document.createElementNS(NS, tag);
  for (var k in a) if (a[k] !== null && a[k] !== undefined) e.setAttribute(k, a[k]);
  if (parent) parent.appendChild(e);
  if (tag === 'path') paths++;
  return e;
}
function tip(e, text) { el('title', {}, e).textContent = text; return e; }
function txt(parent, x, y, s, cls, anchor) {
  var e = el('text', { x: x, y: y, 'class': cls || null, 'text-anchor': anchor || null }, parent);
  e.textContent = s;
  return e;
}
function h(tag, cls, parent, s) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (s !== undefined) e.textContent = s;
  if (parent) parent.appendChild(e);
  return e;
}
function X(t) { return LEFT + Math.max(0, Math.min(T, t)) / T * plotW; }
function fmtT(t) { return t < 10 ? t.toFixed(2) : t < 100 ? t.toFixed(1) : t.toFixed(0); }
function span(b) { return fmtT(b * W) + '\u2013' + fmtT(Math.min(T, (b + 1) * W)) + ' s'; }
function fmtMs(v) {
  if (v === null || v === undefined) return '\u2013';
  if (v >= 1000) return +(v / 1000).toPrecision(3) + ' s';
  return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : +v.toPrecision(2)) + ' ms';
}
function tickMs(v) { return v >= 1000 ? +(v / 1000).toPrecision(3) + ' s' : +v.toPrecision(3) + ' ms'; }
function fmtRate(v) { return (v >= 100 ? v.toFixed(0) : +v.toFixed(1)) + '/s'; }
function pct(n, d) { return d ? (n === d ? '100' : (100 * n / d).toFixed(1)) + '%' : '\u2013'; }
function sum(a) { var s = 0; for (var i = 0; i < a.length; i++) s += a[i]; return s; }
function max(a) { var m = 0; for (var i = 0; i < a.length; i++) if (a[i] !== null && a[i] > m) m = a[i]; return m; }
function nice(raw) {
  var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
  return p * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10);
}
function fmtW() { return W < 1 ? Math.round(W * 1000) + ' ms' : W + ' s'; }

/* ---- a panel: a heading with a live readout, a legend, one svg on the shared time axis ---- */

function panel(name, sub, height, legend) {
  var sec = h('section', 'panel', root), head = h('div', 'panel-head', sec);
  h('h3', null, head, name);
  if (sub) h('span', 'sub', head, sub);
  var out = h('span', 'readout', head, '');
  out.setAttribute('aria-live', 'polite');
  if (legend && legend.length) {
    var lg = h('div', 'legend', sec);
    legend.forEach(function (it) { swatch(lg, it); });
  }
  var w = LEFT + plotW + RIGHT;
  var svg = el('svg', { width: w, height: height, viewBox: '0 0 ' + w + ' ' + height, role: 'img',
    'aria-label': name + (sub ? ': ' + sub : '') });
  sec.appendChild(svg);
  var p = { svg: svg, h: height, out: out, readout: null, y0: 0, y1: height };
  panels.push(p);
  return p;
}
function swatch(parent, it) {
  var s = h('span', null, parent), svg = el('svg', { width: 30, height: 12, 'aria-hidden': 'true' });
  s.appendChild(svg);
  if (it.hand) {
    el('rect', { x: 1, y: 3, width: 28, height: 8, fill: 'none', stroke: MANUAL, 'stroke-dasharray': '3 2', rx: 2 }, svg);
    el('path', { d: handMark(6, 0), fill: MANUAL }, svg);
  } else if (it.line) el('path', { d: 'M1 6H29', stroke: it.c, 'stroke-width': it.w || 2, 'stroke-dasharray': it.dash || null, fill: 'none' }, svg);
  else el('rect', { x: 1, y: 1, width: 28, height: 10, fill: it.fill || it.c, stroke: it.stroke || 'none', rx: 2 }, svg);
  h('span', null, s, it.label);
}

/* Background of a plot area: fault spans, the time grid, publishes; labels under it when asked. */
function frame(p, y0, y1, labels, shadeTo) {
  p.y0 = y0; p.y1 = y1;
  el('rect', { x: LEFT, y: y0, width: plotW, height: y1 - y0, 'class': 'plotbg' }, p.svg);
  spans.forEach(function (f) {
    var x0 = X(f[0]);
    el('rect', { x: x0, y: y0, width: Math.max(2, X(f[1]) - x0), height: (shadeTo || y1) - y0, fill: FAULT[f[2]] || '#607d8b',
      'fill-opacity': 0.08 }, p.svg);
  });
  ticks.forEach(function (t) {
    el('line', { x1: X(t), x2: X(t), y1: y0, y2: y1, 'class': 'grid' }, p.svg);
    if (labels) txt(p.svg, X(t), y1 + 14, fmtTick(t), 'tick', 'middle');
  });
  if (D.last < T - W) tip(el('rect', { x: X(D.last), y: y0, width: X(T) - X(D.last), height: y1 - y0,
    fill: 'url(#pat-down)', 'fill-opacity': 0.35 }, p.svg), stopText());
  p.hl = el('g', {}, p.svg);
}
function pubLines(p) {
  pubs.forEach(function (u) {
    tip(el('line', { x1: X(u[0]), x2: X(u[0]), y1: p.y0, y2: p.y1, 'class': 'pub' }, p.svg),
      'publish ' + u[2] + ' serial ' + u[1] + ' at ' + u[0].toFixed(3) + ' s');
  });
}
function stopText() {
  return (D.end ? 'the run ended (' + D.end + ')' : 'the history stops (no end line: the run was killed?)') +
    ' at ' + fmtT(D.last) + ' s of the ' + fmtT(D.duration) + ' s planned: nothing recorded after';
}
function fmtTick(t) { return (+t.toPrecision(6)) + ' s'; }
function cursor(p) {
  p.cur = el('line', { x1: 0, x2: 0, y1: p.y0, y2: p.y1, 'class': 'cursor', visibility: 'hidden' }, p.svg);
}
function yAxis(p, lo, hi, y, fmt, step) {
  for (var v = lo; v <= hi + step * 1e-6; v += step) {
    var yy = y(v);
    el('line', { x1: LEFT, x2: LEFT + plotW, y1: yy, y2: yy, 'class': 'ygrid' }, p.svg);
    txt(p.svg, LEFT - 6, yy + 4, fmt(v), 'tick', 'end');
  }
}

/*
 * A series through bucket centres. Buckets without a value (no lookup there)
 * are bridged when the gap is short, so that sparse data still reads as a
 * line; a longer gap breaks it. Returns its last point, for the end label.
 */
function series(p, vals, y, st, label, fmt) {
  var g = el('g', {}, p.svg), d = '', last = -1e9, pts = [], b, bridge = Math.max(3, Math.ceil(0.5 / W));
  for (b = 0; b < NB; b++) {
    var v = vals[b];
    if (v === null || v === undefined) continue;
    var px = X((b + 0.5) * W), py = y(v), joined = b - last <= bridge;
    d += (joined ? 'L' : 'M') + px.toFixed(1) + ' ' + py.toFixed(1);
    if (!joined && pts.length) pts[pts.length - 1][5] = pts[pts.length - 1][4];
    pts.push([b, px, py, v, !joined, false]);
    last = b;
  }
  if (pts.length) pts[pts.length - 1][5] = pts[pts.length - 1][4];
  if (d) el('path', { d: d, fill: 'none', stroke: st.c, 'stroke-width': st.w || 1.8, 'stroke-dasharray': st.dash || null,
    'stroke-linejoin': 'round', 'stroke-linecap': 'round' }, g);
  pts.forEach(function (q) {
    tip(el('circle', { cx: q[1], cy: q[2], r: q[5] ? 2.6 : 3.2, fill: st.c, 'class': q[5] ? 'pt solo' : 'pt' }, g),
      label + ' \u00b7 ' + span(q[0]) + ': ' + fmt(q[3], q[0]));
  });
  return pts.length ? { y: pts[pts.length - 1][2], label: label, c: st.c } : null;
}
/* Labels at the right end of the lines, pushed apart so that they do not overlap. */
function endLabels(p, ends, bottom) {
  ends = ends.filter(function (e) { return e; }).sort(function (a, b) { return a.y - b.y; });
  var last = p.y0 + 10 - 13, ys = [], i;
  ends.forEach(function (e) { last = Math.max(e.y + 4, last + 13); ys.push(last); });
  bottom = bottom || p.y1 + 4;
  for (i = ys.length - 1; i >= 0; i--) ys[i] = Math.max(p.y0 + 10, Math.min(ys[i], bottom - (ys.length - 1 - i) * 13));
  ends.forEach(function (e, i) {
    var t = txt(p.svg, LEFT + plotW + 8, ys[i], e.label, 'halo', null);
    t.setAttribute('fill', e.c);
    t.setAttribute('font-size', '11.5');
    t.setAttribute('font-weight', '600');
  });
}
function style(i) { return { c: PAL[i % PAL.length], dash: DASH[i % DASH.length] }; }

/* ---- the top strip: time labels and publish flags ---- */

function header() {
  var p = panel('Time', 'seconds since the run started; buckets of ' + fmtW(), 34, null);
  p.y0 = 22; p.y1 = 34;
  ticks.forEach(function (t) { txt(p.svg, X(t), 14, fmtTick(t), 'tick', 'middle'); });
  var lastX = -1e9, row = 0, many = D.pubs.filter(function (u) { return !u[4]; }).length;
  if (many > 12) {
    D.pubs.forEach(function (u) {
      if (!u[4]) tip(el('path', { d: 'M' + X(u[0]).toFixed(1) + ' 34l-3 -6h6z', fill: '#1565c0' }, p.svg),
        'published at ' + u[0].toFixed(3) + ' s: ' + u[2] + ' serial ' + u[1]);
    });
    txt(p.svg, LEFT + plotW + 8, 32, many + ' publishes', 'pubflag', null);
  }
  D.pubs.forEach(function (u) {
    if (many > 12 && !u[4]) return;
    var x = X(u[0]);
    row = x - lastX < 150 ? 1 - row : 0;
    lastX = x;
    el('path', { d: 'M' + x.toFixed(1) + ' ' + (34 - row * 0) + 'l-4 -7h8z', fill: '#1565c0' }, p.svg);
    var t = txt(p.svg, x + 6, 30, (u[4] ? 'published ' : 'publish ') + u[1] + (u[5] ? ' (manual)' : ''), 'pubflag halo', null);
    if (row) t.setAttribute('y', 19);
    tip(t, (u[4] ? 'initially published: ' : 'published at ' + u[0].toFixed(3) + ' s: ') + u[2] + ' serial ' + u[1] + ' by ' + u[3] +
      (u[5] ? ', manual (dnschaos ctl)' : ''));
  });
  if (D.last < T - W) {
    el('rect', { x: X(D.last), y: 20, width: X(T) - X(D.last), height: 14, fill: 'url(#pat-down)', 'fill-opacity': 0.5 }, p.svg);
    var st = txt(p.svg, X(D.last) + 6, 31, 'no record after ' + fmtT(D.last) + ' s', 'tick halo', null);
    tip(st, stopText());
  }
  p.readout = function (b) { return span(b); };
  cursor(p);
  p.cur.setAttribute('y1', 18);
}

/* ---- lookups: success rate, volume, stale and wrong answers ---- */

function lookups() {
  var A = D.lookups.all, C = D.lookups.clients, total = sum(A.n);
  var strips = C.length > 1 ? C : [{ name: C.length ? C[0].name : 'all clients', n: A.n, stale: A.stale, wrong: A.wrong }];
  var anyBad = sum(A.stale) + sum(A.wrong) > 0;
  var legend = [{ line: true, c: '#1f2933', w: 3, label: 'all clients' }];
  if (C.length > 1) C.forEach(function (c, i) { var s = style(i); legend.push({ line: true, c: s.c, dash: s.dash, label: c.name + ' (' + c.stack + ')' }); });
  legend.push({ fill: '#cfd8dc', stroke: '#b0bec5', label: 'lookups per second (grey area, own scale)' });
  legend.push({ fill: 'url(#pat-stale)', stroke: '#ef6c00', label: 'stale answers' });
  legend.push({ fill: 'url(#pat-wrong)', stroke: '#c62828', label: 'wrong answers' });
  var y0 = 10, y1 = 170, s0 = y1 + 10, s1 = s0 + strips.length * STRIP - 3, H = s1 + 24;
  var p = panel('Lookups', 'share of completed lookups that succeeded, by invoke time; below: share of answers that were stale or wrong', H, legend);
  frame(p, y0, s1, true, y1);
  if (!total) { txt(p.svg, LEFT + plotW / 2, (y0 + y1) / 2, 'no lookup completed in this run', 'empty', 'middle'); }
  var y = function (v) { return y1 - v / 100 * (y1 - y0); };
  yAxis(p, 0, 100, y, function (v) { return v + '%'; }, 25);
  var k = Math.max(1, Math.round(0.25 / W)) | 1, vol = smooth(A.n, k), peak = max(vol), bw = Math.max(1, plotW / NB - 1);
  if (peak) {
    var d = 'M' + X(0).toFixed(1) + ' ' + y1;
    var xe = X(0);
    vol.forEach(function (v, b) {
      if (v === null) return;
      xe = X((b + 0.5) * W);
      d += 'L' + xe.toFixed(1) + ' ' + (y1 - v / peak * (y1 - y0) * 0.6).toFixed(1);
    });
    d += 'L' + xe.toFixed(1) + ' ' + y1 + 'Z';
    tip(el('path', { d: d, fill: '#cfd8dc', 'fill-opacity': 0.5, stroke: '#b0bec5', 'stroke-width': 1 }, p.svg),
      'lookups completed per second' + (k > 1 ? ', averaged over ' + fmtT(k * W) + ' s' : '') + '; peak ' + fmtRate(peak));
    txt(p.svg, LEFT + plotW - 4, y1 - (y1 - y0) * 0.6 - 3, 'volume peak ' + fmtRate(peak), 'tick', 'end');
  }
  pubLines(p);
  var rate = function (c) { return c.n.map(function (n, b) { return n ? 100 * c.ok[b] / n : null; }); };
  var fmtOk = function (c) { return function (v, b) { return pct(c.ok[b], c.n[b]) + ' ok (' + c.ok[b] + ' of ' + c.n[b] + ')'; }; };
  var ends = [];
  if (C.length > 1) C.forEach(function (c, i) { ends.push(series(p, rate(c), y, { c: style(i).c, dash: style(i).dash, w: 1.6 }, c.name, fmtOk(c))); });
  ends.push(series(p, rate(A), y, { c: '#1f2933', w: 2.6 }, 'all clients', fmtOk(A)));
  endLabels(p, ends, y1 + 4);
  strips.forEach(function (c, i) {
    var top = s0 + i * STRIP, hh = STRIP - 3, g = el('g', {}, p.svg);
    el('rect', { x: LEFT, y: top, width: plotW, height: hh, fill: '#fafafa', stroke: '#e3e7ec' }, g);
    var lab = txt(p.svg, LEFT - 8, top + hh - 4, c.name, 'rowlabel', 'end');
    tip(lab, 'stale and wrong answers of ' + c.name + ', as a share of its completed lookups');
    var bad = 0;
    c.n.forEach(function (n, b) {
      var st = c.stale[b], wr = c.wrong[b];
      if (!n || !(st + wr)) return;
      bad += st + wr;
      var x0 = X(b * W) + 0.5, hs = Math.max(2, st / n * hh), hw = wr ? Math.max(2, wr / n * hh) : 0;
      var label = span(b) + ' \u00b7 ' + c.name + ': ' + st + ' stale and ' + wr + ' wrong of ' + n + ' answers';
      if (st) tip(el('rect', { x: x0, y: top + hh - hs, width: bw, height: hs, fill: 'url(#pat-stale)', stroke: '#ef6c00', 'stroke-width': 0.5, 'class': 'bar' }, g), label);
      if (wr) tip(el('rect', { x: x0, y: top + hh - (st ? hs : 0) - hw, width: bw, height: hw, fill: 'url(#pat-wrong)', stroke: '#c62828', 'stroke-width': 0.5, 'class': 'bar' }, g), label);
    });
    if (!bad) txt(g, LEFT + 8, top + hh - 4, 'no stale or wrong answer', 'empty', null);
    else txt(g, LEFT + plotW + 8, top + hh - 4, sum(c.stale) + ' stale, ' + sum(c.wrong) + ' wrong', 'tick', null);
  });
  if (!anyBad && total) p.out.title = 'every classified answer was fresh';
  p.readout = function (b) {
    var s = span(b) + ': ' + pct(A.ok[b], A.n[b]) + ' of ' + A.n[b] + ' ok';
    if (!A.n[b]) s = span(b) + ': no lookup completed';
    if (A.fail[b]) s += ', ' + A.fail[b] + ' failed';
    if (A.timeout[b]) s += ', ' + A.timeout[b] + ' timed out';
    if (A.stale[b]) s += ', ' + A.stale[b] + ' stale';
    if (A.wrong[b]) s += ', ' + A.wrong[b] + ' wrong';
    if (C.length > 1) s += ' \u2014 ' + C.map(function (c) { return c.name + ' ' + pct(c.ok[b], c.n[b]) + (c.stale[b] ? ' (' + c.stale[b] + ' stale)' : ''); }).join(' \u00b7 ');
    return s;
  };
  cursor(p);
}

/* ---- latency percentiles, log scale ---- */

function latency() {
  var L = D.latency, lo = Infinity, hi = 0;
  [L.p50, L.p99].forEach(function (a) { a.forEach(function (v) { if (v !== null) { if (v > 0 && v < lo) lo = v; if (v > hi) hi = v; } }); });
  var legend = [{ line: true, c: '#0072b2', w: 2.4, label: 'p50 (median)' }, { line: true, c: '#d55e00', dash: '7 3', w: 2, label: 'p99' },
    { fill: '#0072b2', label: 'p50\u2013p99 spread', stroke: null }];
  legend[2].fill = 'rgba(0,114,178,.15)';
  var y0 = 10, y1 = 150;
  var p = panel('Latency', 'of completed lookups (timeouts included, at their timeout), per bucket; log scale', y1 + 24, legend);
  frame(p, y0, y1, true);
  if (!hi) { txt(p.svg, LEFT + plotW / 2, (y0 + y1) / 2, 'no latency measured', 'empty', 'middle'); p.readout = function () { return ''; }; cursor(p); return; }
  if (!isFinite(lo)) lo = hi;
  var llo = Math.floor(Math.log10(lo)), lhi = Math.ceil(Math.log10(hi));
  if (lhi <= llo) lhi = llo + 1;
  var y = function (v) { var l = Math.log10(Math.max(v, Math.pow(10, llo))); return y1 - (l - llo) / (lhi - llo) * (y1 - y0); };
  for (var k = llo; k <= lhi; k++) {
    var yy = y(Math.pow(10, k));
    el('line', { x1: LEFT, x2: LEFT + plotW, y1: yy, y2: yy, 'class': 'ygrid' }, p.svg);
    txt(p.svg, LEFT - 6, yy + 4, tickMs(Math.pow(10, k)), 'tick', 'end');
    if (lhi - llo <= 2 && k < lhi) [2, 5].forEach(function (m) {
      var ym = y(m * Math.pow(10, k));
      el('line', { x1: LEFT, x2: LEFT + plotW, y1: ym, y2: ym, 'class': 'ygrid', 'stroke-dasharray': '2 3' }, p.svg);
      txt(p.svg, LEFT - 6, ym + 4, tickMs(m * Math.pow(10, k)), 'tick', 'end');
    });
  }
  var d = '', seg = [];
  var flush = function () {
    if (!seg.length) return;
    var up = seg.map(function (b) { return X((b + 0.5) * W).toFixed(1) + ' ' + y(L.p99[b]).toFixed(1); });
    var dn = seg.slice().reverse().map(function (b) { return X((b + 0.5) * W).toFixed(1) + ' ' + y(L.p50[b]).toFixed(1); });
    d += 'M' + up.join('L') + 'L' + dn.join('L') + 'Z';
    seg = [];
  };
  for (var b = 0; b < NB; b++) { if (L.p50[b] === null) flush(); else seg.push(b); }
  flush();
  if (d) el('path', { d: d, fill: '#0072b2', 'fill-opacity': 0.13, stroke: 'none' }, p.svg);
  pubLines(p);
  var f = function (v) { return fmtMs(v); };
  endLabels(p, [series(p, L.p99, y, { c: '#d55e00', dash: '7 3', w: 2 }, 'p99', f),
    series(p, L.p50, y, { c: '#0072b2', w: 2.4 }, 'p50', f)]);
  p.readout = function (b) { return L.p50[b] === null ? span(b) + ': no lookup' : span(b) + ': p50 ' + fmtMs(L.p50[b]) + ' \u00b7 p99 ' + fmtMs(L.p99[b]); };
  cursor(p);
}

/* ---- queries per second: at each resolver, or routed by each VIP ---- */

/* Counts per bucket as a rate, averaged over about 0.25 s when buckets are finer (a few queries each). */
function smooth(q, k) {
  var out = [], h = Math.floor(k / 2);
  for (var b = 0; b < q.length; b++) {
    if (b * W > D.last) { out.push(null); continue; } /* nothing recorded there */
    var s = 0, n = 0;
    for (var i = Math.max(0, b - h); i <= Math.min(q.length - 1, b + h); i++) { s += q[i]; n++; }
    out.push(s / n / W);
  }
  return out;
}
function rates(name, sub, list, labelOf) {
  if (!list.length) return;
  var k = Math.max(1, Math.round(0.25 / W));
  if (k > 1) { k |= 1; sub += '; lines averaged over ' + fmtT(k * W) + ' s'; }
  var legend = list.map(function (s, i) { var st = style(i); return { line: true, c: st.c, dash: st.dash, label: labelOf(s) }; });
  var y0 = 10, y1 = 130;
  var p = panel(name, sub, y1 + 24, legend);
  frame(p, y0, y1, true);
  var top = 0;
  var sm = list.map(function (s) { return smooth(s.q, k); });
  sm.forEach(function (a) { var m = max(a); if (m > top) top = m; });
  if (!top) top = 1;
  var step = nice(top / 4), hi = Math.ceil(top / step) * step;
  var y = function (v) { return y1 - v / hi * (y1 - y0); };
  yAxis(p, 0, hi, y, function (v) { return +v.toPrecision(4) + '/s'; }, step);
  pubLines(p);
  var ends = list.map(function (s, i) {
    var st = style(i);
    return series(p, sm[i], y, { c: st.c, dash: st.dash, w: 1.8 }, labelOf(s),
      function (v, b) { return fmtRate(v) + ' (' + s.q[b] + ' queries in the bucket)'; });
  });
  endLabels(p, ends);
  p.readout = function (b) {
    if (sm[0][b] === null) return span(b) + ': nothing recorded';
    return span(b) + ': ' + list.map(function (s, i) { return labelOf(s) + ' ' + fmtRate(sm[i][b]); }).join(' \u00b7 ');
  };
  cursor(p);
}

/* ---- bands: faults, resolver states, gates, health; the checks' moments ---- */

function bandStyle(kind) {
  if (FAULT[kind]) return { fill: FAULT[kind], stroke: FAULT[kind], ink: '#fff', fault: true };
  return BAND[kind] || BAND.down;
}
function bands() {
  var rows = D.rows.slice();
  var moments = D.checks.filter(function (c) { return c.moments.length; });
  var seen = {}, legend = [];
  rows.forEach(function (r) { r.items.forEach(function (it) { seen[it[2]] = 1; }); });
  Object.keys(FAULT).forEach(function (k) { if (seen[k]) legend.push({ fill: FAULT[k], label: 'fault: ' + k }); });
  Object.keys(BAND).forEach(function (k) { if (seen[k]) legend.push({ fill: BAND[k].fill, stroke: BAND[k].stroke, label: BAND[k].name }); });
  if (moments.length) legend.push({ fill: '#c62828', label: 'moment that broke a check (click a row below)' });
  var manual = CTL.length > 0;
  rows.forEach(function (r) { r.items.forEach(function (it) { if (it[5]) manual = true; }); });
  if (manual) legend.push({ hand: true, label: 'manual: a command on the control socket (dnschaos ctl)' });
  var ctlRow = CTL.length ? rows.length : -1;
  var nrows = rows.length + (CTL.length ? 1 : 0) + (moments.length ? 1 : 0);
  if (!nrows) return;
  var y0 = 6, H = y0 + nrows * ROW + 26;
  var p = panel('What happened', 'faults, resolver states and serials, gates, VIP health', H, legend);
  frame(p, y0, y0 + nrows * ROW, true);
  pubLines(p);
  var prevGroup = null;
  rows.forEach(function (r, i) {
    var top = y0 + i * ROW, hh = ROW - 6, g = el('g', { 'class': 'band' }, p.svg);
    if (i % 2) el('rect', { x: LEFT, y: top, width: plotW, height: ROW, fill: '#f5f7fa', 'fill-opacity': 0.6 }, g);
    if (r.g !== prevGroup && i) el('line', { x1: 8, x2: LEFT + plotW, y1: top, y2: top, stroke: '#d9dee5' }, p.svg);
    var lab = el('text', { x: LEFT - 8, y: top + hh, 'text-anchor': 'end', 'class': 'rowlabel' }, p.svg);
    var t1 = el('tspan', { 'font-weight': r.g !== prevGroup ? 700 : 400, fill: r.g !== prevGroup ? null : '#9aa4b1' }, lab);
    t1.textContent = r.g + ' ';
    el('tspan', { 'class': 'k' }, lab).textContent = ROWNAME[r.k] || r.k;
    prevGroup = r.g;
    if (!r.items.length) txt(g, LEFT + 8, top + hh - 2, r.k === 'health' ? 'up throughout' : 'nothing', 'empty', null);
    r.items.forEach(function (it) {
      var st = bandStyle(it[2]), x0 = X(it[0]), x1 = Math.max(X(it[1]), x0 + 3);
      tip(el('rect', { x: x0, y: top + 3, width: x1 - x0, height: hh, fill: st.fill, stroke: st.stroke, rx: 2 }, g), it[4]);
      if (it[5]) {
        el('rect', { x: x0 - 1, y: top + 2, width: x1 - x0 + 2, height: hh + 2, fill: 'none', stroke: MANUAL,
          'stroke-width': 1.5, 'stroke-dasharray': '3 2', rx: 2, 'class': 'manual' }, g);
        tip(el('path', { d: handMark(x0, top - 3), fill: MANUAL, 'class': 'manual' }, g), it[4]);
      }
      var label = it[3], fits = function (s) { return s && (x1 - x0) > s.length * 6.3 + 8; };
      if (!fits(label)) label = label.split(/[:,]/)[0];
      if (!fits(label) && st.fault) label = it[2];
      if (fits(label)) {
        var t = txt(g, x0 + 5, top + hh - 1, label, null, null);
        t.setAttribute('fill', st.ink);
        if (st.fault) t.setAttribute('style', 'stroke:none;font-weight:600');
      }
    });
    if (r.more) txt(g, LEFT + plotW + 8, top + hh, '+' + r.more + ' not drawn', 'tick', null);
  });
  if (CTL.length) {
    var ctop = y0 + ctlRow * ROW, clab = txt(p.svg, LEFT - 8, ctop + ROW - 6, 'ctl ', 'rowlabel', 'end');
    clab.setAttribute('font-weight', 700);
    el('tspan', { 'class': 'k' }, clab).textContent = 'commands';
    var cg = el('g', {}, p.svg);
    CTL.forEach(function (c) {
      var mk = el('path', { d: handMark(X(c[0]), ctop + 5).replace('l-4 -6h8z', 'l-5 -8h10z'), 'class': 'manual',
        fill: c[2] ? MANUAL : '#c62828' }, cg);
      tip(mk, c[0].toFixed(3) + ' s: dnschaos ctl ' + c[1] + (c[2] ? '' : ' (refused: ' + c[3] + ')'));
    });
  }
  if (moments.length) {
    var top = y0 + (rows.length + (CTL.length ? 1 : 0)) * ROW, lab = txt(p.svg, LEFT - 8, top + ROW - 6, 'checks ', 'rowlabel', 'end');
    lab.setAttribute('font-weight', 700);
    el('tspan', { 'class': 'k' }, lab).textContent = 'moments';
    var g = el('g', {}, p.svg);
    moments.forEach(function (c) {
      c.moments.forEach(function (m) {
        var x = X(m[0]), cy = top + ROW / 2;
        var dm = el('path', { d: 'M' + x.toFixed(1) + ' ' + (cy - 7) + 'l6 7l-6 7l-6 -7z', 'class': 'diamond', 'data-i': c.i,
          fill: c.outcome === 'fail' ? '#c62828' : '#a15c00' }, g);
        tip(dm, '#' + c.i + ' ' + c.name + ' \u2014 ' + m[0].toFixed(3) + ' s (line ' + m[1] + '): ' + m[2]);
        dm.addEventListener('click', function () { select(c.i); });
      });
      var t = txt(g, X(c.moments[c.moments.length - 1][0]) + 8, top + ROW / 2 + 4, '#' + c.i, 'tick halo', null);
      t.setAttribute('font-weight', 700);
    });
  }
  p.readout = function (b, t) {
    var now = [];
    rows.forEach(function (r) { r.items.forEach(function (it) { if (it[0] <= t && t <= Math.max(it[1], it[0] + W)) now.push(r.g + ': ' + (it[3] || it[2])); }); });
    return fmtT(t) + ' s: ' + (now.length ? now.join(' \u00b7 ') : 'no fault, every resolver serving');
  };
  cursor(p);
}

/* ---- the cursor shared by every panel, and the selection from the table ---- */

function setCursor(t) {
  if (t === null) {
    panels.forEach(function (p) { if (p.cur) p.cur.setAttribute('visibility', 'hidden'); p.out.textContent = ''; });
    return;
  }
  var b = Math.min(NB - 1, Math.max(0, Math.floor(t / W))), x = X(t);
  panels.forEach(function (p) {
    if (p.cur) { p.cur.setAttribute('x1', x); p.cur.setAttribute('x2', x); p.cur.setAttribute('visibility', 'visible'); }
    p.out.textContent = p.readout ? p.readout(b, t) : '';
  });
}
function drawSelection() {
  panels.forEach(function (p) { if (p.hl) p.hl.textContent = ''; });
  document.querySelectorAll('.diamond').forEach(function (d) { d.classList.toggle('on', +d.getAttribute('data-i') === sel); });
  document.querySelectorAll('tr[data-check]').forEach(function (tr) { tr.classList.toggle('selected', +tr.getAttribute('data-check') === sel); });
  var c = D.checks.filter(function (k) { return k.i === sel; })[0];
  if (!c) return;
  var from = Math.max(0, c.from), to = c.to === null || c.to < 0 ? T : Math.min(T, c.to);
  var whole = from <= 0 && to >= T;
  panels.forEach(function (p) {
    if (!p.hl || p.y1 - p.y0 < 20) return;
    if (!whole) tip(el('rect', { x: X(from), y: p.y0, width: Math.max(2, X(to) - X(from)), height: p.y1 - p.y0, 'class': 'selwin' }, p.hl),
      '#' + c.i + ' ' + c.name + ': window ' + fmtT(from) + '\u2013' + fmtT(to) + ' s');
    c.moments.forEach(function (m) { el('line', { x1: X(m[0]), x2: X(m[0]), y1: p.y0, y2: p.y1, 'class': 'selmom' }, p.hl); });
  });
}
function select(i) { sel = sel === i ? -1 : i; drawSelection(); }

function render() {
  root.textContent = '';
  panels = []; paths = 0;
  plotW = Math.max(360, (root.clientWidth || 1200) - LEFT - RIGHT - 4);
  var step = nice(T / Math.max(2, Math.floor(plotW / 80)));
  ticks = [];
  for (var k = 0; k * step <= T + 1e-9; k++) ticks.push(k * step);
  spans = faultSpans();
  pubs = D.pubs.filter(function (u) { return !u[4]; });
  if (pubs.length > 12) pubs = [];
  header();
  lookups();
  latency();
  rates('Resolver load', 'queries per second each fake resolver saw (clients, health probes, transfers)', D.resolvers,
    function (s) { return s.label || s.name; });
  rates('VIP routing', 'queries per second each VIP sent to each backend (no backend: nothing was up)', D.routes,
    function (s) { return s.label || s.vip + ' \u2192 ' + (s.backend === null ? 'no backend' : s.backend); });
  bands();
  drawSelection();
  if (pinned !== null) setCursor(pinned);
  document.body.setAttribute('data-rendered', '1');
  document.body.setAttribute('data-paths', String(paths));
}

root.addEventListener('mousemove', function (ev) {
  if (!panels.length) return;
  var r = panels[0].svg.getBoundingClientRect(), px = ev.clientX - r.left;
  if (px < LEFT || px > LEFT + plotW) { setCursor(pinned); return; }
  setCursor((px - LEFT) / plotW * T);
});
root.addEventListener('mouseleave', function () { setCursor(pinned); });
root.addEventListener('click', function (ev) {
  if (!panels.length || ev.target.classList.contains('diamond')) return;
  var r = panels[0].svg.getBoundingClientRect(), px = ev.clientX - r.left;
  if (px >= LEFT && px <= LEFT + plotW) pinned = pinned === null ? (px - LEFT) / plotW * T : null;
});
document.querySelectorAll('tr[data-check]').forEach(function (tr) {
  var i = +tr.getAttribute('data-check');
  tr.addEventListener('click', function (ev) { if (ev.target.tagName !== 'A') select(i); });
  tr.addEventListener('keydown', function (ev) { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); select(i); } });
});
document.querySelectorAll('a.moment').forEach(function (a) {
  a.addEventListener('click', function (ev) {
    ev.preventDefault();
    pinned = +a.getAttribute('data-t');
    sel = +a.closest('tr').getAttribute('data-check');
    drawSelection();
    setCursor(pinned);
    root.scrollIntoView({ behavior: 'smooth', block: 'start' });
  });
});
var timer = null;
window.addEventListener('resize', function () { clearTimeout(timer); timer = setTimeout(render, 150); });
render();
})();
