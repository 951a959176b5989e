/*
 * report_html.c - DIR/index.html: one self-contained page (style, script and
 * data inline, nothing fetched) with the verdict, the run's timeline and the
 * expectations table.
 *
 * The reduction happens here, not in the browser: the history's arrays
 * become per-bucket series (100 to 250 buckets over the run: success rate,
 * latency percentiles, queries per second per resolver and per VIP backend)
 * and intervals per lane (faults, resolver states and serials, gates, VIP
 * health), so the JSON blob in the page stays small whatever the size of the
 * history. The page's script only draws them, as SVG built by hand.
 *
 * The header, the numbers and the expectations table are plain HTML written
 * here, so they read without the script. Every text from the history or the
 * scenario is escaped for where it goes (HTML text, or JSON inside a
 * <script>, where "<" must not appear), and bytes that are not UTF-8 become
 * U+FFFD.
 */
#include "harness/record/report.h"
#include "harness/record/report_assets.h"
#include "fakeresolver/json.h"
#include "harness/record/hist.h"
#include "harness/record/outfile.h"
#include "version.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define HTML_BUCKETS    250  /* buckets over the run at most (a round width: 100 to 250) */
#define HTML_BUCKET_MIN 0.05 /* s: finer buckets would hold a handful of lookups each */
#define HTML_CLIENTS    8    /* clients drawn one by one, at most (else only all clients) */
#define HTML_SERIES     10   /* lines in a load panel; beyond, the smallest are summed */
#define HTML_LANE_ITEMS 300  /* intervals drawn per lane (more are merged, then cut) */
#define HTML_LANES      12   /* resolvers whose state lane is always drawn; beyond, eventful only */
#define HTML_PUBLISHES  200  /* publish marks drawn at most */
#define HTML_EVENTS     400  /* entries of the event list */
#define HTML_ZONES      16   /* zones whose published serial is followed */

/* ---- a growing buffer; out of memory is sticky and checked once at the end ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 64 * 1024;
		while (n > cap - b->len) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			cap *= 2;
		}
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap, ap2;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
	} else if ((size_t)n < sizeof small) {
		sb_add(b, small, (size_t)n);
	} else {
		char *big = malloc((size_t)n + 1);
		if (!big)
			b->oom = true;
		else {
			vsnprintf(big, (size_t)n + 1, fmt, ap2);
			sb_add(b, big, (size_t)n);
			free(big);
		}
	}
	va_end(ap2);
}

/* Copies one of the page's static parts (report_assets.h) and the blank line after it. */
static void sb_asset(struct sbuf *b, const unsigned char *bytes, size_t len)
{
	sb_add(b, (const char *)bytes, len);
	sb_add(b, "\n", 1);
}

/*
 * A JSON string for inside <script type="application/json">: "<", ">" and
 * "&" escaped too, so that no "</script>" or "<!--" can end the element, and
 * U+2028/U+2029 for old script parsers. NULL is null.
 */
static void sb_json(struct sbuf *b, const char *s)
{
	char buf[JSON_ESCAPE_ROOM(1024)];
	size_t n, used;

	if (!s) {
		sb_puts(b, "null");
		return;
	}
	sb_add(b, "\"", 1);
	for (n = strlen(s); n > 0; s += used, n -= used)
		sb_add(b, buf, json_escape(buf, s, n, 1024, JSON_ESC_SCRIPT, &used));
	sb_add(b, "\"", 1);
}

/* HTML text or attribute value (quoted with "): the five specials as references. */
static void sb_html(struct sbuf *b, const char *s)
{
	if (!s)
		return;
	size_t n = strlen(s), i = 0;
	while (i < n) {
		uint32_t cp;
		size_t len = utf8_next((const unsigned char *)s + i, n - i, &cp);
		switch (cp) {
		case '&': sb_puts(b, "&amp;"); break;
		case '<': sb_puts(b, "&lt;"); break;
		case '>': sb_puts(b, "&gt;"); break;
		case '"': sb_puts(b, "&quot;"); break;
		case '\'': sb_puts(b, "&#39;"); break;
		default:
			if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7F ||
			    (cp == 0xFFFD && len == 1))
				sb_puts(b, "\xEF\xBF\xBD");
			else
				sb_add(b, s + i, len);
		}
		i += len;
	}
}

/* A JSON number with at most dec decimals, trailing zeros cut; null when not finite. */
static void sb_num(struct sbuf *b, double v, int dec)
{
	char tmp[64];
	int n;

	if (!isfinite(v)) {
		sb_puts(b, "null");
		return;
	}
	if (fabs(v) >= 1e15)
		n = snprintf(tmp, sizeof tmp, "%.17g", v);
	else
		n = snprintf(tmp, sizeof tmp, "%.*f", dec, v);
	if (n <= 0 || (size_t)n >= sizeof tmp) {
		sb_puts(b, "null");
		return;
	}
	if (strchr(tmp, '.') && !strchr(tmp, 'e')) {
		while (n > 0 && tmp[n - 1] == '0')
			tmp[--n] = 0;
		if (n > 0 && tmp[n - 1] == '.')
			tmp[--n] = 0;
	}
	sb_puts(b, strcmp(tmp, "-0") == 0 ? "0" : tmp);
}

static void sb_counts(struct sbuf *b, const uint32_t *c, size_t n)
{
	sb_add(b, "[", 1);
	for (size_t i = 0; i < n; i++)
		sb_printf(b, i ? ",%u" : "%u", (unsigned)c[i]);
	sb_add(b, "]", 1);
}

/* ---- the time grid ---- */

struct grid {
	double T;    /* the run's span drawn: 0 .. T seconds */
	double last; /* the history's last line: what is still open then ends there */
	double w;    /* bucket width */
	size_t nb;   /* buckets */
};

/* The smallest round width (1, 2, 2.5 or 5 times a power of ten) giving HTML_BUCKETS at most. */
static void grid_init(struct grid *g, double span)
{
	static const double mult[] = { 1, 2, 2.5, 5 };
	double target, w = HTML_BUCKET_MIN;

	/* hist_load refuses infinities; were one to come, ceil(inf / inf) is no bucket count */
	g->T = span > HTML_BUCKET_MIN && isfinite(span) ? span : HTML_BUCKET_MIN;
	target = g->T / HTML_BUCKETS;
	if (target > HTML_BUCKET_MIN) {
		for (double p = 0.01; p < 1e12; p *= 10) {
			for (size_t i = 0; i < sizeof mult / sizeof mult[0]; i++)
				if (mult[i] * p >= target) {
					w = mult[i] * p;
					goto found;
				}
		}
		w = target;
	}
found:
	g->w = w;
	g->nb = (size_t)ceil(g->T / w - 1e-9);
	if (g->nb == 0)
		g->nb = 1;
}

static size_t grid_bucket(const struct grid *g, double t)
{
	if (!(t > 0))
		return 0;
	if (t >= g->T)
		return g->nb - 1;
	size_t b = (size_t)(t / g->w);
	return b < g->nb ? b : g->nb - 1;
}

/* ---- series keyed by an interned id (or two): counters per bucket ---- */

struct series {
	uint64_t key;
	uint64_t total;
	uint32_t *c; /* k arrays of nb counters, one after the other */
};

struct sset {
	struct series *s;
	size_t n, cap;
	size_t k, nb;
	uint64_t *hkey; /* open addressing, key -> index in s */
	uint32_t *hval; /* UINT32_MAX: empty */
	size_t hcap;
	bool oom;
};

static size_t key_hash(uint64_t key)
{
	key ^= key >> 31;
	key *= 0x9E3779B97F4A7C15ull;
	return (size_t)(key ^ key >> 29);
}

static int sset_rehash(struct sset *ss)
{
	size_t cap = ss->hcap ? ss->hcap * 2 : 64;
	uint64_t *hkey = malloc(cap * sizeof *hkey);
	uint32_t *hval = malloc(cap * sizeof *hval);

	if (!hkey || !hval) {
		free(hkey);
		free(hval);
		return -1;
	}
	memset(hval, 0xFF, cap * sizeof *hval);
	for (size_t i = 0; i < ss->n; i++) {
		size_t j = key_hash(ss->s[i].key) & (cap - 1);
		while (hval[j] != UINT32_MAX)
			j = (j + 1) & (cap - 1);
		hkey[j] = ss->s[i].key;
		hval[j] = (uint32_t)i;
	}
	free(ss->hkey);
	free(ss->hval);
	ss->hkey = hkey;
	ss->hval = hval;
	ss->hcap = cap;
	return 0;
}

/* The series of key, added (counters zero) if new; NULL when out of memory. */
static struct series *sset_get(struct sset *ss, uint64_t key)
{
	if (ss->oom)
		return NULL;
	if ((ss->n + 1) * 2 > ss->hcap && sset_rehash(ss) < 0)
		goto oom;
	size_t j = key_hash(key) & (ss->hcap - 1);
	while (ss->hval[j] != UINT32_MAX) {
		if (ss->hkey[j] == key)
			return &ss->s[ss->hval[j]];
		j = (j + 1) & (ss->hcap - 1);
	}
	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 16;
		struct series *s = realloc(ss->s, cap * sizeof *s);
		if (!s)
			goto oom;
		ss->s = s;
		ss->cap = cap;
	}
	struct series *s = &ss->s[ss->n];
	s->key = key;
	s->total = 0;
	s->c = NULL;
	if (ss->k && !(s->c = calloc(ss->k * ss->nb, sizeof *s->c)))
		goto oom;
	ss->hkey[j] = key;
	ss->hval[j] = (uint32_t)ss->n++;
	return s;
oom:
	ss->oom = true;
	return NULL;
}

static void sset_free(struct sset *ss)
{
	for (size_t i = 0; i < ss->n; i++)
		free(ss->s[i].c);
	free(ss->s);
	free(ss->hkey);
	free(ss->hval);
}

/* ---- lanes: intervals on one row of the bands panel ---- */

struct item {
	double t0, t1;    /* t1 < 0: still open */
	const char *kind; /* fault kind (the history's text) or a band kind: down, behind, ... */
	char text[48];    /* drawn inside when it fits */
	char tip[224];    /* the hover text, without the times */
	uint32_t merged;  /* intervals merged into this one */
	uint32_t id;      /* a fault's id, to find its heal */
	double lasts;     /* a fault that heals itself: its duration, used when no heal line came */
	bool manual;      /* injected by hand (the control socket): marked on the page */
};

struct items {
	struct item *v;
	size_t n, cap;
	bool oom;
};

static struct item *items_push(struct items *it, double t0, const char *kind)
{
	if (it->oom)
		return NULL;
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 32;
		struct item *v = realloc(it->v, cap * sizeof *v);
		if (!v) {
			it->oom = true;
			return NULL;
		}
		it->v = v;
		it->cap = cap;
	}
	struct item *x = &it->v[it->n++];
	memset(x, 0, sizeof *x);
	x->t0 = t0;
	x->t1 = -1;
	x->kind = kind;
	return x;
}

/* The open item of this kind, latest first. */
static struct item *items_open(struct items *it, const char *kind)
{
	for (size_t i = it->n; i-- > 0;)
		if (it->v[i].t1 < 0 && strcmp(it->v[i].kind, kind) == 0)
			return &it->v[i];
	return NULL;
}

/*
 * Keeps a lane drawable: past HTML_LANE_ITEMS intervals (a backend flapping
 * for an hour), neighbours of one kind closer than a bucket become one
 * interval; what still does not fit is counted, not drawn.
 */
static size_t items_squeeze(struct items *it, double w)
{
	size_t more = 0;

	if (it->n > HTML_LANE_ITEMS) {
		size_t o = 0;
		for (size_t i = 0; i < it->n; i++) {
			struct item *prev = o ? &it->v[o - 1] : NULL;
			if (prev && strcmp(prev->kind, it->v[i].kind) == 0 &&
			    it->v[i].t0 - prev->t1 < w) {
				if (it->v[i].t1 > prev->t1)
					prev->t1 = it->v[i].t1;
				prev->merged += 1 + it->v[i].merged;
				continue;
			}
			it->v[o++] = it->v[i];
		}
		it->n = o;
	}
	if (it->n > HTML_LANE_ITEMS) {
		more = it->n - HTML_LANE_ITEMS;
		it->n = HTML_LANE_ITEMS;
	}
	return more;
}

/* One row: {"g":group,"k":what,"items":[[t0,t1,kind,text,tip],...],"more":n}. */
static void lane_emit(struct sbuf *b, bool *first, const char *group, const char *what,
		      struct items *it, const struct grid *g)
{
	for (size_t i = 0; i < it->n; i++) {
		if (it->v[i].t1 < 0)
			it->v[i].t1 = fmax(it->v[i].t0, g->last);
		if (it->v[i].t1 > g->T)
			it->v[i].t1 = g->T;
	}
	size_t more = items_squeeze(it, g->w);
	sb_puts(b, *first ? "\n{\"g\":" : ",\n{\"g\":");
	*first = false;
	sb_json(b, group);
	sb_puts(b, ",\"k\":");
	sb_json(b, what);
	sb_puts(b, ",\"items\":[");
	for (size_t i = 0; i < it->n; i++) {
		const struct item *x = &it->v[i];
		char text[64], tip[400];
		if (x->merged) {
			unsigned many = (unsigned)x->merged + 1;
			snprintf(text, sizeof text, "%s \xC3\x97%u", x->text, many);
			snprintf(tip, sizeof tip,
				 "%u intervals close together, %.3f\xE2\x80\x93%.3f s; first: %s",
				 many, x->t0, x->t1, x->tip);
		} else {
			snprintf(text, sizeof text, "%s", x->text);
			snprintf(tip, sizeof tip, "%s (%.3f\xE2\x80\x93%.3f s)", x->tip, x->t0,
				 x->t1);
		}
		sb_puts(b, i ? ",[" : "[");
		sb_num(b, x->t0, 4);
		sb_add(b, ",", 1);
		sb_num(b, x->t1, 4);
		sb_add(b, ",", 1);
		sb_json(b, x->kind);
		sb_add(b, ",", 1);
		sb_json(b, text);
		sb_add(b, ",", 1);
		sb_json(b, tip);
		sb_puts(b, x->manual ? ",1]" : "]");
	}
	sb_printf(b, "],\"more\":%zu}", more);
	it->n = 0;
}

/* ---- what the page is made of ---- */

enum { LK_N, LK_OK, LK_FAIL, LK_TIMEOUT, LK_STALE, LK_WRONG, LK_K };

struct page {
	const struct report *r;
	const struct hist *h;
	struct grid g;
	struct sbuf json; /* the data blob */
	bool oom;

	/* numbers for the header */
	size_t completed, ok, failed, timeouts, cancelled, inflight, stale, wrong;
	double p50, p99;
	size_t queries, routes, faults, publishes, transitions;
};

static const char *str(const struct hist *h, uint32_t id)
{
	const char *s = hist_str(h, id);
	return s ? s : "?";
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least p percent at or below it. */
static double percentile(const double *sorted, size_t n, double p)
{
	if (n == 0)
		return NAN;
	size_t k = (size_t)ceil(p / 100 * (double)n);
	return sorted[k ? k - 1 : 0];
}

static bool completed(const struct hist_lookup *l)
{
	return l->event == HIST_LK_OK || l->event == HIST_LK_FAIL || l->event == HIST_LK_TIMEOUT;
}

static void emit_lookup_counters(struct sbuf *b, const uint32_t *c, size_t nb)
{
	static const char *const names[LK_K] = { "n", "ok", "fail", "timeout", "stale", "wrong" };
	for (size_t k = 0; k < LK_K; k++) {
		sb_printf(b, "%s\"%s\":", k ? "," : "", names[k]);
		sb_counts(b, c + k * nb, nb);
	}
}

/*
 * Lookups by invoke time (the checker's windows select lookups the same
 * way): counters for all and per client, and latency percentiles per bucket.
 */
static int data_lookups(struct page *pg)
{
	const struct grid *g = &pg->g;
	struct sset clients = { .k = LK_K, .nb = g->nb };
	uint32_t *all = calloc(LK_K * g->nb, sizeof *all);
	size_t *start = calloc(g->nb + 1, sizeof *start), *fill = NULL;
	double *lat = NULL, *sorted = NULL;
	size_t n, nlat = 0;
	const struct hist_lookup *lk = hist_lookups(pg->h, &n);
	int rc = -1;

	if (!all || !start)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct hist_lookup *l = &lk[i];
		if (l->event == HIST_LK_CANCELLED) {
			pg->cancelled++;
			continue;
		}
		if (!completed(l)) {
			pg->inflight++;
			continue;
		}
		size_t b = grid_bucket(g, l->t_invoke);
		struct series *cs = sset_get(&clients, l->client);
		if (!cs)
			goto out;
		uint32_t one[LK_K] = { 1, l->event == HIST_LK_OK, l->event == HIST_LK_FAIL,
				       l->event == HIST_LK_TIMEOUT, l->cls == HIST_CLASS_STALE,
				       l->cls == HIST_CLASS_WRONG };
		for (size_t k = 0; k < LK_K; k++) {
			all[k * g->nb + b] += one[k];
			cs->c[k * g->nb + b] += one[k];
		}
		cs->total++;
		pg->completed++;
		pg->ok += one[LK_OK];
		pg->failed += one[LK_FAIL];
		pg->timeouts += one[LK_TIMEOUT];
		pg->stale += one[LK_STALE];
		pg->wrong += one[LK_WRONG];
		if (isfinite(l->latency_ms) && l->latency_ms >= 0) {
			start[b + 1]++;
			nlat++;
		}
	}

	/* Latencies grouped by bucket (a counting sort), each group sorted for its percentiles. */
	for (size_t b = 0; b < g->nb; b++)
		start[b + 1] += start[b];
	lat = malloc((nlat ? nlat : 1) * sizeof *lat);
	sorted = malloc((nlat ? nlat : 1) * sizeof *sorted);
	fill = malloc(g->nb * sizeof *fill);
	if (!lat || !sorted || !fill)
		goto out;
	memcpy(fill, start, g->nb * sizeof *fill);
	for (size_t i = 0; i < n; i++) {
		const struct hist_lookup *l = &lk[i];
		if (completed(l) && isfinite(l->latency_ms) && l->latency_ms >= 0)
			lat[fill[grid_bucket(g, l->t_invoke)]++] = l->latency_ms;
	}
	memcpy(sorted, lat, nlat * sizeof *lat);
	qsort(sorted, nlat, sizeof *sorted, cmp_double);
	pg->p50 = percentile(sorted, nlat, 50);
	pg->p99 = percentile(sorted, nlat, 99);

	struct sbuf *j = &pg->json;
	sb_puts(j, ",\n\"lookups\":{\"all\":{");
	emit_lookup_counters(j, all, g->nb);
	sb_puts(j, "},\"clients\":[");
	for (size_t i = 0; clients.n <= HTML_CLIENTS && i < clients.n; i++) {
		const struct hist_lookup *first = NULL;
		for (size_t k = 0; k < n && !first; k++)
			if (lk[k].client == (uint32_t)clients.s[i].key)
				first = &lk[k];
		sb_puts(j, i ? ",\n{\"name\":" : "\n{\"name\":");
		sb_json(j, str(pg->h, (uint32_t)clients.s[i].key));
		sb_puts(j, ",\"stack\":");
		sb_json(j, first ? str(pg->h, first->stack) : "?");
		sb_add(j, ",", 1);
		emit_lookup_counters(j, clients.s[i].c, g->nb);
		sb_add(j, "}", 1);
	}
	sb_printf(j, "],\"nclients\":%zu},\n\"latency\":{", clients.n);
	for (int pass = 0; pass < 2; pass++) {
		sb_puts(j, pass ? "],\"p99\":[" : "\"p50\":[");
		for (size_t b = 0; b < g->nb; b++) {
			double *seg = lat + start[b];
			size_t m = start[b + 1] - start[b];
			if (pass == 0 && m > 1)
				qsort(seg, m, sizeof *seg, cmp_double);
			if (b)
				sb_add(j, ",", 1);
			sb_num(j, percentile(seg, m, pass ? 99 : 50), 3);
		}
	}
	sb_puts(j, "]}");
	rc = clients.oom ? -1 : 0;
out:
	sset_free(&clients);
	free(all);
	free(start);
	free(fill);
	free(lat);
	free(sorted);
	return rc;
}

/*
 * One load panel's lines: the biggest HTML_SERIES - 1 series by total, in
 * the order they first appeared, and the rest summed as "others".
 */
static void emit_rates(struct page *pg, const struct sset *ss, bool routes)
{
	struct sbuf *j = &pg->json;
	const struct grid *g = &pg->g;
	uint64_t cut = 0;
	size_t shown = 0, others = 0;
	uint32_t *rest = NULL;

	if (ss->n > HTML_SERIES) {
		/* The total of the (HTML_SERIES - 1)-th biggest: series above it are drawn. */
		uint64_t *tot = malloc(ss->n * sizeof *tot);
		if (!tot) {
			pg->oom = true;
			return;
		}
		for (size_t i = 0; i < ss->n; i++)
			tot[i] = ss->s[i].total;
		for (size_t i = 0; i < HTML_SERIES - 1; i++)
			for (size_t k = i + 1; k < ss->n; k++)
				if (tot[k] > tot[i]) {
					uint64_t x = tot[i];
					tot[i] = tot[k];
					tot[k] = x;
				}
		cut = tot[HTML_SERIES - 2];
		free(tot);
		rest = calloc(g->nb, sizeof *rest);
		if (!rest) {
			pg->oom = true;
			return;
		}
	}
	for (size_t i = 0; i < ss->n; i++) {
		const struct series *s = &ss->s[i];
		if (rest && (s->total < cut || shown == HTML_SERIES - 1)) {
			for (size_t b = 0; b < g->nb; b++)
				rest[b] += s->c[b];
			others++;
			continue;
		}
		sb_puts(j, shown++ ? ",\n{" : "\n{");
		if (routes) {
			sb_puts(j, "\"vip\":");
			sb_json(j, str(pg->h, (uint32_t)(s->key >> 32)));
			sb_puts(j, ",\"backend\":");
			sb_json(j, hist_str(pg->h, (uint32_t)s->key));
		} else {
			sb_puts(j, "\"name\":");
			sb_json(j, str(pg->h, (uint32_t)s->key));
		}
		sb_puts(j, ",\"q\":");
		sb_counts(j, s->c, g->nb);
		sb_add(j, "}", 1);
	}
	if (others) {
		sb_printf(j, ",\n{\"label\":\"%zu others\",\"name\":\"others\",\"vip\":\"others\","
			     "\"backend\":\"others\",\"q\":", others);
		sb_counts(j, rest, g->nb);
		sb_add(j, "}", 1);
	}
	free(rest);
}

/* Queries per bucket at each resolver (query lines) and per VIP and backend (route lines). */
static int data_load(struct page *pg)
{
	const struct grid *g = &pg->g;
	struct sset res = { .k = 1, .nb = g->nb }, rt = { .k = 1, .nb = g->nb };
	size_t nq, nr;
	const struct hist_query *q = hist_queries(pg->h, &nq);
	const struct hist_route *ro = hist_routes(pg->h, &nr);
	int rc = -1;

	for (size_t i = 0; i < nq; i++) {
		struct series *s = sset_get(&res, q[i].resolver);
		if (!s)
			goto out;
		s->c[grid_bucket(g, q[i].t)]++;
		s->total++;
	}
	for (size_t i = 0; i < nr; i++) {
		struct series *s = sset_get(&rt, (uint64_t)ro[i].vip << 32 | ro[i].backend);
		if (!s)
			goto out;
		s->c[grid_bucket(g, ro[i].t)]++;
		s->total++;
	}
	pg->queries = nq;
	pg->routes = nr;
	sb_puts(&pg->json, ",\n\"resolvers\":[");
	emit_rates(pg, &res, false);
	sb_puts(&pg->json, "],\n\"routes\":[");
	emit_rates(pg, &rt, true);
	sb_puts(&pg->json, "]");
	rc = 0;
out:
	sset_free(&res);
	sset_free(&rt);
	return rc;
}

/* ---- the lanes ---- */

/* Faults on one target: inject to heal by fault id (or to its own duration, or the end). */
static void lane_faults(struct page *pg, uint32_t target, struct items *it)
{
	size_t n;
	const struct hist_fault *f = hist_faults(pg->h, &n);

	for (size_t i = 0; i < n; i++) {
		if (f[i].target != target)
			continue;
		const char *kind = str(pg->h, f[i].kind);
		if (!f[i].inject) {
			for (size_t k = it->n; k-- > 0;)
				if (it->v[k].t1 < 0 && it->v[k].id == f[i].id) {
					it->v[k].t1 = f[i].t;
					break;
				}
			continue;
		}
		struct item *x = items_push(it, f[i].t, kind);
		if (!x)
			return;
		x->id = f[i].id;
		x->lasts = f[i].duration;
		x->manual = f[i].manual;
		if (f[i].qps > 0)
			snprintf(x->text, sizeof x->text, "%s %g qps", kind, f[i].qps);
		else if (f[i].down > 0)
			snprintf(x->text, sizeof x->text, "%s, down %g s", kind, f[i].down);
		else
			snprintf(x->text, sizeof x->text, "%s", kind);
		snprintf(x->tip, sizeof x->tip, "fault %u: %s on %s%s", (unsigned)f[i].id, x->text,
			 str(pg->h, target), f[i].manual ? ", manual (dnschaos ctl)" : "");
	}
	for (size_t k = 0; k < it->n; k++) {
		struct item *x = &it->v[k];
		size_t l = strlen(x->tip);
		if (x->t1 >= 0)
			continue;
		if (x->lasts > 0)
			x->t1 = x->t0 + x->lasts;
		else
			snprintf(x->tip + l, sizeof x->tip - l, ", not healed before the end");
	}
	pg->faults += it->n;
}

/*
 * "Behind": a zone served with an older serial than the one last published
 * for that zone. A plain comparison, not serial arithmetic (RFC 1982): the
 * serials of one run's zone files do not wrap.
 */
struct served {
	uint32_t zone[4], serial[4];
	size_t n;
};

struct published {
	uint32_t zone[HTML_ZONES], serial[HTML_ZONES];
	size_t n;
};

static void published_set(struct published *p, uint32_t zone, uint32_t serial)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->zone[i] == zone) {
			p->serial[i] = serial;
			return;
		}
	if (p->n < HTML_ZONES) {
		p->zone[p->n] = zone;
		p->serial[p->n++] = serial;
	}
}

/* The served zone behind its published serial, or -1. */
static int served_behind(const struct served *s, const struct published *p, uint32_t *pub)
{
	for (size_t i = 0; i < s->n; i++)
		for (size_t k = 0; k < p->n; k++)
			if (p->zone[k] == s->zone[i] && s->serial[i] < p->serial[k]) {
				*pub = p->serial[k];
				return (int)i;
			}
	return -1;
}

/*
 * A resolver's (or the zone source's) state over time: down, booting, or up
 * serving the published serial ("current") or an older one ("behind"). The
 * state, boot and publish lines are merged by line number, which is the
 * order things happened in. Teardown (states after the planned duration)
 * is left out.
 */
static bool lane_state(struct page *pg, uint32_t who, bool is_source, struct items *it)
{
	const struct hist *h = pg->h;
	size_t ns, nb, np, si = 0, bi = 0, pi = 0;
	const struct hist_state *st = hist_states(h, &ns);
	const struct hist_boot *bo = hist_boots(h, &nb);
	const struct hist_publish *pu = hist_publishes(h, &np);
	double stop = hist_meta(h)->duration > 0 ? hist_meta(h)->duration : INFINITY;
	struct served sv = { .n = 0 };
	struct published pub = { .n = 0 };
	const char *state = NULL;
	bool eventful = false;

	for (;;) {
		uint32_t ls = UINT32_MAX, lb = UINT32_MAX, lp = UINT32_MAX;
		while (si < ns && st[si].resolver != who)
			si++;
		while (bi < nb && bo[bi].resolver != who)
			bi++;
		if (si < ns)
			ls = st[si].line;
		if (bi < nb)
			lb = bo[bi].line;
		if (pi < np)
			lp = pu[pi].line;
		if (ls == UINT32_MAX && lb == UINT32_MAX && lp == UINT32_MAX)
			break;
		double t;
		if (ls < lb && ls < lp) {
			t = st[si].t;
			state = str(h, st[si++].state);
		} else if (lb < lp) {
			t = bo[bi].t;
			sv.n = bo[bi].nzones < 4 ? bo[bi].nzones : 4;
			memcpy(sv.zone, bo[bi].zone, sizeof sv.zone);
			memcpy(sv.serial, bo[bi].serial, sizeof sv.serial);
			bi++;
		} else {
			t = pu[pi].t;
			published_set(&pub, pu[pi].zone, pu[pi].serial);
			pi++;
		}
		if (!state || t >= stop)
			continue;

		/* What it is now, and whether that differs from the interval open. */
		const char *kind;
		char text[48], tip[224];
		uint32_t ps = 0;
		int z;
		if (strcmp(state, "up") != 0) {
			kind = strcmp(state, "booting") == 0 ? "booting" : "down";
			snprintf(text, sizeof text, "%s", state);
			snprintf(tip, sizeof tip, "%s %s", str(h, who), state);
		} else if (is_source) {
			kind = "up";
			snprintf(text, sizeof text, "up");
			snprintf(tip, sizeof tip, "zone source %s up", str(h, who));
		} else if (sv.n == 0) {
			kind = "empty";
			snprintf(text, sizeof text, "up, no zone");
			snprintf(tip, sizeof tip, "%s up but serving no zone", str(h, who));
		} else if ((z = served_behind(&sv, &pub, &ps)) >= 0) {
			kind = "behind";
			snprintf(text, sizeof text, "behind: serial %u", (unsigned)sv.serial[z]);
			snprintf(tip, sizeof tip, "%s serving %s serial %u while %u is published",
				 str(h, who), str(h, sv.zone[z]), (unsigned)sv.serial[z],
				 (unsigned)ps);
		} else {
			kind = "current";
			snprintf(text, sizeof text, "serial %u", (unsigned)sv.serial[0]);
			snprintf(tip, sizeof tip, "%s serving %s serial %u%s", str(h, who),
				 str(h, sv.zone[0]), (unsigned)sv.serial[0],
				 pub.n ? ", the published one" : "");
		}
		struct item *open = it->n && it->v[it->n - 1].t1 < 0 ? &it->v[it->n - 1] : NULL;
		if (open && strcmp(open->kind, kind) == 0 && strcmp(open->text, text) == 0)
			continue;
		if (open)
			open->t1 = t;
		struct item *x = items_push(it, t, kind);
		if (!x)
			break;
		snprintf(x->text, sizeof x->text, "%s", text);
		snprintf(x->tip, sizeof x->tip, "%s", tip);
	}
	if (it->n && it->v[it->n - 1].t1 < 0 && isfinite(stop) && stop < pg->g.last)
		it->v[it->n - 1].t1 = stop;
	/*
	 * A state and its boot line come microseconds apart ("up", then what it
	 * serves): the instant between is no state worth a mark. Drop intervals
	 * under a millisecond and join the neighbours they separated.
	 */
	size_t o = 0;
	for (size_t i = 0; i < it->n; i++) {
		struct item *x = &it->v[i];
		if (x->t1 >= 0 && x->t1 - x->t0 < 0.001)
			continue;
		struct item *prev = o ? &it->v[o - 1] : NULL;
		if (prev && strcmp(prev->kind, x->kind) == 0 && strcmp(prev->text, x->text) == 0 &&
		    x->t0 - prev->t1 < 0.001) {
			prev->t1 = x->t1;
			continue;
		}
		if (prev && prev->t1 >= 0)
			prev->t1 = x->t0;
		it->v[o++] = *x;
	}
	it->n = o;
	for (size_t i = 0; i < it->n; i++)
		eventful |= strcmp(it->v[i].kind, "current") != 0 &&
			    strcmp(it->v[i].kind, "up") != 0;
	return eventful;
}

static void lane_gate(struct page *pg, uint32_t who, struct items *it)
{
	size_t n;
	const struct hist_gate *gt = hist_gates(pg->h, &n);

	for (size_t i = 0; i < n; i++) {
		if (gt[i].resolver != who)
			continue;
		struct item *open = items_open(it, "gated");
		if (gt[i].gated && !open) {
			struct item *x = items_push(it, gt[i].t, "gated");
			if (!x)
				return;
			snprintf(x->text, sizeof x->text, "gated");
			snprintf(x->tip, sizeof x->tip,
				 "%s gated itself: behind the published serial, it answers probes "
				 "as its gate says", str(pg->h, who));
		} else if (!gt[i].gated && open) {
			open->t1 = gt[i].t;
		}
	}
}

/* A VIP's view of one backend: out while its health is down, or removed by hand. */
static void lane_health(struct page *pg, uint32_t vip, uint32_t backend, struct items *it)
{
	size_t n;
	const struct hist_health *he = hist_healths(pg->h, &n);
	bool seen = false;

	for (size_t i = 0; i < n; i++) {
		const struct hist_health *x = &he[i];
		if (x->vip != vip || x->backend != backend || x->event == HIST_H_PROBE)
			continue;
		struct item *open;
		pg->transitions += x->event == HIST_H_UP || x->event == HIST_H_DOWN;
		switch (x->event) {
		case HIST_H_DOWN:
			if (items_open(it, "hdown"))
				break;
			if ((open = items_push(it, x->t, "hdown"))) {
				snprintf(open->text, sizeof open->text, "down");
				snprintf(open->tip, sizeof open->tip, "%s out of %s: %s",
					 str(pg->h, backend), str(pg->h, vip),
					 str(pg->h, x->reason));
			}
			break;
		case HIST_H_UP:
			if ((open = items_open(it, "hdown"))) {
				open->t1 = x->t;
				size_t l = strlen(open->tip);
				snprintf(open->tip + l, sizeof open->tip - l, "; back up: %s",
					 str(pg->h, x->reason));
			} else if (!seen && x->t > 0) {
				/* Up is a change: before it, the backend was not up yet. */
				if ((open = items_push(it, 0, "hwait"))) {
					open->t1 = x->t;
					snprintf(open->text, sizeof open->text, "not up yet");
					snprintf(open->tip, sizeof open->tip,
						 "%s not yet up in %s; up: %s", str(pg->h, backend),
						 str(pg->h, vip), str(pg->h, x->reason));
				}
			}
			break;
		case HIST_H_REMOVED:
			if (!items_open(it, "removed") &&
			    (open = items_push(it, x->t, "removed"))) {
				snprintf(open->text, sizeof open->text, "removed");
				snprintf(open->tip, sizeof open->tip, "%s removed from %s by hand",
					 str(pg->h, backend), str(pg->h, vip));
			}
			break;
		case HIST_H_MEMBER:
			if ((open = items_open(it, "removed")))
				open->t1 = x->t;
			break;
		default:
			break;
		}
		seen = true;
	}
}

static int data_lanes(struct page *pg)
{
	const struct hist *h = pg->h;
	struct sset who = { .k = 0 }, sources = { .k = 0 }, hv = { .k = 0 };
	struct items it = { .n = 0 };
	struct sbuf *j = &pg->json;
	size_t ns, nb, nf, ng, nh, np;
	const struct hist_state *st = hist_states(h, &ns);
	const struct hist_boot *bo = hist_boots(h, &nb);
	const struct hist_fault *fa = hist_faults(h, &nf);
	const struct hist_gate *gt = hist_gates(h, &ng);
	const struct hist_health *he = hist_healths(h, &nh);
	const struct hist_publish *pu = hist_publishes(h, &np);
	bool first = true;
	int rc = -1;

	/* Resolvers (and sources) in the order they first appear: boot order. */
	for (size_t i = 0; i < ns; i++)
		sset_get(&who, st[i].resolver);
	for (size_t i = 0; i < nb; i++)
		sset_get(&who, bo[i].resolver);
	for (size_t i = 0; i < nf; i++)
		sset_get(&who, fa[i].target);
	for (size_t i = 0; i < ng; i++)
		sset_get(&who, gt[i].resolver);
	for (size_t i = 0; i < np; i++)
		sset_get(&sources, pu[i].source);
	for (size_t i = 0; i < nh; i++)
		sset_get(&hv, (uint64_t)he[i].vip << 32 | he[i].backend);
	if (who.oom || sources.oom || hv.oom)
		goto out;

	sb_puts(j, ",\n\"rows\":[");
	for (size_t i = 0; i < who.n; i++) {
		uint32_t id = (uint32_t)who.s[i].key;
		const char *name = str(h, id);
		bool is_source = false;
		for (size_t k = 0; k < sources.n; k++)
			is_source |= (uint32_t)sources.s[k].key == id;
		lane_faults(pg, id, &it);
		if (it.n)
			lane_emit(j, &first, name, "fault", &it, &pg->g);
		bool eventful = lane_state(pg, id, is_source, &it);
		if (it.n && (eventful || (who.n <= HTML_LANES && !is_source)))
			lane_emit(j, &first, name, "serving", &it, &pg->g);
		it.n = 0;
		lane_gate(pg, id, &it);
		if (it.n)
			lane_emit(j, &first, name, "gate", &it, &pg->g);
		if (it.oom)
			goto out;
	}
	for (size_t i = 0; i < hv.n; i++) {
		uint32_t vip = (uint32_t)(hv.s[i].key >> 32), backend = (uint32_t)hv.s[i].key;
		char group[160];
		snprintf(group, sizeof group, "%s/%s", str(h, vip), str(h, backend));
		lane_health(pg, vip, backend, &it);
		lane_emit(j, &first, group, "health", &it, &pg->g);
		if (it.oom)
			goto out;
	}
	sb_puts(j, "],\n\"pubs\":[");
	for (size_t i = 0; i < np && i < HTML_PUBLISHES; i++) {
		sb_puts(j, i ? ",[" : "[");
		sb_num(j, pu[i].t, 4);
		sb_printf(j, ",%u,", (unsigned)pu[i].serial);
		sb_json(j, str(h, pu[i].zone));
		sb_add(j, ",", 1);
		sb_json(j, str(h, pu[i].source));
		sb_puts(j, pu[i].initial ? ",true" : ",false");
		sb_puts(j, pu[i].manual ? ",1]" : "]");
	}
	/* The operator's commands (the control socket), drawn as marks. */
	size_t nc;
	const struct hist_control *co = hist_controls(h, &nc);
	sb_puts(j, "],\n\"ctl\":[");
	for (size_t i = 0; i < nc && i < HTML_PUBLISHES; i++) {
		sb_puts(j, i ? ",[" : "[");
		sb_num(j, co[i].t, 4);
		sb_add(j, ",", 1);
		sb_json(j, str(h, co[i].command));
		sb_puts(j, co[i].ok ? ",true," : ",false,");
		sb_json(j, co[i].ok ? "" : str(h, co[i].error));
		sb_add(j, "]", 1);
	}
	sb_puts(j, "]");
	pg->publishes = np;
	rc = 0;
out:
	sset_free(&who);
	sset_free(&sources);
	sset_free(&hv);
	free(it.v);
	return rc;
}

/* The expectations, for the marks on the timeline and the selection from the table. */
static void data_checks(struct page *pg)
{
	const struct report *r = pg->r;
	struct sbuf *j = &pg->json;

	sb_puts(j, ",\n\"checks\":[");
	for (size_t i = 0; i < r->n; i++) {
		const struct expectation *e = &r->expect[i];
		const struct expect_result *res = &r->results[i];
		sb_printf(j, "%s{\"i\":%zu,\"name\":", i ? ",\n" : "\n", i + 1);
		sb_json(j, e->name);
		sb_puts(j, ",\"outcome\":");
		sb_json(j, outcome_name(res->outcome));
		sb_puts(j, ",\"from\":");
		sb_num(j, e->from, 3);
		sb_puts(j, ",\"to\":");
		if (e->to < 0)
			sb_puts(j, "null");
		else
			sb_num(j, e->to, 3);
		sb_puts(j, ",\"moments\":[");
		for (size_t k = 0; k < res->nmoments && k < EXPECT_MOMENTS; k++) {
			sb_puts(j, k ? ",[" : "[");
			sb_num(j, res->moments[k].t, 4);
			sb_printf(j, ",%u,", (unsigned)res->moments[k].line);
			sb_json(j, res->moments[k].what);
			sb_add(j, "]", 1);
		}
		sb_puts(j, "]}");
	}
	sb_puts(j, "]");
}

static int data_build(struct page *pg)
{
	struct sbuf *j = &pg->json;

	sb_puts(j, "{\"v\":1,\"t_end\":");
	sb_num(j, pg->g.T, 4);
	sb_puts(j, ",\"w\":");
	sb_num(j, pg->g.w, 4);
	sb_printf(j, ",\"nb\":%zu,\"duration\":", pg->g.nb);
	sb_num(j, hist_meta(pg->h)->duration, 3);
	sb_puts(j, ",\"last\":");
	sb_num(j, hist_last_t(pg->h), 4);
	sb_puts(j, ",\"end\":");
	sb_json(j, hist_end_reason(pg->h));
	if (data_lookups(pg) < 0 || data_load(pg) < 0 || data_lanes(pg) < 0)
		return -1;
	data_checks(pg);
	sb_puts(j, "}\n");
	return j->oom || pg->oom ? -1 : 0;
}

/* ---- the HTML around it ---- */

static void html_fact(struct sbuf *b, const char *label, const char *value, bool mono)
{
	sb_puts(b, "<div><dt>");
	sb_html(b, label);
	sb_puts(b, mono ? "</dt><dd class=\"mono\">" : "</dt><dd>");
	sb_html(b, value);
	sb_puts(b, "</dd></div>\n");
}

static void html_kpi(struct sbuf *b, const char *cls, const char *value, const char *label)
{
	sb_printf(b, "<div class=\"kpi%s%s\"><b>", *cls ? " " : "", cls);
	sb_html(b, value);
	sb_puts(b, "</b><span>");
	sb_html(b, label);
	sb_puts(b, "</span></div>\n");
}

static void fmt_ms(char *buf, size_t cap, double ms)
{
	if (!isfinite(ms))
		snprintf(buf, cap, "-");
	else if (ms >= 1000)
		snprintf(buf, cap, "%.3g s", ms / 1000);
	else if (ms >= 10)
		snprintf(buf, cap, "%.0f ms", ms);
	else
		snprintf(buf, cap, "%.2g ms", ms);
}

static void html_header(struct sbuf *b, const struct page *pg)
{
	const struct report *r = pg->r;
	const struct hist_meta *m = hist_meta(pg->h);
	const struct verdict_info *v = r->verdict;
	enum verdict vd = v && (unsigned)v->verdict <= VERDICT_NONE ? v->verdict : VERDICT_NONE;
	static const char *const mark[] = { "\xE2\x9C\x93", "\xE2\x9C\x97", "?", "\xE2\x80\x93" };
	static const char *const word[] = { "PASS", "FAIL", "INCONCLUSIVE", "NO CHECKS" };
	const char *end = hist_end_reason(pg->h);
	char tmp[256];

	sb_puts(b, "<header class=\"card top\"><div class=\"title\">"
		   "<div class=\"kicker\">dnschaos run report</div><h1>");
	sb_html(b, m->name && *m->name ? m->name : "(unnamed scenario)");
	sb_puts(b, "</h1><div class=\"sub mono\">");
	sb_html(b, r->scenario_path ? r->scenario_path : m->scenario);
	sb_puts(b, "</div>\n<dl class=\"facts\">\n");
	snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)m->seed);
	html_fact(b, "seed", tmp, true);
	if (end && strcmp(end, "duration") == 0)
		snprintf(tmp, sizeof tmp, "%.3f s, ran its course", m->duration);
	else if (end)
		snprintf(tmp, sizeof tmp, "%.3f s planned, ended at %.3f s (%s)", m->duration,
			 hist_last_t(pg->h), end);
	else
		snprintf(tmp, sizeof tmp, "%.3f s planned, cut at %.3f s: no end line (killed?)",
			 m->duration, hist_last_t(pg->h));
	html_fact(b, "duration", tmp, false);
	if (hist_end_error(pg->h))
		html_fact(b, "error", hist_end_error(pg->h), false);
	html_fact(b, "dnschaos", m->dnschaos ? m->dnschaos : "?", true);
	sb_puts(b, "<div><dt>stacks</dt><dd class=\"chips\">");
	for (size_t i = 0; i < m->nversions && i < 8; i++) {
		const char *lib = m->versions[i][0], *ver = m->versions[i][1];
		sb_puts(b, "<span>");
		/* "lua": "Lua 5.4.4" says its name already */
		if (!lib || !ver || strncasecmp(ver, lib, strlen(lib)) != 0) {
			sb_html(b, lib);
			sb_puts(b, " ");
		}
		sb_html(b, ver);
		sb_puts(b, "</span>");
	}
	sb_puts(b, "</dd></div>\n");
	html_fact(b, "history", r->history_path ? r->history_path : "?", true);
	snprintf(tmp, sizeof tmp, "%zu", hist_line_count(pg->h));
	html_fact(b, "history lines", tmp, false);
	sb_puts(b, "</dl></div>\n");

	sb_printf(b, "<div class=\"verdict\" role=\"status\"><div><span class=\"mark\" "
		     "aria-hidden=\"true\">%s</span><span class=\"word\">%s</span></div>",
		  mark[vd], word[vd]);
	if (r->n)
		sb_printf(b, "<div class=\"counts\">%zu passed \xC2\xB7 %zu failed \xC2\xB7 %zu "
			     "inconclusive</div>",
			  v ? v->passed : 0, v ? v->failed : 0, v ? v->inconclusive : 0);
	else
		sb_puts(b, "<div class=\"counts\">the scenario declares no expectation</div>");
	sb_puts(b, "</div></header>\n");

	if (v && (v->why[0] || v->nuntouched)) {
		sb_puts(b, "<div class=\"card why\"><b>Why: </b>");
		sb_html(b, v->why);
		if (v->nuntouched) {
			sb_puts(b, "<ul>");
			for (size_t i = 0; i < v->nuntouched && i < 4; i++) {
				sb_puts(b, "<li>fault that touched no query or lookup: ");
				sb_html(b, v->untouched[i]);
				sb_puts(b, "</li>");
			}
			sb_puts(b, "</ul>");
		}
		sb_puts(b, "</div>\n");
	}
	if (r->causes) {
		/* What went wrong, derived from the history (cause.h). */
		sb_puts(b, "<div class=\"card cause\" id=\"cause\">");
		if (causes_bad(r->causes))
			sb_puts(b, "<b>What went wrong: </b>");
		sb_html(b, causes_summary(r->causes));
		if (causes_count(r->causes)) {
			sb_puts(b, "<ul>");
			for (size_t i = 0; i < causes_count(r->causes); i++) {
				sb_printf(b, "<li data-kind=\"%s\">",
					  cause_kind_name(causes_get(r->causes, i)->kind));
				sb_html(b, causes_get(r->causes, i)->text);
				sb_puts(b, "</li>");
			}
			sb_puts(b, "</ul>");
		}
		sb_puts(b, "</div>\n");
	}
}

static void html_kpis(struct sbuf *b, const struct page *pg)
{
	char v[96], l[192], a[32], c[32];
	const char *cls = "";

	sb_puts(b, "<section class=\"kpis\" aria-label=\"the run in numbers\">\n");
	snprintf(v, sizeof v, "%zu", pg->completed);
	if (pg->cancelled || pg->inflight)
		snprintf(l, sizeof l, "lookups completed (%zu cancelled at the end)",
			 pg->cancelled + pg->inflight);
	else
		snprintf(l, sizeof l, "lookups completed");
	html_kpi(b, "", v, l);
	if (pg->completed)
		snprintf(v, sizeof v, "%.2f%%", 100.0 * (double)pg->ok / (double)pg->completed);
	else
		snprintf(v, sizeof v, "-");
	/*
	 * A stale or wrong answer is a lookup that succeeded and lied: the share
	 * that succeeded is never shown plain (or green) above them.
	 */
	if (pg->stale || pg->wrong)
		snprintf(l, sizeof l,
			 "succeeded, but %zu stale and %zu wrong: successful lookups that lied "
			 "(%zu failed, %zu timed out)",
			 pg->stale, pg->wrong, pg->failed, pg->timeouts);
	else
		snprintf(l, sizeof l, "succeeded (%zu failed, %zu timed out)", pg->failed,
			 pg->timeouts);
	if (pg->stale || pg->wrong)
		cls = "bad";
	else if (pg->completed && pg->ok < pg->completed)
		cls = "warn";
	html_kpi(b, cls, v, l);
	snprintf(v, sizeof v, "%zu", pg->stale);
	html_kpi(b, pg->stale ? "bad" : "", v, "stale answers");
	snprintf(v, sizeof v, "%zu", pg->wrong);
	html_kpi(b, pg->wrong ? "bad" : "", v, "wrong answers");
	fmt_ms(a, sizeof a, pg->p50);
	fmt_ms(c, sizeof c, pg->p99);
	html_kpi(b, "", a, "latency p50");
	html_kpi(b, "", c, "latency p99");
	snprintf(v, sizeof v, "%zu", pg->faults);
	html_kpi(b, "", v, "faults injected");
	snprintf(v, sizeof v, "%zu", pg->queries);
	snprintf(l, sizeof l, "queries at resolvers (%zu routed by VIPs)", pg->routes);
	html_kpi(b, "", v, l);
	snprintf(v, sizeof v, "%zu", pg->transitions);
	html_kpi(b, "", v, "health changes (up/down)");
	sb_puts(b, "</section>\n");
}

/* How each client fared (perclient.h): the stacks side by side. */
static void html_clients(struct sbuf *b, const struct page *pg)
{
	const struct report *r = pg->r;

	if (!r->clients || r->nclients == 0)
		return;
	sb_puts(b, "<section class=\"card\" id=\"clients\"><h2>Clients</h2><p class=\"hint\">");
	if (r->clients_from > 0)
		sb_printf(b, "Lookups invoked from the first fault (%.3f s) on.", r->clients_from);
	else
		sb_puts(b, "Every lookup (no fault was injected).");
	sb_puts(b, " Latency percentiles by nearest rank; wire: queries joined per lookup."
		   "</p>\n<table><thead><tr><th>client</th><th>stack</th><th>lookups</th>"
		   "<th>success</th><th>p50</th><th>p99</th><th>wire</th><th>stale</th>"
		   "<th>wrong</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < r->nclients; i++) {
		const struct perclient_row *row = &r->clients[i];
		sb_puts(b, "<tr><td>");
		sb_html(b, row->client ? row->client : "?");
		sb_puts(b, "</td><td>");
		sb_html(b, row->stack ? row->stack : "?");
		sb_printf(b, "</td><td class=\"num\">%zu</td>", row->lookups);
		if (row->lookups)
			sb_printf(b, "<td class=\"num\">%.4f</td><td class=\"num\">%.1f ms</td>"
				     "<td class=\"num\">%.1f ms</td><td class=\"num\">%.2f x</td>",
				  row->success, row->p50, row->p99, row->wire);
		else
			sb_puts(b, "<td>-</td><td>-</td><td>-</td><td>-</td>");
		sb_printf(b, "<td class=\"num\">%zu</td><td class=\"num\">%zu</td></tr>\n",
			  row->stale, row->wrong);
	}
	sb_puts(b, "</tbody></table></section>\n");
}

static void html_checks(struct sbuf *b, const struct page *pg)
{
	const struct report *r = pg->r;
	char val[96], bound[96];

	sb_puts(b, "<section class=\"card\" id=\"checks\"><h2>Expectations</h2>\n");
	if (!r->n) {
		sb_puts(b, "<p class=\"sub\">The scenario declares no expectation: a plain run, "
			   "without a verdict. The timeline above shows what happened.</p>"
			   "</section>\n");
		return;
	}
	sb_puts(b, "<p class=\"hint\">Click a row to show its window and the moments that broke "
		   "it on the timeline.</p>\n<table><thead><tr><th>#</th><th>expectation</th>"
		   "<th>observed</th><th>bound</th><th>result</th><th>what was measured</th>"
		   "</tr></thead><tbody>\n");
	for (size_t i = 0; i < r->n; i++) {
		const struct expectation *e = &r->expect[i];
		const struct expect_result *res = &r->results[i];
		const char *o = outcome_name(res->outcome);
		expect_format_value(res, val, sizeof val);
		expect_format_bound(e, res, bound, sizeof bound);
		sb_printf(b, "<tr class=\"r-%s\" data-check=\"%zu\" tabindex=\"0\">"
			     "<td class=\"num\">%zu</td><td><b>", o, i + 1, i + 1);
		sb_html(b, e->name);
		sb_puts(b, "</b><div class=\"metric\">");
		sb_html(b, expect_metric_name(e->metric));
		if (e->from > 0 || e->to >= 0) {
			char win[96];
			if (e->to >= 0)
				snprintf(win, sizeof win, ", %g\xE2\x80\x93%g s", e->from, e->to);
			else
				snprintf(win, sizeof win, ", from %g s", e->from);
			sb_html(b, win);
		}
		if (e->where[0]) {
			sb_puts(b, " \xC2\xB7 <span class=\"where mono\">");
			sb_html(b, e->where);
			sb_puts(b, "</span>");
		}
		sb_puts(b, "</div></td><td class=\"num\">");
		sb_html(b, val);
		sb_puts(b, "</td><td class=\"num\">");
		sb_html(b, bound);
		sb_printf(b, "</td><td><span class=\"badge b-%s\">%s</span></td><td>", o,
			  res->outcome == OUTCOME_PASS ? "PASS" :
			  res->outcome == OUTCOME_FAIL ? "FAIL" : "INCONCLUSIVE");
		sb_puts(b, "<p class=\"detail\">");
		sb_html(b, res->detail);
		sb_puts(b, "</p>");
		if (res->why[0]) {
			sb_puts(b, res->outcome == OUTCOME_INCONCLUSIVE ?
				   "<p class=\"explain\">The history cannot tell: " :
				   "<p class=\"explain\">");
			sb_html(b, res->why);
			sb_puts(b, "</p>");
		}
		if (res->nmoments) {
			sb_puts(b, "<ol class=\"moments\">");
			for (size_t k = 0; k < res->nmoments && k < EXPECT_MOMENTS; k++) {
				const struct expect_moment *mo = &res->moments[k];
				sb_printf(b, "<li><a class=\"moment\" href=\"#timeline\" "
					     "data-t=\"%.6f\">%.3f s</a> (line %u): ", mo->t, mo->t,
					  (unsigned)mo->line);
				sb_html(b, mo->what);
				sb_puts(b, "</li>");
			}
			sb_puts(b, "</ol>");
		}
		sb_puts(b, "</td></tr>\n");
	}
	sb_puts(b, "</tbody></table></section>\n");
}

/* ---- the event list ---- */

enum ev_kind { EV_FAULT, EV_PUBLISH, EV_BOOT, EV_STATE, EV_GATE, EV_HEALTH, EV_LOG, EV_CONTROL };

struct ev {
	uint32_t line;
	uint8_t kind;
	size_t idx; /* in its array, or the line index for logs */
};

static int cmp_ev(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * A string field of a history line (1-based), unescaped, for the few texts
 * the arrays do not keep (a log's message, why a state changed). "" when
 * absent. Inside strings every quote is escaped, so "key":" cannot match
 * inside a value.
 */
static void raw_field(const struct hist *h, uint32_t lineno, const char *key, char *out, size_t cap)
{
	size_t len, klen = strlen(key);
	const char *line = lineno ? hist_line(h, lineno - 1, &len) : NULL, *p = NULL, *end;
	size_t o = 0;

	out[0] = 0;
	if (!line)
		return;
	end = line + len;
	for (const char *s = line; s + klen + 4 <= end; s++)
		if (s[0] == '"' && memcmp(s + 1, key, klen) == 0 &&
		    memcmp(s + 1 + klen, "\":\"", 3) == 0) {
			p = s + klen + 4;
			break;
		}
	while (p && p < end && *p != '"' && o + 4 < cap) {
		if (*p != '\\' || p + 1 >= end) {
			out[o++] = *p++;
			continue;
		}
		p++;
		if (*p == 'u' && end - p >= 5) {
			char hex[5] = { p[1], p[2], p[3], p[4], 0 };
			unsigned cp = (unsigned)strtoul(hex, NULL, 16);
			if (cp >= 0xD800 && cp <= 0xDFFF)
				cp = 0xFFFD;
			if (cp < 0x80) {
				out[o++] = (char)cp;
			} else if (cp < 0x800) {
				out[o++] = (char)(0xC0 | cp >> 6);
				out[o++] = (char)(0x80 | (cp & 0x3F));
			} else {
				out[o++] = (char)(0xE0 | cp >> 12);
				out[o++] = (char)(0x80 | (cp >> 6 & 0x3F));
				out[o++] = (char)(0x80 | (cp & 0x3F));
			}
			p += 5;
		} else {
			out[o++] = *p == 'n' || *p == 't' || *p == 'r' ? ' ' : *p;
			p++;
		}
	}
	out[o] = 0;
}

static void html_events(struct sbuf *b, const struct page *pg)
{
	const struct hist *h = pg->h;
	size_t nf, np, nb, ns, ng, nh, nl = hist_line_count(h), n = 0;
	const struct hist_fault *fa = hist_faults(h, &nf);
	const struct hist_publish *pu = hist_publishes(h, &np);
	const struct hist_boot *bo = hist_boots(h, &nb);
	const struct hist_state *st = hist_states(h, &ns);
	const struct hist_gate *gt = hist_gates(h, &ng);
	const struct hist_health *he = hist_healths(h, &nh);
	size_t cap = nf + np + nb + ns + ng + nh + nl;
	struct ev *ev = malloc((cap ? cap : 1) * sizeof *ev);
	static const char *const cat[] = { "fault", "publish", "boot", "state", "gate", "health",
					   "log", "manual" };

	if (!ev) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < nf; i++)
		ev[n++] = (struct ev){ fa[i].line, EV_FAULT, i };
	for (size_t i = 0; i < np; i++)
		ev[n++] = (struct ev){ pu[i].line, EV_PUBLISH, i };
	for (size_t i = 0; i < nb; i++)
		ev[n++] = (struct ev){ bo[i].line, EV_BOOT, i };
	for (size_t i = 0; i < ns; i++)
		ev[n++] = (struct ev){ st[i].line, EV_STATE, i };
	for (size_t i = 0; i < ng; i++)
		ev[n++] = (struct ev){ gt[i].line, EV_GATE, i };
	for (size_t i = 0; i < nh; i++)
		if (he[i].event != HIST_H_PROBE)
			ev[n++] = (struct ev){ he[i].line, EV_HEALTH, i };
	for (size_t i = 0; i < nl; i++)
		if (hist_line_type(h, i) == HIST_LOG || hist_line_type(h, i) == HIST_CONTROL)
			ev[n++] = (struct ev){ (uint32_t)(i + 1),
					       hist_line_type(h, i) == HIST_LOG ? EV_LOG : EV_CONTROL, i };
	qsort(ev, n, sizeof *ev, cmp_ev);

	sb_printf(b, "<section class=\"card\"><details%s><summary>Events (%zu: faults, publishes, "
		     "boots, states, gates, health changes, scenario output, manual commands)"
		     "</summary>\n"
		     "<ol class=\"events\">\n", n <= 60 ? " open" : "", n);
	for (size_t i = 0; i < n && i < HTML_EVENTS; i++) {
		char text[640], raw[400];
		double t = 0;
		size_t k = ev[i].idx;
		switch (ev[i].kind) {
		case EV_FAULT:
			t = fa[k].t;
			snprintf(text, sizeof text, "%s %s on %s (fault %u)%s",
				 fa[k].inject ? "inject" : "heal", str(h, fa[k].kind),
				 str(h, fa[k].target), (unsigned)fa[k].id,
				 fa[k].manual ? ", manual (dnschaos ctl)" : "");
			break;
		case EV_PUBLISH:
			t = pu[k].t;
			snprintf(text, sizeof text, "%s publishes %s serial %u%s",
				 str(h, pu[k].source), str(h, pu[k].zone), (unsigned)pu[k].serial,
				 pu[k].initial ? " (initial)" : pu[k].manual ? ", manual (dnschaos ctl)" : "");
			break;
		case EV_BOOT:
			t = bo[k].t;
			raw_field(h, bo[k].line, "from", raw, sizeof raw);
			snprintf(text, sizeof text, "%s %s from %s%s: %s %u%s",
				 str(h, bo[k].resolver), bo[k].reload ? "reloads" : "boots",
				 raw[0] ? raw : "?", bo[k].ok ? "" : " (failed)",
				 bo[k].nzones ? str(h, bo[k].zone[0]) : "no zone",
				 bo[k].nzones ? (unsigned)bo[k].serial[0] : 0u,
				 bo[k].nzones > 1 ? " and more" : "");
			break;
		case EV_STATE:
			t = st[k].t;
			raw_field(h, st[k].line, "why", raw, sizeof raw);
			snprintf(text, sizeof text, "%s %s%s%s%s", str(h, st[k].resolver),
				 str(h, st[k].state), raw[0] ? " (" : "", raw, raw[0] ? ")" : "");
			break;
		case EV_GATE:
			t = gt[k].t;
			snprintf(text, sizeof text, "%s %s", str(h, gt[k].resolver),
				 gt[k].gated ? "gates itself" : "lifts its gate");
			break;
		case EV_HEALTH: {
			static const char *const hn[] = { "probe", "up", "down", "removed",
							  "member" };
			t = he[k].t;
			snprintf(text, sizeof text, "%s/%s %s: %s", str(h, he[k].vip),
				 str(h, he[k].backend), hn[he[k].event < 5 ? he[k].event : 0],
				 str(h, he[k].reason));
			break;
		}
		case EV_LOG:
		case EV_CONTROL: {
			size_t len;
			const char *line = hist_line(h, k, &len);
			/* every line starts {"t": */
			t = line && len > 5 ? strtod(line + 5, NULL) : 0;
			raw_field(h, ev[i].line, ev[i].kind == EV_LOG ? "message" : "command", raw,
				  sizeof raw);
			if (ev[i].kind == EV_LOG) {
				snprintf(text, sizeof text, "%s", raw);
			} else {
				char why[200];
				raw_field(h, ev[i].line, "error", why, sizeof why);
				snprintf(text, sizeof text, "dnschaos ctl: %s%s%s%s", raw,
					 why[0] ? " (refused: " : "", why, why[0] ? ")" : "");
			}
			break;
		}
		}
		sb_printf(b, "<li><span class=\"t\">%.3f s</span><span class=\"c\">%s</span>"
			     "<span class=\"x\">", t, cat[ev[i].kind]);
		sb_html(b, text);
		sb_puts(b, "</span></li>\n");
	}
	sb_puts(b, "</ol>");
	if (n > HTML_EVENTS)
		sb_printf(b, "<p class=\"sub\">\xE2\x80\xA6 and %zu more in the history.</p>",
			  n - HTML_EVENTS);
	sb_puts(b, "</details></section>\n");
	free(ev);
}

static void page_write(struct sbuf *b, struct page *pg)
{
	const struct hist_meta *m = hist_meta(pg->h);
	const struct verdict_info *v = pg->r->verdict;
	enum verdict vd = v && (unsigned)v->verdict <= VERDICT_NONE ? v->verdict : VERDICT_NONE;

	sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
	sb_puts(b, "<meta name=\"generator\" content=\"dnschaos " DNSCHAOS_VERSION "\">\n<title>");
	sb_html(b, vd == VERDICT_NONE ? "run" : verdict_name(vd));
	sb_puts(b, " \xC2\xB7 ");
	sb_html(b, m->name ? m->name : "?");
	sb_puts(b, " \xC2\xB7 dnschaos</title>\n<style>\n");
	sb_asset(b, report_css, report_css_len);
	sb_printf(b, "</style></head>\n<body class=\"v-%s\">\n", verdict_name(vd));
	sb_asset(b, report_defs_svg, report_defs_svg_len);
	html_header(b, pg);
	html_kpis(b, pg);
	sb_puts(b, "<section class=\"card\"><h2>Timeline</h2><p class=\"hint\">Every panel shares "
		   "the time axis. Hover for the values at a moment (click to pin it); shaded "
		   "spans are faults, dashed blue lines publishes.</p>\n<div id=\"timeline\">"
		   "<noscript><p class=\"sub\">The timeline is drawn by the page's script: "
		   "allow JavaScript for this file.</p></noscript></div></section>\n");
	html_checks(b, pg);
	html_clients(b, pg);
	html_events(b, pg);
	sb_puts(b, "<footer>Written by dnschaos " DNSCHAOS_VERSION " from ");
	sb_html(b, pg->r->history_path ? pg->r->history_path : "the history");
	sb_puts(b, ". One self-contained file: nothing is fetched.</footer>\n"
		   "<script type=\"application/json\" id=\"dnschaos-data\">");
	sb_add(b, pg->json.p, pg->json.len);
	sb_puts(b, "</script>\n<script>\n");
	sb_asset(b, report_js, report_js_len);
	sb_puts(b, "</script>\n</body></html>\n");
}

/* ---- files ---- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Written to a temporary file beside (mkstemp: a name nobody can guess or
 * plant a link at), then renamed: a reader never sees half a page.
 */
static int write_file(const char *dir, unsigned mode, const char *data, size_t len, char *err,
                      size_t errlen)
{
	size_t n = strlen(dir) + 32;
	char *path = malloc(n), *tmp = malloc(n);
	FILE *f = NULL;
	int rc = -1, fd;

	if (!path || !tmp) {
		set_err(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	snprintf(path, n, "%s/index.html", dir);
	fd = outfile_temp(path, mode, tmp, n);
	if (fd < 0) {
		set_err(err, errlen, "cannot create a temporary file in %s: %s", dir,
		        strerror(-fd));
		goto out;
	}
	if (!(f = fdopen(fd, "w"))) {
		set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	size_t w = fwrite(data, 1, len, f);
	int e = ferror(f) ? errno : 0, c = fclose(f);
	f = NULL;
	if (w != len || c != 0) {
		set_err(err, errlen, "cannot write %s: %s", tmp, strerror(e ? e : errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) != 0) {
		set_err(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(path);
	free(tmp);
	return rc;
}

int report_html(const char *dir, const struct report *r, char *err, size_t errlen)
{
	struct page pg = { .r = r };
	struct sbuf page = { .p = NULL };
	int rc = -1;

	if (!dir || !*dir || !r || !r->hist || (r->n && (!r->expect || !r->results))) {
		set_err(err, errlen, "HTML report: no directory or no history to report");
		goto out;
	}
	pg.h = r->hist;
	/* A run stopped early is drawn over its planned duration: the rest, not recorded. */
	grid_init(&pg.g, fmax(hist_last_t(pg.h), hist_meta(pg.h)->duration));
	pg.g.last = hist_last_t(pg.h);
	if (data_build(&pg) < 0) {
		set_err(err, errlen, "%s: out of memory building the HTML report", dir);
		goto out;
	}
	page_write(&page, &pg);
	if (page.oom) {
		set_err(err, errlen, "%s: out of memory building the HTML report", dir);
		goto out;
	}
	unsigned mode = r->file_mode ? r->file_mode : OUTFILE_MODE;
	if (outfile_mkdirs(dir, outfile_dir_mode(mode), err, errlen) < 0 ||
	    write_file(dir, mode, page.p, page.len, err, errlen) < 0)
		goto out;
	rc = 0;
out:
	free(pg.json.p);
	free(page.p);
	return rc;
}
