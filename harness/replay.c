/*
 * replay.c - a history written back as a scenario (replay.h).
 *
 * Three steps. Read: the history through record/hist.c (which refuses what
 * is not a history, FILE:LINE), then the lines replay needs parsed again
 * whole (declare lines hold nested values: a small JSON reader here, over
 * lines hist.c has already checked). Decide: every fault line, publish,
 * source state, membership change and rate becomes a timeline entry, or
 * is recognised as the consequence of another (a fault that healed itself
 * after its duration, a crash's reboot, a capacity replaced, the teardown
 * at the end). Write: the Lua text, grouped (farm, clients, timeline,
 * expectations), into memory first, then out at once.
 *
 * Times: an action a timeline entry took (the `timeline` line after its
 * lines says when the entry was due) is written at that time, so the replay's
 * own history gives the same times again whatever its timers' lateness; any
 * other (by hand, or from a timeline function after it paused) at its
 * line's time floored to 1 ms (REPLAY_GRID_S), or at 0 if it ran at the
 * loop's first turn (the `running` line), and after what its earlier
 * entries caused later (a transfer's boot, a reboot).
 */
#define _GNU_SOURCE /* realpath */
#include "harness/replay.h"
#include "harness/record/hist.h"
#include "harness/record/outfile.h"
#include "fakeresolver/json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REPLAY_GRID_S 0.001  /* entries at their due time rounded, or the line's time floored, to this */
#define REPLAY_FIRST_S 0.010 /* after the running line: the loop's first turn */
#define REPLAY_LATE_S 0.25   /* an entry run later than this after it was due keeps its line's time */
#define REPLAY_SETTLE_S 0.02 /* an entry after what an earlier one caused later comes this much after it */
#define JSON_DEPTH 32

/* ---- memory: one arena for everything read back ---- */

struct block {
	struct block *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct block *head;
	bool oom;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	if (!a->head || a->head->cap - a->head->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		struct block *b = malloc(sizeof *b + cap);
		if (!b) {
			a->oom = true;
			return NULL;
		}
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = (char *)a->head->data + a->head->used;
	a->head->used += n;
	memset(p, 0, n);
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct block *b = a->head;
		a->head = b->next;
		free(b);
	}
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* ---- text being written ---- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
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
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof tmp) {
		sb_put(b, tmp, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_put(b, big, (size_t)n);
	free(big);
}

/* A Lua string literal: "..." with the escapes Lua reads back byte for byte. */
static void sb_lua_str(struct sbuf *b, const char *s)
{
	sb_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"':
			sb_puts(b, "\\\"");
			break;
		case '\\':
			sb_puts(b, "\\\\");
			break;
		case '\n':
			sb_puts(b, "\\n");
			break;
		case '\r':
			sb_puts(b, "\\r");
			break;
		case '\t':
			sb_puts(b, "\\t");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				sb_printf(b, "\\%03u", c);
			else
				sb_put(b, s, 1);
		}
	}
	sb_put(b, "\"", 1);
}

/* ---- JSON read back (lines hist.c has checked: valid JSON, valid UTF-8) ---- */

enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ };

struct jv {
	enum jv_type type;
	bool b;
	const char *s; /* a string, decoded; a number, as written */
	double num;
	size_t count;
	struct jv *items;  /* array elements, object values */
	const char **keys; /* object keys */
};

struct jparse {
	const char *p, *end;
	struct arena *a;
	bool bad;
};

static void jp_ws(struct jparse *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static unsigned jp_hex4(const char *p)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
	}
	return v;
}

static const char *jp_string(struct jparse *j)
{
	j->p++; /* the opening quote */
	const char *start = j->p;
	size_t n = 0;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p == '\\')
			j->p++;
		j->p++;
		n++;
	}
	if (j->p >= j->end) {
		j->bad = true;
		return "";
	}
	/* Decoded, it is never longer than as written (a \u escape is 6 or 12 bytes for at most 4). */
	char *out = arena_alloc(j->a, (size_t)(j->p - start) + 1);
	if (!out) {
		j->bad = true;
		return "";
	}
	size_t o = 0;
	for (const char *q = start; q < j->p;) {
		if (*q != '\\') {
			out[o++] = *q++;
			continue;
		}
		q++;
		char c = *q++;
		switch (c) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			if (j->p - q < 4) {
				j->bad = true;
				return "";
			}
			uint32_t cp = jp_hex4(q);
			q += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF && j->p - q >= 6 && q[0] == '\\' && q[1] == 'u') {
				uint32_t lo = jp_hex4(q + 2);
				if (lo >= 0xDC00 && lo <= 0xDFFF) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					q += 6;
				}
			}
			char enc[4];
			size_t k = utf8_encode(cp, enc);
			if (k == 0) {
				j->bad = true;
				return "";
			}
			memcpy(out + o, enc, k);
			o += k;
			break;
		}
		default: out[o++] = c; break;
		}
	}
	out[o] = '\0';
	j->p++; /* the closing quote */
	(void)n;
	return out;
}

static void jp_value(struct jparse *j, struct jv *v, int depth);

/* Whether s (n bytes) is a JSON number (RFC 8259): what is copied into the Lua text as it is. */
static bool jp_number_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0') {
		i++;
	} else if (i < n && s[i] >= '1' && s[i] <= '9') {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		return false;
	}
	if (i < n && s[i] == '.') {
		size_t d = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	return i == n;
}

/* Elements or members into a list, then into the value's arrays. */
struct jitem {
	struct jitem *next;
	const char *key;
	struct jv v;
};

static void jp_container(struct jparse *j, struct jv *v, int depth, bool obj)
{
	struct jitem *first = NULL, **tail = &first;
	size_t n = 0;
	j->p++;
	jp_ws(j);
	if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
		j->p++;
	} else {
		for (;;) {
			struct jitem *it = arena_alloc(j->a, sizeof *it);
			if (!it) {
				j->bad = true;
				return;
			}
			jp_ws(j);
			if (obj) {
				if (j->p >= j->end || *j->p != '"') {
					j->bad = true;
					return;
				}
				it->key = jp_string(j);
				jp_ws(j);
				if (j->p >= j->end || *j->p != ':') {
					j->bad = true;
					return;
				}
				j->p++;
			}
			jp_value(j, &it->v, depth + 1);
			if (j->bad)
				return;
			*tail = it;
			tail = &it->next;
			n++;
			jp_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
				j->p++;
				break;
			}
			j->bad = true;
			return;
		}
	}
	v->type = obj ? JV_OBJ : JV_ARR;
	v->count = n;
	v->items = n ? arena_alloc(j->a, n * sizeof *v->items) : NULL;
	v->keys = obj && n ? arena_alloc(j->a, n * sizeof *v->keys) : NULL;
	if (n && (!v->items || (obj && !v->keys))) {
		j->bad = true;
		return;
	}
	size_t i = 0;
	for (struct jitem *it = first; it; it = it->next, i++) {
		v->items[i] = it->v;
		if (obj)
			v->keys[i] = it->key;
	}
}

static void jp_value(struct jparse *j, struct jv *v, int depth)
{
	jp_ws(j);
	memset(v, 0, sizeof *v);
	if (j->p >= j->end || depth > JSON_DEPTH) {
		j->bad = true;
		return;
	}
	char c = *j->p;
	if (c == '{' || c == '[') {
		jp_container(j, v, depth, c == '{');
	} else if (c == '"') {
		v->type = JV_STR;
		v->s = jp_string(j);
	} else if (c == 't' && j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
		v->type = JV_BOOL;
		v->b = true;
		j->p += 4;
	} else if (c == 'f' && j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
		v->type = JV_BOOL;
		j->p += 5;
	} else if (c == 'n' && j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
		v->type = JV_NULL;
		j->p += 4;
	} else {
		const char *start = j->p;
		while (j->p < j->end && strchr("+-0123456789.eE", *j->p))
			j->p++;
		if (!jp_number_ok(start, (size_t)(j->p - start))) {
			j->bad = true;
			return;
		}
		v->type = JV_NUM;
		v->s = arena_strndup(j->a, start, (size_t)(j->p - start));
		v->num = v->s ? strtod(v->s, NULL) : 0;
	}
}

static const struct jv *jv_get(const struct jv *o, const char *key)
{
	if (!o || o->type != JV_OBJ)
		return NULL;
	for (size_t i = 0; i < o->count; i++)
		if (strcmp(o->keys[i], key) == 0)
			return &o->items[i];
	return NULL;
}

static const char *jv_str(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);
	return v && v->type == JV_STR ? v->s : NULL;
}

static double jv_num(const struct jv *o, const char *key, double def)
{
	const struct jv *v = jv_get(o, key);
	return v && v->type == JV_NUM ? v->num : def;
}

static bool jv_bool(const struct jv *o, const char *key)
{
	const struct jv *v = jv_get(o, key);
	return v && v->type == JV_BOOL && v->b;
}

/* ---- the replay's state ---- */

/* A timeline line: fault, publish, boot, state, health, rate. */
struct ev {
	double t;
	size_t line; /* 1-based */
	const char *type;
	struct jv v;
	int disp;  /* enum disp, for heals */
	double at; /* when the timeline entry that wrote it was due (a timeline line), or -1 */
};

enum disp { D_EMIT, D_SKIP, D_HEAL_ALL, D_HEAL_ONE };

struct obj {
	const char *name, *kind, *var;
};

struct zref {
	char *abs; /* the file, absolute and normalised */
	const char *var;
	bool declared; /* written in the zones group already */
};

struct fault {
	uint32_t id;
	const char *target, *kind;
	double t, duration;
	bool handle; /* healed on its own: injected through a timeline function */
	bool active;
};

struct replay {
	struct arena a;
	struct hist *h;
	const char *path;
	char err[1024];
	/* meta */
	const char *name, *scenario, *dnschaos, *started;
	double duration;
	uint64_t seed;
	/* declarations, in order */
	struct jv *decls;
	size_t *decl_lines;
	size_t ndecls;
	/* what happened */
	struct ev *evs;
	size_t nevs;
	double running_t; /* the running line, -1: none */
	double stop_t;    /* timeline lines at or after it are the teardown's */
	const char *end_reason;
	/* versions: digest -> file (relative to the scenario's folder) */
	const char **ver_digest, **ver_file;
	size_t nvers;
	/* paths */
	char cwd[PATH_MAX], base[PATH_MAX * 2], out_dir[PATH_MAX];
	/* names */
	struct obj *objs;
	size_t nobjs;
	struct zref *zones;
	size_t nzones;
	const char **used;
	size_t nused;
	struct fault *faults;
	size_t nfaults;
	struct pace *paces;
	size_t npaces;
	size_t nsources;
	/* what cannot be replayed */
	char **notes;
	size_t nnotes;
};

static const char *const reserved[] = {
	"and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
	"in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
	"s", "scenario", "print", "math", "string", "table", "utf8", "coroutine", "pairs",
	"ipairs", "type", "tostring", "tonumber", "error", "assert", "pcall", "select", "next",
	"faults", "success_rate", "latency", "stale_answers", "wrong_answers", "stale_stretch",
	"amplification", "survivor_load", "recovery", "readmission", "flaps", "check",
	"availability", "retries", NULL,
};

__attribute__((format(printf, 2, 3))) static void note(struct replay *r, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < r->nnotes; i++)
		if (strcmp(r->notes[i], tmp) == 0)
			return;
	char **p = realloc(r->notes, (r->nnotes + 1) * sizeof *p);
	if (!p) {
		r->a.oom = true;
		return;
	}
	r->notes = p;
	r->notes[r->nnotes] = strdup(tmp);
	if (!r->notes[r->nnotes])
		r->a.oom = true;
	else
		r->nnotes++;
}

static bool is_used(const struct replay *r, const char *id)
{
	for (size_t i = 0; reserved[i]; i++)
		if (strcmp(reserved[i], id) == 0)
			return true;
	for (size_t i = 0; i < r->nused; i++)
		if (strcmp(r->used[i], id) == 0)
			return true;
	return false;
}

/* A Lua local's name for text: letters, digits and _, not a keyword, not taken. */
static const char *make_var(struct replay *r, const char *text)
{
	char base[64], id[80];
	size_t n = 0;
	for (const char *p = text; *p && n < sizeof base - 1; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_';
		base[n++] = ok ? c : '_';
	}
	base[n] = '\0';
	if (n == 0 || (base[0] >= '0' && base[0] <= '9')) {
		memmove(base + 1, base, n + 1 < sizeof base - 1 ? n + 1 : sizeof base - 2);
		base[0] = '_';
		base[sizeof base - 1] = '\0';
	}
	snprintf(id, sizeof id, "%s", base);
	for (int k = 2; is_used(r, id); k++)
		snprintf(id, sizeof id, "%s_%d", base, k);
	const char **p = realloc(r->used, (r->nused + 1) * sizeof *p);
	char *copy = arena_strndup(&r->a, id, strlen(id));
	if (!p || !copy) {
		r->a.oom = true;
		return "_";
	}
	r->used = p;
	r->used[r->nused++] = copy;
	return copy;
}

static const struct obj *find_obj(const struct replay *r, const char *name)
{
	for (size_t i = 0; i < r->nobjs; i++)
		if (strcmp(r->objs[i].name, name) == 0)
			return &r->objs[i];
	return NULL;
}

/* ---- paths ---- */

/* Joins dir and p (p absolute: p) and removes "." and ".." components, lexically. */
static void path_abs(const char *dir, const char *p, char *out, size_t cap)
{
	char tmp[PATH_MAX * 3];
	if (p[0] == '/')
		snprintf(tmp, sizeof tmp, "%s", p);
	else
		snprintf(tmp, sizeof tmp, "%s/%s", dir, p);
	/* Components onto a stack. */
	const char *comp[512];
	size_t clen[512], n = 0;
	for (const char *s = tmp; *s;) {
		while (*s == '/')
			s++;
		const char *e = s;
		while (*e && *e != '/')
			e++;
		size_t l = (size_t)(e - s);
		if (l == 0 || (l == 1 && s[0] == '.')) {
			/* nothing */
		} else if (l == 2 && s[0] == '.' && s[1] == '.') {
			if (n)
				n--;
		} else if (n < 512) {
			comp[n] = s;
			clen[n++] = l;
		}
		s = e;
	}
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && o + clen[i] + 2 < cap; i++) {
		out[o++] = '/';
		memcpy(out + o, comp[i], clen[i]);
		o += clen[i];
		out[o] = '\0';
	}
	if (o == 0 && cap > 1)
		snprintf(out, cap, "/");
	/* A file that exists: through its symbolic links, as the replay will find it. */
	char real[PATH_MAX];
	if (realpath(out, real))
		snprintf(out, cap, "%s", real);
}

/* abs relative to the folder the scenario is written to. */
static void path_rel(const struct replay *r, const char *abs, char *out, size_t cap)
{
	const char *d = r->out_dir, *f = abs;
	size_t common = 0, i = 0;
	/* The longest common prefix that ends at a component boundary. */
	for (;; i++) {
		bool dend = d[i] == '\0' || d[i] == '/';
		bool fend = f[i] == '\0' || f[i] == '/';
		if (dend && fend)
			common = i;
		if (d[i] == '\0' || f[i] == '\0' || d[i] != f[i])
			break;
	}
	if (strcmp(d, "/") == 0)
		common = 0;
	size_t o = 0;
	out[0] = '\0';
	for (const char *p = d + common; *p; p++)
		if (*p == '/' && o + 4 < cap) {
			memcpy(out + o, "../", 3);
			o += 3;
			out[o] = '\0';
		}
	const char *rest = f + common;
	while (*rest == '/')
		rest++;
	snprintf(out + o, cap - o, "%s", rest);
	if (!out[0])
		snprintf(out, cap, ".");
}

/* The local of the zone read from abs (added to the zones to declare if new). */
static const char *zone_var(struct replay *r, const char *file, bool run_relative)
{
	char abs[PATH_MAX * 3];
	path_abs(run_relative ? r->cwd : r->base, file, abs, sizeof abs);
	for (size_t i = 0; i < r->nzones; i++)
		if (strcmp(r->zones[i].abs, abs) == 0)
			return r->zones[i].var;
	struct zref *z = realloc(r->zones, (r->nzones + 1) * sizeof *z);
	if (!z) {
		r->a.oom = true;
		return "nil";
	}
	r->zones = z;
	/* Named after the file: zones/internal.v1.zone -> internal_v1 */
	const char *slash = strrchr(abs, '/');
	char stem[64];
	snprintf(stem, sizeof stem, "%.63s", slash ? slash + 1 : abs);
	char *dot = strrchr(stem, '.');
	if (dot && strcmp(dot, ".zone") == 0)
		*dot = '\0';
	struct zref *n = &r->zones[r->nzones];
	n->abs = arena_strndup(&r->a, abs, strlen(abs));
	n->var = make_var(r, stem);
	n->declared = false;
	if (!n->abs) {
		r->a.oom = true;
		return "nil";
	}
	r->nzones++;
	if (access(abs, R_OK) != 0)
		note(r, "the zone file %s cannot be read now (%s): the replay needs it where the "
			"original run read it",
		     abs, strerror(errno));
	return n->var;
}

static const char *version_file(const struct replay *r, const char *digest)
{
	for (size_t i = 0; i < r->nvers; i++)
		if (strcmp(r->ver_digest[i], digest) == 0)
			return r->ver_file[i];
	return NULL;
}

/* ---- values as Lua ---- */

static bool lua_ident(const char *k)
{
	if (!k[0] || (k[0] >= '0' && k[0] <= '9'))
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	for (size_t i = 0; i < 22; i++) /* the keywords, first in reserved */
		if (strcmp(reserved[i], k) == 0)
			return false;
	return true;
}

static bool is_index(const char *k, size_t want)
{
	char tmp[32];
	snprintf(tmp, sizeof tmp, "%zu", want);
	return strcmp(k, tmp) == 0;
}

/* Keys whose string values are file paths, relative to the scenario's folder. */
static bool path_key(const char *key)
{
	return key && (strcmp(key, "file") == 0 || strcmp(key, "zone_file") == 0 ||
		       strcmp(key, "config") == 0);
}

/* A number as written, without trailing zeros after the point ("250.000" -> "250"). */
static void sb_num(struct sbuf *b, const char *text)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%s", text);
	if (strchr(tmp, '.') && !strpbrk(tmp, "eE")) {
		size_t n = strlen(tmp);
		while (n && tmp[n - 1] == '0')
			tmp[--n] = '\0';
		if (n && tmp[n - 1] == '.')
			tmp[--n] = '\0';
	}
	sb_puts(b, tmp);
}

static void lua_value(struct replay *r, struct sbuf *b, const struct jv *v, const char *key,
		      const char *where);

static void lua_ref(struct replay *r, struct sbuf *b, const struct jv *v, const char *where)
{
	const char *ref = jv_str(v, "$ref");
	const char *name = jv_str(v, "name");
	if (name && (strcmp(ref, "resolver") == 0 || strcmp(ref, "zone_source") == 0 ||
		     strcmp(ref, "vip") == 0 || strcmp(ref, "process") == 0 ||
		     strcmp(ref, "client") == 0)) {
		const struct obj *o = find_obj(r, name);
		if (o)
			sb_puts(b, o->var);
		else
			sb_lua_str(b, name);
		return;
	}
	if (strcmp(ref, "zone") == 0 && jv_str(v, "file")) {
		sb_puts(b, zone_var(r, jv_str(v, "file"), false));
		return;
	}
	if (strcmp(ref, "metric") == 0 && jv_str(v, "metric") && lua_ident(jv_str(v, "metric"))) {
		sb_puts(b, jv_str(v, "metric"));
		const struct jv *o = jv_get(v, "opts");
		if (o && o->type == JV_OBJ) {
			lua_value(r, b, o, NULL, where);
		} else if (o && o->type != JV_NULL) {
			sb_puts(b, "(");
			lua_value(r, b, o, NULL, where);
			sb_puts(b, ")");
		} else {
			sb_puts(b, "{}");
		}
		return;
	}
	if (strcmp(ref, "function") == 0) {
		note(r, "%s: a function (defined at %s) cannot be written down: nil in its place", where,
		     jv_str(v, "where") ? jv_str(v, "where") : "?");
		sb_puts(b, "nil");
		return;
	}
	note(r, "%s: a %s cannot be written down: nil in its place", where, ref);
	sb_puts(b, "nil");
}

static void lua_value(struct replay *r, struct sbuf *b, const struct jv *v, const char *key,
		      const char *where)
{
	switch (v->type) {
	case JV_NULL:
		sb_puts(b, "nil");
		break;
	case JV_BOOL:
		sb_puts(b, v->b ? "true" : "false");
		break;
	case JV_NUM:
		sb_num(b, v->s);
		break;
	case JV_STR:
		if (path_key(key)) {
			char abs[PATH_MAX * 3], rel[PATH_MAX * 3];
			path_abs(r->base, v->s, abs, sizeof abs);
			path_rel(r, abs, rel, sizeof rel);
			sb_lua_str(b, rel);
		} else {
			sb_lua_str(b, v->s);
		}
		break;
	case JV_ARR:
		sb_puts(b, "{ ");
		for (size_t i = 0; i < v->count; i++) {
			if (i)
				sb_puts(b, ", ");
			lua_value(r, b, &v->items[i], NULL, where);
		}
		sb_puts(b, v->count ? " }" : "}");
		break;
	case JV_OBJ: {
		if (jv_get(v, "$ref")) {
			lua_ref(r, b, v, where);
			break;
		}
		/* Positional entries first, then name, then the rest (sorted when recorded). */
		size_t npos = 0, written = 0;
		while (npos < v->count && is_index(v->keys[npos], npos + 1))
			npos++;
		sb_puts(b, "{ ");
		for (int pass = 0; pass < 3; pass++)
			for (size_t i = 0; i < v->count; i++) {
				bool pos = i < npos, nm = strcmp(v->keys[i], "name") == 0;
				if ((pass == 0) != pos || (pass == 1) != (nm && !pos))
					continue;
				if (written++)
					sb_puts(b, ", ");
				if (!pos) {
					if (lua_ident(v->keys[i])) {
						sb_puts(b, v->keys[i]);
					} else {
						char *end;
						long long k = strtoll(v->keys[i], &end, 10);
						sb_puts(b, "[");
						if (*end == '\0' && end != v->keys[i])
							sb_printf(b, "%lld", k);
						else
							sb_lua_str(b, v->keys[i]);
						sb_puts(b, "]");
					}
					sb_puts(b, " = ");
				}
				lua_value(r, b, &v->items[i], v->keys[i], where);
			}
		sb_puts(b, written ? " }" : "}");
		break;
	}
	}
}

/* ---- reading the history ---- */

static int parse_line(struct replay *r, size_t i, struct jv *out)
{
	size_t len;
	const char *text = hist_line(r->h, i, &len);
	struct jparse j = { .p = text, .end = text + len, .a = &r->a };
	jp_value(&j, out, 0);
	if (j.bad || out->type != JV_OBJ) {
		snprintf(r->err, sizeof r->err, "%s:%zu: cannot read the line back", r->path, i + 1);
		return -1;
	}
	return 0;
}

static int add_ev(struct replay *r, size_t i, const struct jv *v, const char *type)
{
	struct ev *p = realloc(r->evs, (r->nevs + 1) * sizeof *p);
	if (!p)
		return -1;
	r->evs = p;
	p[r->nevs].t = jv_num(v, "t", 0);
	p[r->nevs].line = i + 1;
	p[r->nevs].type = type;
	p[r->nevs].v = *v;
	p[r->nevs].disp = D_EMIT;
	p[r->nevs].at = -1;
	r->nevs++;
	return 0;
}

static int read_history(struct replay *r)
{
	size_t n = hist_line_count(r->h);
	struct jv meta;
	if (n == 0 || parse_line(r, 0, &meta) != 0)
		return -1;
	r->name = jv_str(&meta, "name");
	r->scenario = jv_str(&meta, "scenario");
	r->dnschaos = jv_str(&meta, "dnschaos");
	r->started = jv_str(&meta, "started_unix");
	r->duration = jv_num(&meta, "duration", 10);
	const struct jv *seed = jv_get(&meta, "seed");
	r->seed = seed && seed->s ? strtoull(seed->s, NULL, 10) : 1;
	r->running_t = -1;
	r->stop_t = -1;
	double state_end = -1;
	for (size_t i = 1; i < n; i++) {
		enum hist_type ht = hist_line_type(r->h, i);
		size_t len;
		const char *text = hist_line(r->h, i, &len);
		struct jv v;
		switch (ht) {
		case HIST_QUERY: case HIST_LOOKUP: case HIST_ROUTE: case HIST_LOG: case HIST_GATE:
		case HIST_STALL: case HIST_VIP: case HIST_BACKEND_STATS:
		case HIST_LOST:
			continue;
		case HIST_HEALTH:
			/* Only the hand's: removed and member (probes are most of them). */
			if (!memmem(text, len, "\"event\":\"removed\"", 17) &&
			    !memmem(text, len, "\"event\":\"member\"", 16))
				continue;
			break;
		default:
			break;
		}
		if (parse_line(r, i, &v) != 0)
			return -1;
		const char *type = jv_str(&v, "type");
		if (!type)
			continue;
		if (strcmp(type, "declare") == 0) {
			struct jv *d = realloc(r->decls, (r->ndecls + 1) * sizeof *d);
			size_t *dl = d ? realloc(r->decl_lines, (r->ndecls + 1) * sizeof *dl) : NULL;
			if (d)
				r->decls = d;
			if (!d || !dl)
				goto oom;
			r->decl_lines = dl;
			r->decls[r->ndecls] = v;
			r->decl_lines[r->ndecls++] = i + 1;
		} else if (strcmp(type, "running") == 0) {
			r->running_t = jv_num(&v, "t", 0);
		} else if (strcmp(type, "timeline") == 0) {
			/* The lines just before it were its entry's: due at "at". */
			double at = jv_num(&v, "at", -1), k = jv_num(&v, "lines", 0);
			/* Far later than due (the loop held up, the timeline paused by
			 * hand): when it happened is what the replay repeats. */
			if (jv_num(&v, "t", 0) - at > REPLAY_LATE_S)
				at = -1;
			for (size_t q = r->nevs; q-- > 0 && r->evs[q].line + k > i;)
				if (at >= 0)
					r->evs[q].at = at;
		} else if (strcmp(type, "version") == 0) {
			const char *dg = jv_str(&v, "digest"), *f = jv_str(&v, "file");
			if (!dg || !f)
				continue;
			const char **a = realloc(r->ver_digest, (r->nvers + 1) * sizeof *a);
			if (a)
				r->ver_digest = a;
			const char **b = a ? realloc(r->ver_file, (r->nvers + 1) * sizeof *b) : NULL;
			if (!a || !b)
				goto oom;
			r->ver_file = b;
			r->ver_digest[r->nvers] = dg;
			r->ver_file[r->nvers++] = f;
		} else if (strcmp(type, "end") == 0) {
			r->end_reason = jv_str(&v, "reason");
			if (!r->end_reason || strcmp(r->end_reason, "duration") != 0)
				r->stop_t = jv_num(&v, "t", 0);
		} else if (strcmp(type, "state") == 0 && jv_str(&v, "why") &&
			   strcmp(jv_str(&v, "why"), "end") == 0) {
			if (state_end < 0)
				state_end = jv_num(&v, "t", 0);
		} else if (strcmp(type, "fault") == 0 || strcmp(type, "publish") == 0 ||
			   strcmp(type, "boot") == 0 || strcmp(type, "state") == 0 ||
			   strcmp(type, "health") == 0 || strcmp(type, "rate") == 0) {
			if (add_ev(r, i, &v, type) != 0)
				goto oom;
		}
		if (r->a.oom)
			goto oom;
	}
	/* The teardown: from the duration (or where it began, when the run was
	 * made longer while it played), or from where an interrupted run began to stop. */
	if (r->end_reason && strcmp(r->end_reason, "duration") == 0) {
		r->stop_t = r->duration;
		if (state_end > r->duration + 0.5) {
			note(r, "the run went on past its planned %.3f s, to %.3f s (made longer while it "
				"played): the replay lasts that long",
			     r->duration, state_end);
			r->duration = ceil(state_end * 10) / 10;
			r->stop_t = state_end;
		}
	}
	else if (state_end >= 0 && (r->stop_t < 0 || state_end < r->stop_t))
		r->stop_t = state_end;
	if (!r->end_reason) {
		r->stop_t = hist_last_t(r->h);
		note(r, "the history has no end line (the run was killed at %.3f s): its timeline is "
			"repeated up to there",
		     r->stop_t);
	} else if (strcmp(r->end_reason, "duration") != 0) {
		note(r, "the original run ended early (%s, at %.3f s): its timeline is repeated up to "
			"there, the replay runs its whole duration",
		     r->end_reason, r->stop_t);
	}
	if (r->stop_t < 0 || r->stop_t > r->duration)
		r->stop_t = r->duration;
	return 0;
oom:
	snprintf(r->err, sizeof r->err, "%s: out of memory", r->path);
	return -2;
}

/* ---- deciding what the lines were ---- */

static struct fault *find_fault(struct replay *r, uint32_t id)
{
	for (size_t i = 0; i < r->nfaults; i++)
		if (r->faults[i].id == id)
			return &r->faults[i];
	return NULL;
}

static bool query_fault(const char *kind)
{
	static const char *const kinds[] = { "hang", "delay", "rcode", "truncate", "wrong",
					     "capacity", NULL };
	for (size_t i = 0; kinds[i]; i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

static bool is_process(const struct replay *r, const char *name)
{
	const struct obj *o = find_obj(r, name);
	return o && strcmp(o->kind, "process") == 0;
}

/* Whether ev is a line about target (a fault, boot or state line naming it). */
static bool about(const struct ev *e, const char *target)
{
	const char *t = jv_str(&e->v, "target");
	if (!t)
		t = jv_str(&e->v, "resolver");
	if (!t)
		t = jv_str(&e->v, "source");
	return t && strcmp(t, target) == 0;
}

/* The kind of the inject line right after index i among target's lines, or NULL. */
static const char *inject_follows(const struct replay *r, size_t i, const char *target, double t)
{
	for (size_t k = i + 1; k < r->nevs && r->evs[k].t <= t + 0.001; k++) {
		const struct ev *e = &r->evs[k];
		if (!about(e, target))
			continue;
		if (strcmp(e->type, "fault") == 0 && strcmp(jv_str(&e->v, "action"), "inject") == 0)
			return jv_str(&e->v, "fault");
		return NULL;
	}
	return NULL;
}

/* The kind of the inject line right before index i among target's lines, or NULL. */
static const char *inject_precedes(const struct replay *r, size_t i, const char *target, double t)
{
	for (size_t k = i; k-- > 0 && r->evs[k].t >= t - 0.001;) {
		const struct ev *e = &r->evs[k];
		if (!about(e, target))
			continue;
		if (strcmp(e->type, "fault") == 0 && strcmp(jv_str(&e->v, "action"), "inject") == 0)
			return jv_str(&e->v, "fault");
		return NULL;
	}
	return NULL;
}

static int decide(struct replay *r)
{
	for (size_t i = 0; i < r->nevs; i++) {
		struct ev *e = &r->evs[i];
		if (strcmp(e->type, "fault") != 0)
			continue;
		const char *target = jv_str(&e->v, "target"), *kind = jv_str(&e->v, "fault"),
			   *action = jv_str(&e->v, "action");
		uint32_t id = (uint32_t)jv_num(&e->v, "id", 0);
		if (!target || !kind || !action) {
			e->disp = D_SKIP;
			continue;
		}
		if (strcmp(action, "inject") == 0) {
			struct fault *f = realloc(r->faults, (r->nfaults + 1) * sizeof *f);
			if (!f)
				return -1;
			r->faults = f;
			f[r->nfaults++] = (struct fault){ .id = id, .target = target, .kind = kind,
							  .t = e->t,
							  .duration = jv_num(&e->v, "duration", 0),
							  .active = true };
			if (e->t >= r->stop_t)
				e->disp = D_SKIP;
			continue;
		}
		struct fault *f = find_fault(r, id);
		bool proc = is_process(r, target);
		e->disp = D_SKIP;
		if (f)
			f->active = false;
		if (e->t >= r->stop_t || !f || f->t >= r->stop_t)
			continue; /* the teardown's, or of nothing the timeline did */
		if (f->duration > 0 && e->t >= f->t + f->duration - 0.002)
			continue; /* healed itself */
		if (strcmp(kind, "capacity") == 0) {
			const char *next = inject_follows(r, i, target, e->t);
			if (next && strcmp(next, "capacity") == 0)
				continue; /* replaced by a new limit */
		}
		if (!proc && query_fault(kind)) {
			/* Healed by hand: every active fault of the target at once, or this one. */
			size_t k = i;
			while (k + 1 < r->nevs && strcmp(r->evs[k + 1].type, "fault") == 0 &&
			       fabs(r->evs[k + 1].t - e->t) < 0.001 &&
			       strcmp(jv_str(&r->evs[k + 1].v, "action"), "heal") == 0 &&
			       strcmp(jv_str(&r->evs[k + 1].v, "target"), target) == 0)
				k++;
			bool all = true;
			for (size_t q = 0; q < r->nfaults; q++) {
				struct fault *o = &r->faults[q];
				if (!o->active || strcmp(o->target, target) != 0 || !query_fault(o->kind))
					continue;
				bool in_group = false;
				for (size_t g = i + 1; g <= k; g++)
					if ((uint32_t)jv_num(&r->evs[g].v, "id", 0) == o->id)
						in_group = true;
				if (!in_group)
					all = false;
			}
			if (all) {
				e->disp = D_HEAL_ALL;
				for (size_t g = i + 1; g <= k; g++) {
					struct fault *o = find_fault(r, (uint32_t)jv_num(&r->evs[g].v, "id", 0));
					if (o)
						o->active = false;
					r->evs[g].disp = D_SKIP;
				}
				i = k;
			} else {
				e->disp = D_HEAL_ONE;
				f->handle = true;
			}
			continue;
		}
		if (proc) {
			if (strcmp(kind, "hang") == 0) {
				const char *prev = inject_precedes(r, i, target, e->t);
				if (!prev || strcmp(prev, "hang") == 0)
					e->disp = D_EMIT; /* continue */
				continue;           /* else a stop or kill ended the hang */
			}
			if (strcmp(kind, "kill") == 0 || strcmp(kind, "stop") == 0) {
				const char *next = inject_follows(r, i, target, e->t);
				if (!next || strcmp(next, "restart") != 0)
					e->disp = D_EMIT; /* start */
			}
			continue; /* a restart's heal: it came up */
		}
		if (strcmp(kind, "stop") == 0) {
			const char *next = inject_follows(r, i, target, e->t);
			if (!next || (strcmp(next, "crash") != 0 && strcmp(next, "restart") != 0))
				e->disp = D_EMIT; /* start */
		}
		/* crash, restart, reload: healed when it came back */
	}
	return 0;
}

/* ---- writing the timeline ---- */

static double entry_time(const struct replay *r, const struct ev *e)
{
	if (e->at >= 0)
		return floor(e->at / REPLAY_GRID_S + 0.5) * REPLAY_GRID_S;
	if (r->running_t >= 0 && e->t < r->running_t + REPLAY_FIRST_S)
		return 0;
	return floor(e->t / REPLAY_GRID_S + 1e-6) * REPLAY_GRID_S;
}

/* The boot plan of target's next boot line at or after index i ("zone = v1", "boot = 'source'"). */
static void boot_plan(struct replay *r, struct sbuf *b, size_t i, const char *target, bool reload,
		      bool process)
{
	for (size_t k = i + 1; k < r->nevs; k++) {
		const struct ev *e = &r->evs[k];
		if (strcmp(e->type, "boot") != 0 || !jv_str(&e->v, "resolver") ||
		    strcmp(jv_str(&e->v, "resolver"), target) != 0 || jv_bool(&e->v, "reload") != reload)
			continue;
		const char *from = jv_str(&e->v, "from");
		if (from && strcmp(from, "source") == 0) {
			sb_puts(b, "boot = \"source\"");
			if (r->nsources > 1)
				note(r, "%s:%zu: %s booted from a zone source, which one the line does not "
					"say: the replay boots from its declared one",
				     r->path, e->line, target);
			return;
		}
		const struct jv *dg = jv_get(&e->v, "digests");
		if (!dg || dg->type != JV_ARR || dg->count == 0)
			return;
		const char *vars[16];
		size_t nv = 0;
		for (size_t q = 0; q < dg->count && nv < 16; q++) {
			const char *f = dg->items[q].type == JV_STR ? version_file(r, dg->items[q].s) : NULL;
			if (!f) {
				note(r, "%s:%zu: %s booted a zone version whose file the history does not "
					"name: the replay boots its declared plan",
				     r->path, e->line, target);
				return;
			}
			vars[nv++] = zone_var(r, f, false);
		}
		if (nv == 1 || process) {
			sb_printf(b, "zone = %s", vars[0]);
		} else {
			sb_puts(b, "zones = { ");
			for (size_t q = 0; q < nv; q++)
				sb_printf(b, "%s%s", q ? ", " : "", vars[q]);
			sb_puts(b, " }");
		}
		return;
	}
}

static const char *obj_var(struct replay *r, const char *name, const char *line_kind, size_t line)
{
	const struct obj *o = find_obj(r, name);
	if (o)
		return o->var;
	note(r, "%s:%zu: a %s line names '%s', which the declare lines do not: left out", r->path,
	     line, line_kind, name);
	return NULL;
}

/* Options of a query fault from its inject line. */
static void fault_opts(struct replay *r, struct sbuf *b, const struct ev *e, const char *kind,
		       bool *ok)
{
	const struct jv *v = &e->v;
	struct sbuf o = { 0 };
	const struct jv *x;
	*ok = true;
#define OPT_NUM(key, name)                                             \
	if ((x = jv_get(v, key)) && x->type == JV_NUM) {               \
		sb_printf(&o, "%s%s = ", o.len ? ", " : "", name);      \
		sb_num(&o, x->s);                                      \
	}
#define OPT_STR(key, name)                                             \
	if (jv_str(v, key)) {                                          \
		sb_printf(&o, "%s%s = ", o.len ? ", " : "", name);      \
		sb_lua_str(&o, jv_str(v, key));                        \
	}
	if (strcmp(kind, "capacity") == 0) {
		OPT_NUM("qps", "qps")
		OPT_NUM("queue", "queue")
		OPT_NUM("duration", "duration")
	} else {
		if (strcmp(kind, "delay") == 0) {
			OPT_NUM("delay_ms", "ms")
			if (jv_num(v, "jitter_ms", 0) > 0) {
				OPT_NUM("jitter_ms", "jitter")
			}
			const char *dist = jv_str(v, "dist");
			const char *dflt = jv_num(v, "jitter_ms", 0) > 0 ? "uniform" : "constant";
			if (dist && strcmp(dist, dflt) != 0) {
				OPT_STR("dist", "dist")
			}
		} else if (strcmp(kind, "rcode") == 0) {
			OPT_STR("rcode", "rcode")
		} else if (strcmp(kind, "wrong") == 0) {
			if (jv_str(v, "address")) {
				OPT_STR("address", "address")
			} else if (jv_str(v, "file")) {
				sb_printf(&o, "%szone = %s", o.len ? ", " : "",
					  zone_var(r, jv_str(v, "file"), true));
			} else {
				note(r, "%s:%zu: a wrong fault whose zone file the line does not name "
					"(a history older than replay): left out",
				     r->path, e->line);
				*ok = false;
			}
		}
		OPT_NUM("fraction", "fraction")
		OPT_STR("name", "name")
		OPT_STR("qtype", "qtype")
		OPT_STR("transport", "transport")
		OPT_NUM("duration", "duration")
	}
#undef OPT_NUM
#undef OPT_STR
	if (o.oom)
		b->oom = true;
	else if (o.len)
		sb_printf(b, "{ %s }", o.p);
	free(o.p);
}

/*
 * Per target: how much earlier its last entry runs in the replay than in the
 * original, so when the lines that entry caused (a boot, a reboot's state, a
 * heal of its own) will come; an entry after such a line stays after it.
 */
struct pace {
	const char *target;
	double shift;
	double last;  /* the original time of its last entry */
	bool entered; /* after a first entry: what came before is the start's */
};

static const char *ev_target(const struct ev *e)
{
	static const char *const keys[] = { "target", "resolver", "source", "vip", "client", NULL };
	for (size_t i = 0; keys[i]; i++)
		if (jv_str(&e->v, keys[i]))
			return jv_str(&e->v, keys[i]);
	return NULL;
}

static struct pace *pace_of(struct replay *r, const struct ev *e)
{
	const char *tg = ev_target(e);
	if (!tg)
		return NULL;
	for (size_t i = 0; i < r->npaces; i++)
		if (strcmp(r->paces[i].target, tg) == 0)
			return &r->paces[i];
	struct pace *p = realloc(r->paces, (r->npaces + 1) * sizeof *p);
	if (!p) {
		r->a.oom = true;
		return NULL;
	}
	r->paces = p;
	p[r->npaces] = (struct pace){ .target = tg, .shift = 0 };
	return &p[r->npaces++];
}

/* Whether the line becomes a timeline entry (else it is a consequence of one). */
static bool is_entry(const struct ev *e)
{
	if (strcmp(e->type, "fault") == 0)
		return e->disp != D_SKIP;
	if (strcmp(e->type, "publish") == 0)
		return !jv_bool(&e->v, "initial");
	if (strcmp(e->type, "state") == 0)
		return jv_str(&e->v, "source") != NULL;
	return strcmp(e->type, "health") == 0 || strcmp(e->type, "rate") == 0;
}

static void sb_time(struct sbuf *b, double t)
{
	char tmp[64];
	snprintf(tmp, sizeof tmp, "%.3f", t);
	sb_num(b, tmp);
}

static void write_timeline(struct replay *r, struct sbuf *b)
{
	/* Current rates, to leave out a rate set again to what it was. */
	const char **rc_name = calloc(r->nobjs + 1, sizeof *rc_name);
	double *rc_rate = calloc(r->nobjs + 1, sizeof *rc_rate);
	size_t nrc = 0;
	if (!rc_name || !rc_rate) {
		b->oom = true;
		goto out;
	}
	for (size_t i = 0; i < r->ndecls; i++) {
		const char *what = jv_str(&r->decls[i], "what");
		const struct jv *o = jv_get(&r->decls[i], "opts");
		if (what && strcmp(what, "client") == 0 && jv_str(o, "name")) {
			rc_name[nrc] = jv_str(o, "name");
			rc_rate[nrc++] = jv_num(o, "rate", -1);
		} else if (what && strcmp(what, "rate") == 0) {
			const struct jv *c = jv_get(o, "client");
			for (size_t k = 0; c && k < nrc; k++)
				if (jv_str(c, "name") && strcmp(rc_name[k], jv_str(c, "name")) == 0)
					rc_rate[k] = jv_num(o, "rate", -1);
		}
	}
	bool handles = false;
	for (size_t i = 0; i < r->nfaults; i++)
		handles |= r->faults[i].handle;
	sb_puts(b, "\n-- The timeline, as the history recorded it: each entry when it was due, or "
		   "at its line's time.\n");
	if (handles)
		sb_puts(b, "local faults = {} -- faults healed one by one, by their id in the original\n");
	double last_t = 0, after = -1;
	for (size_t i = 0; i < r->nevs; i++) {
		struct ev *e = &r->evs[i];
		if (e->t >= r->stop_t)
			continue;
		/* A line no entry makes (a boot, a reboot's state, a heal of its own):
		 * when it will come in the replay, so that an entry after it on the
		 * same target stays after it. */
		struct pace *pc = pace_of(r, e);
		if (!is_entry(e)) {
			/* What an entry's call did at once (a state down, a heal, a boot
			 * from files) comes before the next entry anyway; what came later
			 * (a transfer's boot, a reboot after a crash's down time) is
			 * waited for: by any target's next entry, as a reload may need
			 * the source a start brought back. */
			bool later = strcmp(e->type, "boot") == 0 && jv_str(&e->v, "from") &&
				     strcmp(jv_str(&e->v, "from"), "source") == 0;
			if ((strcmp(e->type, "boot") == 0 || (strcmp(e->type, "state") == 0 &&
							      jv_str(&e->v, "state") &&
							      strcmp(jv_str(&e->v, "state"), "up") == 0)) &&
			    pc && e->t - pc->last > 0.001)
				later = true;
			if (later && pc && pc->entered && e->t - pc->shift > after)
				after = e->t - pc->shift;
			continue;
		}
		double t = entry_time(r, e);
		if (e->at < 0 && after >= 0 && t < after + REPLAY_SETTLE_S)
			t = ceil((after + REPLAY_SETTLE_S) / REPLAY_GRID_S - 1e-6) * REPLAY_GRID_S;
		if (t < last_t)
			t = last_t;
		if (t >= r->duration)
			continue;
		last_t = t;
		if (pc) {
			pc->shift = e->t - t;
			pc->last = e->t;
			pc->entered = true;
		}
		const struct jv *v = &e->v;
		if (strcmp(e->type, "fault") == 0) {
			const char *target = jv_str(v, "target"), *kind = jv_str(v, "fault");
			bool inject = strcmp(jv_str(v, "action"), "inject") == 0;
			const char *var = obj_var(r, target, "fault", e->line);
			bool proc = is_process(r, target);
			uint32_t id = (uint32_t)jv_num(v, "id", 0);
			if (!var)
				continue;
			if (inject && !proc && query_fault(kind)) {
				struct sbuf o = { 0 };
				bool ok;
				fault_opts(r, &o, e, kind, &ok);
				if (!ok) {
					free(o.p);
					continue;
				}
				struct fault *f = find_fault(r, id);
				if (f && f->handle) {
					sb_puts(b, "s:at(");
					sb_time(b, t);
					sb_printf(b, ", function() faults[%u] = %s:%s%s end)\n", id, var, kind,
						  o.len ? o.p : "{}");
				} else {
					sb_puts(b, "s:at(");
					sb_time(b, t);
					sb_printf(b, ", %s, \"%s\"%s%s)\n", var, kind, o.len ? ", " : "",
						  o.len ? o.p : "");
				}
				free(o.p);
				continue;
			}
			if (!inject && e->disp == D_HEAL_ALL) {
				sb_puts(b, "s:at(");
				sb_time(b, t);
				sb_printf(b, ", %s, \"heal\")\n", var);
				continue;
			}
			if (!inject && e->disp == D_HEAL_ONE) {
				sb_puts(b, "s:at(");
				sb_time(b, t);
				sb_printf(b, ", function() %s:heal(faults[%u]) end)\n", var, id);
				continue;
			}
			/* Lifecycle: the verb, and the boot plan it came back with. */
			const char *verb = NULL;
			struct sbuf o = { 0 };
			if (inject) {
				if (proc && (strcmp(kind, "hang") == 0 || strcmp(kind, "kill") == 0 ||
					     strcmp(kind, "stop") == 0)) {
					verb = kind;
					/* A hang that healed itself: its duration, as a resolver
					 * fault's (decide() leaves its heal out). */
					const struct jv *d = jv_get(v, "duration");
					if (strcmp(kind, "hang") == 0 && d && d->type == JV_NUM &&
					    jv_num(v, "duration", 0) > 0) {
						sb_puts(&o, "duration = ");
						sb_num(&o, d->s);
					}
				} else if (strcmp(kind, "restart") == 0) {
					verb = "restart";
					boot_plan(r, &o, i, target, false, proc);
				} else if (!proc && strcmp(kind, "stop") == 0) {
					verb = "stop";
				} else if (!proc && strcmp(kind, "crash") == 0) {
					verb = "crash";
					sb_puts(&o, "down = ");
					const struct jv *d = jv_get(v, "down");
					sb_num(&o, d && d->s ? d->s : "0");
					struct sbuf p = { 0 };
					boot_plan(r, &p, i, target, false, false);
					if (p.len)
						sb_printf(&o, ", %s", p.p);
					free(p.p);
				} else if (!proc && strcmp(kind, "reload") == 0) {
					verb = "reload";
					boot_plan(r, &o, i, target, true, false);
					if (!o.len) {
						note(r, "%s:%zu: a reload of %s without its boot line: left out",
						     r->path, e->line, target);
						verb = NULL;
					}
				}
			} else if (proc && strcmp(kind, "hang") == 0) {
				verb = "continue";
			} else if (strcmp(kind, "stop") == 0 || strcmp(kind, "kill") == 0) {
				verb = "start";
				boot_plan(r, &o, i, target, false, proc);
			}
			if (!verb) {
				if (inject)
					note(r, "%s:%zu: a %s fault on %s: not an action replay knows; left out",
					     r->path, e->line, kind, target);
				free(o.p);
				continue;
			}
			sb_puts(b, "s:at(");
			sb_time(b, t);
			sb_printf(b, ", %s, \"%s\"", var, verb);
			if (o.len)
				sb_printf(b, ", { %s }", o.p);
			sb_puts(b, ")\n");
			if (o.oom)
				b->oom = true;
			free(o.p);
		} else if (strcmp(e->type, "publish") == 0) {
			if (jv_bool(v, "initial"))
				continue;
			const char *src = jv_str(v, "source"), *file = jv_str(v, "file");
			const char *var = src ? obj_var(r, src, "publish", e->line) : NULL;
			if (!var || !file)
				continue;
			sb_puts(b, "s:at(");
			sb_time(b, t);
			sb_printf(b, ", %s, \"publish\", { zone = %s })\n", var, zone_var(r, file, true));
		} else if (strcmp(e->type, "state") == 0) {
			const char *src = jv_str(v, "source"), *state = jv_str(v, "state");
			if (!src || !state)
				continue; /* a resolver's: its fault lines say what was done */
			const char *var = obj_var(r, src, "state", e->line);
			if (!var)
				continue;
			sb_puts(b, "s:at(");
			sb_time(b, t);
			sb_printf(b, ", %s, \"%s\")\n", var, strcmp(state, "down") == 0 ? "stop" : "start");
		} else if (strcmp(e->type, "health") == 0) {
			const char *vip = jv_str(v, "vip"), *be = jv_str(v, "backend"),
				   *ev = jv_str(v, "event");
			const char *var = vip ? obj_var(r, vip, "health", e->line) : NULL;
			if (!var || !be || !ev)
				continue;
			const struct obj *bo = find_obj(r, be);
			sb_puts(b, "s:at(");
			sb_time(b, t);
			sb_printf(b, ", %s, \"%s\", { backend = ", var,
				  strcmp(ev, "removed") == 0 ? "remove" : "restore");
			if (bo)
				sb_puts(b, bo->var);
			else
				sb_lua_str(b, be);
			sb_puts(b, " })\n");
		} else if (strcmp(e->type, "rate") == 0) {
			const char *c = jv_str(v, "client");
			const struct jv *rate = jv_get(v, "rate");
			const char *var = c ? obj_var(r, c, "rate", e->line) : NULL;
			if (!var || !rate || rate->type != JV_NUM)
				continue;
			size_t k = 0;
			while (k < nrc && strcmp(rc_name[k], c) != 0)
				k++;
			if (k < nrc && fabs(rc_rate[k] - rate->num) < 0.0005)
				continue; /* set again to what it was */
			if (k < nrc)
				rc_rate[k] = rate->num;
			sb_puts(b, "s:at(");
			sb_time(b, t);
			sb_printf(b, ", %s, \"rate\", { rate = ", var);
			sb_num(b, rate->s);
			sb_puts(b, " })\n");
		}
	}
out:
	free(rc_name);
	free(rc_rate);
}

/* ---- writing the scenario ---- */

static const char *default_name(const char *what)
{
	if (strcmp(what, "zone_source") == 0)
		return "source";
	if (strcmp(what, "vip") == 0)
		return "vip";
	return NULL;
}

static int check_declares(struct replay *r)
{
	if (r->ndecls == 0) {
		snprintf(r->err, sizeof r->err,
			 "%s:%zu: no declare lines after the meta line: the history ends before "
			 "its farm was recorded, or a dnschaos without `replay` wrote it; replay "
			 "needs the declare lines (docs/history.md)",
			 r->path, hist_line_count(r->h) >= 2 ? (size_t)2 : (size_t)1);
		return -1;
	}
	const char *first = jv_str(&r->decls[0], "what");
	if (!first || strcmp(first, "scenario") != 0) {
		snprintf(r->err, sizeof r->err,
			 "%s:%zu: the first declare line must be the scenario's (what: scenario)",
			 r->path, r->decl_lines[0]);
		return -1;
	}
	for (size_t i = 0; i < r->ndecls; i++) {
		const struct jv *d = &r->decls[i];
		const char *what = jv_str(d, "what");
		if (!what || !jv_get(d, "opts")) {
			snprintf(r->err, sizeof r->err, "%s:%zu: a declare line needs what and opts",
				 r->path, r->decl_lines[i]);
			return -1;
		}
	}
	return 0;
}

/* Objects and their locals, in declaration order; zones declared by s:zone first. */
static int name_objects(struct replay *r)
{
	static const char *const kinds[] = { "zone_source", "resolver", "process", "vip", "client",
					     NULL };
	for (size_t i = 0; i < r->ndecls; i++) {
		const char *what = jv_str(&r->decls[i], "what");
		const struct jv *o = jv_get(&r->decls[i], "opts");
		bool known = false;
		for (size_t k = 0; kinds[k]; k++)
			known |= strcmp(what, kinds[k]) == 0;
		if (!known)
			continue;
		const char *name = jv_str(o, "name");
		if (!name)
			name = default_name(what);
		if (!name)
			continue;
		struct obj *p = realloc(r->objs, (r->nobjs + 1) * sizeof *p);
		if (!p)
			return -1;
		r->objs = p;
		p[r->nobjs++] = (struct obj){ .name = name, .kind = what, .var = make_var(r, name) };
		if (strcmp(what, "zone_source") == 0)
			r->nsources++;
	}
	for (size_t i = 0; i < r->ndecls; i++) {
		const char *what = jv_str(&r->decls[i], "what");
		const struct jv *o = jv_get(&r->decls[i], "opts");
		if (strcmp(what, "zone") == 0 && o->type == JV_STR)
			zone_var(r, o->s, false);
	}
	return r->a.oom ? -1 : 0;
}

static void write_decl(struct replay *r, struct sbuf *b, size_t i)
{
	const struct jv *d = &r->decls[i];
	const char *what = jv_str(d, "what"), *where = jv_str(d, "where");
	const struct jv *o = jv_get(d, "opts");
	const char *name = jv_str(o, "name") ? jv_str(o, "name") : default_name(what);
	const struct obj *obj = name ? find_obj(r, name) : NULL;
	char at[700];
	snprintf(at, sizeof at, "%s (%s:%zu)", where && where[0] ? where : "?", r->path,
		 r->decl_lines[i]);
	sb_printf(b, "local %s = s:%s", obj ? obj->var : "_", what);
	lua_value(r, b, o, NULL, at);
	sb_puts(b, "\n");
}

/*
 * Text from the history in a -- comment: a history is input like any other,
 * and a line break in it would end the comment and start code. Control
 * characters become spaces.
 */
static void sb_comment(struct sbuf *b, const char *text)
{
	for (const char *p = text; *p; p++) {
		unsigned char c = (unsigned char)*p;
		sb_put(b, c < 0x20 || c == 0x7f ? " " : p, 1);
	}
}

static void write_header(struct replay *r, struct sbuf *b)
{
	char when[64] = "?";
	if (r->started) {
		time_t t = (time_t)strtoll(r->started, NULL, 10);
		struct tm tm;
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
	sb_puts(b, "-- ");
	sb_comment(b, r->name ? r->name : "?");
	sb_puts(b, ": a recorded run written back as a scenario by `dnschaos replay`.\n");
	sb_puts(b, "-- Replayed from ");
	sb_comment(b, r->path);
	sb_puts(b, ": the run of ");
	sb_comment(b, r->scenario ? r->scenario : "?");
	sb_printf(b, " started %s (dnschaos ", when);
	sb_comment(b, r->dnschaos ? r->dnschaos : "?");
	sb_puts(b, ").\n");
	sb_puts(b, "-- It repeats that run's farm, clients, timeline (every fault, lifecycle action,\n"
		   "-- publish, VIP membership change and rate change, scripted or by hand, at the\n"
		   "-- time its line has) and expectations (docs/gameday.md).\n");
	if (r->nnotes) {
		sb_puts(b, "--\n-- Left out, because the history cannot repeat it:\n");
		for (size_t i = 0; i < r->nnotes; i++) {
			sb_puts(b, "--   ");
			sb_comment(b, r->notes[i]);
			sb_puts(b, "\n");
		}
	}
	sb_puts(b, "\n");
}

static int build(struct replay *r, struct sbuf *out)
{
	struct sbuf body = { 0 }, farm = { 0 }, zones = { 0 };
	int rc = -1;
	const struct jv *sc = jv_get(&r->decls[0], "opts");
	const char *dir_end = r->scenario ? strrchr(r->scenario, '/') : NULL;
	const char *cwd = jv_str(&r->decls[0], "cwd");
	if (!cwd) {
		snprintf(r->err, sizeof r->err, "%s:%zu: the scenario's declare line has no cwd",
			 r->path, r->decl_lines[0]);
		goto out;
	}
	snprintf(r->cwd, sizeof r->cwd, "%s", cwd);
	if (dir_end) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof dir, "%.*s", (int)(dir_end - r->scenario), r->scenario);
		path_abs(r->cwd, dir[0] ? dir : "/", r->base, sizeof r->base);
	} else {
		snprintf(r->base, sizeof r->base, "%s", r->cwd);
	}
	if (name_objects(r) != 0 || decide(r) != 0)
		goto oom;

	/* The scenario. */
	const char *name = r->name ? r->name : "replay";
	const char *suffix = " (replayed)";
	size_t nl = strlen(name), sl = strlen(suffix);
	bool has = nl >= sl && strcmp(name + nl - sl, suffix) == 0;
	char full[300];
	snprintf(full, sizeof full, "%s%s", name, has ? "" : suffix);
	sb_puts(&body, "local s = scenario{ name = ");
	sb_lua_str(&body, full);
	sb_printf(&body, ", duration = ");
	char num[64];
	snprintf(num, sizeof num, "%.3f", r->duration);
	sb_num(&body, num);
	sb_printf(&body, ", seed = %llu", (unsigned long long)r->seed);
	const struct jv *grace = jv_get(sc, "grace");
	if (grace && grace->type == JV_NUM) {
		sb_puts(&body, ", grace = ");
		sb_num(&body, grace->s);
	}
	sb_puts(&body, " }\n");

	/* The farm, then the clients, each in the order declared. */
	sb_puts(&farm, "\n-- The farm\n");
	bool clients = false;
	for (size_t i = 1; i < r->ndecls; i++) {
		const char *what = jv_str(&r->decls[i], "what");
		if (strcmp(what, "zone_source") == 0 || strcmp(what, "resolver") == 0 ||
		    strcmp(what, "process") == 0 || strcmp(what, "vip") == 0)
			write_decl(r, &farm, i);
	}
	for (size_t i = 1; i < r->ndecls; i++) {
		const char *what = jv_str(&r->decls[i], "what");
		const struct jv *o = jv_get(&r->decls[i], "opts");
		if (strcmp(what, "client") == 0) {
			if (!clients)
				sb_puts(&farm, "\n-- The clients\n");
			clients = true;
			write_decl(r, &farm, i);
		} else if (strcmp(what, "rate") == 0) {
			const struct jv *c = jv_get(o, "client");
			const struct obj *co = c && jv_str(c, "name") ? find_obj(r, jv_str(c, "name")) : NULL;
			const struct jv *rate = jv_get(o, "rate");
			if (co && rate && rate->type == JV_NUM) {
				sb_printf(&farm, "%s:rate(", co->var);
				sb_num(&farm, rate->s);
				sb_puts(&farm, ")\n");
			}
		} else if (strcmp(what, "at") == 0 || strcmp(what, "every") == 0 ||
			   strcmp(what, "on") == 0) {
			const char *where = jv_str(&r->decls[i], "where");
			const char *form = strcmp(what, "at") == 0 ? "s:at(t, fn)"
					   : strcmp(what, "every") == 0 ? "s:every(interval, fn)"
									 : "s:on(target, event, fn)";
			note(r, "%s: a timeline function (%s): what it did to the farm is in the timeline "
				"below, from its lines; what else it did (s:query, s:log, s:wait, reading "
				"state) left no line to repeat",
			     where && where[0] ? where : "?", form);
		}
	}

	write_timeline(r, &body);

	/* The expectations. */
	bool first = true;
	for (size_t i = 1; i < r->ndecls; i++) {
		const char *what = jv_str(&r->decls[i], "what");
		if (strcmp(what, "expect") != 0)
			continue;
		const struct jv *o = jv_get(&r->decls[i], "opts");
		const char *where = jv_str(&r->decls[i], "where");
		if (first)
			sb_puts(&body, "\n-- The expectations, as the original declared them\n");
		first = false;
		const struct jv *m = jv_get(o, "2");
		const char *metric = m ? jv_str(m, "metric") : NULL;
		const struct jv *mo = m ? jv_get(m, "opts") : NULL;
		if (metric && !lua_ident(metric)) {
			note(r, "%s: an expectation whose metric is not a name (%s): left out",
			     where && where[0] ? where : "?", metric);
			continue;
		}
		if (!metric || strcmp(metric, "check") == 0 || (mo && mo->type != JV_OBJ && mo->type != JV_NULL)) {
			note(r, "%s: the expectation \"%s\", measured by a Lua function (check(fn)), "
				"which cannot be written down",
			     where && where[0] ? where : "?", jv_str(o, "1") ? jv_str(o, "1") : "?");
			continue;
		}
		char at[700];
		snprintf(at, sizeof at, "%s", where && where[0] ? where : "?");
		sb_puts(&body, "s:expect");
		lua_value(r, &body, o, NULL, at);
		sb_puts(&body, "\n");
	}

	/* Zones last worked out, first written: every file the farm and the timeline use. */
	sb_puts(&zones, "\n-- The farm's zone files (relative to this file's folder)\n");
	for (size_t i = 0; i < r->nzones; i++) {
		char rel[PATH_MAX * 3];
		path_rel(r, r->zones[i].abs, rel, sizeof rel);
		sb_printf(&zones, "local %s = s:zone(", r->zones[i].var);
		sb_lua_str(&zones, rel);
		sb_puts(&zones, ")\n");
	}
	if (body.oom || farm.oom || zones.oom || r->a.oom)
		goto oom;
	write_header(r, out);
	/* scenario{} line, zones, farm, clients, timeline, expectations */
	char *split = strchr(body.p, '\n');
	sb_put(out, body.p, (size_t)(split - body.p) + 1);
	if (r->nzones)
		sb_put(out, zones.p, zones.len);
	sb_put(out, farm.p, farm.len);
	sb_puts(out, split + 1);
	if (out->oom)
		goto oom;
	rc = 0;
	goto out;
oom:
	snprintf(r->err, sizeof r->err, "%s: out of memory", r->path);
	rc = -2;
out:
	free(body.p);
	free(farm.p);
	free(zones.p);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int replay_write(const char *path, const char *out_path, FILE *warn, char *err, size_t errlen)
{
	struct replay r;
	struct sbuf out = { 0 };
	int rc = 3;
	memset(&r, 0, sizeof r);
	r.path = path;
	bool to_stdout = !out_path || strcmp(out_path, "-") == 0;

	/* Where the scenario goes: its folder, for relative paths. */
	char dir[PATH_MAX];
	const char *slash = to_stdout ? NULL : strrchr(out_path, '/');
	if (to_stdout || !slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == out_path)
		snprintf(dir, sizeof dir, "/");
	else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - out_path), out_path);
	if (!realpath(dir, r.out_dir)) {
		snprintf(err, errlen, "%s: %s", to_stdout ? "." : out_path, strerror(errno));
		return 3;
	}
	if (!to_stdout && outfile_check(out_path, err, errlen) != 0)
		return 3;

	r.h = hist_load(path, r.err, sizeof r.err);
	if (!r.h)
		goto out;
	int k = read_history(&r);
	if (k != 0) {
		rc = k == -2 ? 4 : 3;
		goto out;
	}
	if (check_declares(&r) != 0)
		goto out;
	k = build(&r, &out);
	if (k != 0) {
		rc = k == -2 ? 4 : 3;
		goto out;
	}
	int fd = to_stdout ? STDOUT_FILENO : outfile_open(out_path, OUTFILE_MODE);
	if (fd < 0) {
		snprintf(r.err, sizeof r.err, "%s: %s", out_path, strerror(-fd));
		rc = 4;
		goto out;
	}
	int w = write_all(fd, out.p, out.len);
	if (!to_stdout && close(fd) != 0 && w == 0)
		w = -errno;
	if (w != 0) {
		snprintf(r.err, sizeof r.err, "%s: %s", to_stdout ? "stdout" : out_path, strerror(-w));
		rc = 4;
		goto out;
	}
	if (warn)
		for (size_t i = 0; i < r.nnotes; i++)
			fprintf(warn, "dnschaos replay: warning: left out: %s\n", r.notes[i]);
	rc = 0;
out:
	if (rc != 0)
		snprintf(err, errlen, "%s", r.err);
	free(out.p);
	hist_free(r.h);
	for (size_t i = 0; i < r.nnotes; i++)
		free(r.notes[i]);
	free(r.notes);
	free(r.decls);
	free(r.decl_lines);
	free(r.evs);
	free(r.ver_digest);
	free(r.ver_file);
	free(r.objs);
	free(r.zones);
	free(r.used);
	free(r.faults);
	free(r.paces);
	arena_free(&r.a);
	return rc;
}

void replay_usage(FILE *out)
{
	fprintf(out,
		"\nReplay:\n"
		"       dnschaos replay [--output FILE] HISTORY.jsonl\n"
		"writes a scenario that repeats a recorded run (a game day: its farm, clients,\n"
		"every fault and action, scripted or by hand, at the time it happened, and its\n"
		"expectations) to stdout or FILE; zone and config paths in it are relative to\n"
		"FILE's folder (stdout: the current one). What the history cannot repeat is\n"
		"named in a comment at its top and on stderr. Exit status: 0 written, 3 not a\n"
		"history (FILE:LINE) or one without declare lines, 4 cannot write FILE\n"
		"(docs/gameday.md).\n");
}

int replay_main(int argc, char **argv)
{
	const char *output = NULL, *history = NULL;
	char err[2048];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			replay_usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--output") == 0 || strcmp(argv[i], "-o") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "dnschaos replay: %s needs a file\n", argv[i]);
				return 3;
			}
			output = argv[++i];
		} else if (strncmp(argv[i], "--output=", 9) == 0) {
			output = argv[i] + 9;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "dnschaos replay: unknown option '%s' (see --help)\n", argv[i]);
			return 3;
		} else if (history) {
			fprintf(stderr, "dnschaos replay: one history at a time ('%s' and '%s')\n",
				history, argv[i]);
			return 3;
		} else {
			history = argv[i];
		}
	}
	if (!history) {
		fprintf(stderr, "dnschaos replay: give a history file (see --help)\n");
		return 3;
	}
	int rc = replay_write(history, output, stderr, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "dnschaos replay: %s\n", err);
	return rc;
}
