/*
 * hist.c - a history read back. The file is read whole (a chunk at a time, a
 * line longer than HIST_LINE_MAX refused as soon as it shows); each line is parsed once
 * by a small JSON reader that knows the shape docs/history.md promises (one
 * flat object per line: strings, numbers, booleans, null, arrays of
 * strings), and what the checker and the reports need goes into typed
 * arrays with repeated strings interned. Unknown types and fields are
 * skipped, as the format says readers must.
 */
#include "harness/record/hist.h"
#include "harness/record/history.h"
#include "fakeresolver/json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIELDS_MAX 64
/* The writer's longest line, and the spaces it may pad one with (under a page), fit the cap. */
_Static_assert(HIST_LINE_MAX >= HISTORY_LINE_MAX + 4096 + 2,
	       "the reader must take every line the writer writes");
/* The longest number read: any finite double in fixed point (1 + 309 digits, a point, 9 decimals). */
#define NUMBER_MAX 400
/* The file is read this much at a time, each line's length checked as it comes. */
#define READ_CHUNK (1024 * 1024)

/* A growable array of fixed-size records. */
struct vec {
	void *p;
	size_t n, cap, size;
};

static void *vec_push(struct vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 256;
		void *p = realloc(v->p, cap * v->size);
		if (!p)
			return NULL;
		v->p = p;
		v->cap = cap;
	}
	void *slot = (char *)v->p + v->n++ * v->size;
	memset(slot, 0, v->size);
	return slot;
}

struct line_ref {
	size_t off;
	uint32_t len;
	uint8_t type;
};

/* The libraries whose versions the meta line records (hist_meta.versions, at most 8). */
static const char *const meta_libs[] = { "ldns", "libevent", "lua", "c-ares", "libunbound", "glibc" };
#define META_LIBS (sizeof meta_libs / sizeof meta_libs[0])

struct hist {
	char path[1024];
	char *buf; /* the file's bytes, read whole */
	size_t size;
	size_t longest; /* the longest line, "\n" not counted */

	/* interned strings: texts in one arena, an open-addressed table of ids */
	char *arena;
	size_t arena_len, arena_cap;
	size_t *str_off; /* id -> offset in arena */
	size_t *str_len; /* id -> length (a string may hold NUL: \u0000) */
	uint32_t nstr, capstr;
	uint32_t *table; /* id + 1, 0 = empty */
	size_t table_cap;

	struct vec lines, lookups, queries, routes, healths, faults, publishes, boots, gates,
	        states, versions, addrs, stalls, vips, bstats, controls, losts;
	uint64_t *lk_ids; /* lookup id -> index + 1, open addressing */
	uint32_t *lk_idx;
	size_t lk_cap;

	struct hist_meta meta;
	uint32_t meta_scenario, meta_name, meta_dnschaos; /* interned ids */
	uint32_t meta_lib[META_LIBS];                     /* each library's version */
	uint32_t end_reason, end_error;
	bool has_end;
	double last_t;
};

/* ---- interning ---- */

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
	return h;
}

static int table_grow(struct hist *h)
{
	size_t cap = h->table_cap ? 2 * h->table_cap : 1024;
	uint32_t *t = calloc(cap, sizeof *t);
	if (!t)
		return -1;
	for (uint32_t id = 0; id < h->nstr; id++) {
		const char *s = h->arena + h->str_off[id];
		size_t i = hash_bytes(s, h->str_len[id]) & (cap - 1);
		while (t[i])
			i = (i + 1) & (cap - 1);
		t[i] = id + 1;
	}
	free(h->table);
	h->table = t;
	h->table_cap = cap;
	return 0;
}

/* The id of s[0..n), added if new; HIST_NONE on out of memory. */
static uint32_t intern(struct hist *h, const char *s, size_t n)
{
	if ((h->nstr + 1) * 2 > h->table_cap && table_grow(h) != 0)
		return HIST_NONE;
	size_t mask = h->table_cap - 1;
	size_t i = hash_bytes(s, n) & mask;
	for (; h->table[i]; i = (i + 1) & mask) {
		uint32_t id = h->table[i] - 1;
		if (h->str_len[id] == n && memcmp(h->arena + h->str_off[id], s, n) == 0)
			return id;
	}
	if (h->arena_len + n + 1 > h->arena_cap) {
		size_t cap = h->arena_cap ? 2 * h->arena_cap : 65536;
		while (cap < h->arena_len + n + 1)
			cap *= 2;
		char *a = realloc(h->arena, cap);
		if (!a)
			return HIST_NONE;
		h->arena = a;
		h->arena_cap = cap;
	}
	if (h->nstr == h->capstr) {
		uint32_t cap = h->capstr ? 2 * h->capstr : 256;
		size_t *o = realloc(h->str_off, cap * sizeof *o);
		if (!o)
			return HIST_NONE;
		h->str_off = o;
		size_t *l = realloc(h->str_len, cap * sizeof *l);
		if (!l)
			return HIST_NONE;
		h->str_len = l;
		h->capstr = cap;
	}
	memcpy(h->arena + h->arena_len, s, n);
	h->arena[h->arena_len + n] = '\0';
	h->str_off[h->nstr] = h->arena_len;
	h->str_len[h->nstr] = n;
	h->arena_len += n + 1;
	h->table[i] = h->nstr + 1;
	return h->nstr++;
}

const char *hist_str(const struct hist *h, uint32_t id)
{
	return id < h->nstr ? h->arena + h->str_off[id] : NULL;
}

uint32_t hist_find(const struct hist *h, const char *s)
{
	if (!s || !h->table_cap)
		return HIST_NONE;
	size_t n = strlen(s), mask = h->table_cap - 1;
	for (size_t i = hash_bytes(s, n) & mask; h->table[i]; i = (i + 1) & mask) {
		uint32_t id = h->table[i] - 1;
		if (h->str_len[id] == n && memcmp(h->arena + h->str_off[id], s, n) == 0)
			return id;
	}
	return HIST_NONE;
}

/* ---- one line of JSON ---- */

enum jkind { J_STR, J_NUM, J_BOOL, J_NULL, J_ARR };

struct field {
	const char *key;
	size_t klen;
	enum jkind kind;
	const char *s; /* J_STR: decoded text in the scratch buffer; J_ARR: the elements, NUL-separated */
	size_t slen;   /* J_STR: length; J_ARR: element count */
	double num;
	bool is_int;
	uint64_t u;
	bool b;
};

struct parser {
	const char *p, *end;
	char *scratch;
	size_t slen, scap;
	struct field f[FIELDS_MAX];
	size_t nf;
	const char *err;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r'))
		ps->p++;
}

static int put(struct parser *ps, const char *s, size_t n)
{
	if (ps->slen + n > ps->scap) {
		ps->err = "line too long";
		return -1;
	}
	memcpy(ps->scratch + ps->slen, s, n);
	ps->slen += n;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A JSON string at ps->p (the opening quote), decoded into the scratch buffer. */
static int parse_string(struct parser *ps, const char **out, size_t *outlen)
{
	if (ps->p >= ps->end || *ps->p != '"') {
		ps->err = "expected a string";
		return -1;
	}
	ps->p++;
	size_t start = ps->slen;
	for (;;) {
		const char *q = ps->p;
		while (q < ps->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
			q++;
		if (put(ps, ps->p, (size_t)(q - ps->p)) != 0)
			return -1;
		ps->p = q;
		if (q >= ps->end) {
			ps->err = "unterminated string";
			return -1;
		}
		if (*q == '"')
			break;
		if ((unsigned char)*q < 0x20) {
			ps->err = "control character in a string";
			return -1;
		}
		/* an escape */
		if (q + 1 >= ps->end) {
			ps->err = "unterminated string";
			return -1;
		}
		char c = q[1], o;
		ps->p = q + 2;
		switch (c) {
		case '"': o = '"'; break;
		case '\\': o = '\\'; break;
		case '/': o = '/'; break;
		case 'b': o = '\b'; break;
		case 'f': o = '\f'; break;
		case 'n': o = '\n'; break;
		case 'r': o = '\r'; break;
		case 't': o = '\t'; break;
		case 'u': {
			if (ps->end - ps->p < 4) {
				ps->err = "bad \\u escape";
				return -1;
			}
			unsigned cp = 0;
			for (int i = 0; i < 4; i++) {
				int v = hexval(ps->p[i]);
				if (v < 0) {
					ps->err = "bad \\u escape";
					return -1;
				}
				cp = cp * 16 + (unsigned)v;
			}
			ps->p += 4;
			if (cp == 0) {
				/* A name cut at its NUL would be another name: no history holds one. */
				ps->err = "\\u0000 (NUL) in a string";
				return -1;
			}
			if (cp >= 0xDC00 && cp <= 0xDFFF) {
				ps->err = "a lone low surrogate (\\uDC00 to \\uDFFF) in a string";
				return -1;
			}
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* RFC 8259: a code point above U+FFFF is a pair, high then low. */
				unsigned lo = 0;
				if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
					ps->err = "a lone high surrogate (\\uD800 to \\uDBFF) in a string";
					return -1;
				}
				for (int i = 2; i < 6; i++) {
					int v = hexval(ps->p[i]);
					if (v < 0) {
						ps->err = "bad \\u escape";
						return -1;
					}
					lo = lo * 16 + (unsigned)v;
				}
				if (lo < 0xDC00 || lo > 0xDFFF) {
					ps->err = "a lone high surrogate (\\uD800 to \\uDBFF) in a string";
					return -1;
				}
				ps->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			}
			char u8[4];
			size_t n = utf8_encode(cp, u8);
			if (put(ps, u8, n) != 0)
				return -1;
			continue;
		}
		default:
			ps->err = "bad escape in a string";
			return -1;
		}
		if (put(ps, &o, 1) != 0)
			return -1;
	}
	ps->p++; /* the closing quote */
	*outlen = ps->slen - start;
	if (put(ps, "", 1) != 0)
		return -1;
	*out = ps->scratch + start;
	return 0;
}

static int parse_number(struct parser *ps, struct field *f)
{
	const char *q = ps->p;
	bool neg = false, frac = false, big = false;
	uint64_t u = 0;
	if (q < ps->end && *q == '-') {
		neg = true;
		q++;
	}
	const char *digits = q;
	while (q < ps->end && *q >= '0' && *q <= '9') {
		uint64_t d = (uint64_t)(*q - '0');
		if (u > (UINT64_MAX - d) / 10)
			big = true; /* past UINT64_MAX: strtod below, not a whole number */
		else
			u = u * 10 + d;
		q++;
	}
	if (q == digits) {
		ps->err = "bad value";
		return -1;
	}
	if (q < ps->end && (*q == '.' || *q == 'e' || *q == 'E'))
		frac = true;
	if (!frac && !big) {
		f->num = neg ? -(double)u : (double)u;
		f->u = neg ? 0 : u;
		f->is_int = !neg;
		ps->p = q;
		return 0;
	}
	/* Room for any finite double in fixed point, as the writer may write one. */
	char buf[NUMBER_MAX + 1];
	size_t n = 0;
	for (q = ps->p; q < ps->end && strchr("0123456789+-.eE", *q) != NULL && *q; q++) {
		if (n == NUMBER_MAX) {
			ps->err = "a number longer than any finite one";
			return -1;
		}
		buf[n++] = *q;
	}
	buf[n] = '\0';
	char *e;
	f->num = strtod(buf, &e);
	if (e == buf) {
		ps->err = "bad number";
		return -1;
	}
	if (!isfinite(f->num)) {
		/* 1e999: the writer writes null for infinities, and no reader can use one */
		ps->err = "a number too large to be finite";
		return -1;
	}
	f->is_int = false;
	ps->p += e - buf;
	return 0;
}

/*
 * Skips a value this reader has no use for (an object, an array of anything
 * but strings): fields of shapes added later must not make a history
 * unreadable. Strings inside are skipped with their escapes.
 */
static int skip_value(struct parser *ps)
{
	int depth = 0;
	while (ps->p < ps->end) {
		char c = *ps->p;
		if (c == '"') {
			ps->p++;
			while (ps->p < ps->end && *ps->p != '"')
				ps->p += *ps->p == '\\' && ps->p + 1 < ps->end ? 2 : 1;
			if (ps->p >= ps->end)
				break;
			ps->p++;
			if (depth == 0)
				return 0;
			continue;
		}
		if (c == '[' || c == '{')
			depth++;
		else if (c == ']' || c == '}') {
			if (--depth < 0)
				break;
			if (depth == 0) {
				ps->p++;
				return 0;
			}
		} else if (depth == 0 && (c == ',' || c == ' ')) {
			return 0; /* a bare number or word: parsed by the caller's rules instead */
		}
		ps->p++;
	}
	ps->err = "unbalanced value";
	return -1;
}

/* Parses one line (without its "\n") into ps->f. */
static int parse_line(struct parser *ps, const char *line, size_t len)
{
	ps->p = line;
	ps->end = line + len;
	ps->nf = 0;
	ps->slen = 0;
	ps->err = NULL;
	skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != '{') {
		ps->err = "not a JSON object";
		return -1;
	}
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		goto tail;
	}
	for (;;) {
		if (ps->nf == FIELDS_MAX) {
			ps->err = "too many fields";
			return -1;
		}
		struct field *f = &ps->f[ps->nf];
		memset(f, 0, sizeof *f);
		skip_ws(ps);
		if (parse_string(ps, &f->key, &f->klen) != 0)
			return -1;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':') {
			ps->err = "expected ':'";
			return -1;
		}
		ps->p++;
		skip_ws(ps);
		if (ps->p >= ps->end) {
			ps->err = "missing value";
			return -1;
		}
		char c = *ps->p;
		if (c == '"') {
			f->kind = J_STR;
			if (parse_string(ps, &f->s, &f->slen) != 0)
				return -1;
		} else if (c == '{') {
			f->kind = J_NULL; /* an object: not ours to read */
			if (skip_value(ps) != 0)
				return -1;
		} else if (c == '[') {
			const char *array_start = ps->p;
			size_t scratch_mark = ps->slen;
			f->kind = J_ARR;
			ps->p++;
			skip_ws(ps);
			f->s = ps->scratch + ps->slen;
			if (ps->p < ps->end && *ps->p == ']') {
				ps->p++;
			} else {
				for (;;) {
					const char *s;
					size_t sl;
					skip_ws(ps);
					if (ps->p < ps->end && *ps->p == 'n' && ps->end - ps->p >= 4 &&
					    memcmp(ps->p, "null", 4) == 0) {
						ps->p += 4;
						if (put(ps, "", 1) != 0)
							return -1;
					} else if (ps->p < ps->end && *ps->p != '"') {
						/* not an array of strings: skipped whole */
						ps->p = array_start;
						ps->slen = scratch_mark;
						f->kind = J_NULL;
						f->slen = 0;
						if (skip_value(ps) != 0)
							return -1;
						break;
					} else if (parse_string(ps, &s, &sl) != 0) {
						return -1;
					}
					f->slen++;
					skip_ws(ps);
					if (ps->p < ps->end && *ps->p == ',') {
						ps->p++;
						continue;
					}
					if (ps->p < ps->end && *ps->p == ']') {
						ps->p++;
						break;
					}
					ps->err = "bad array";
					return -1;
				}
			}
		} else if (c == 't' && ps->end - ps->p >= 4 && memcmp(ps->p, "true", 4) == 0) {
			f->kind = J_BOOL;
			f->b = true;
			ps->p += 4;
		} else if (c == 'f' && ps->end - ps->p >= 5 && memcmp(ps->p, "false", 5) == 0) {
			f->kind = J_BOOL;
			ps->p += 5;
		} else if (c == 'n' && ps->end - ps->p >= 4 && memcmp(ps->p, "null", 4) == 0) {
			f->kind = J_NULL;
			ps->p += 4;
		} else {
			f->kind = J_NUM;
			if (parse_number(ps, f) != 0)
				return -1;
		}
		ps->nf++;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			break;
		}
		ps->err = "expected ',' or '}'";
		return -1;
	}
tail:
	skip_ws(ps); /* a line may be padded with spaces after its '}' */
	if (ps->p != ps->end) {
		ps->err = "text after the object";
		return -1;
	}
	return 0;
}

static const struct field *get(const struct parser *ps, const char *key)
{
	size_t n = strlen(key);
	for (size_t i = 0; i < ps->nf; i++)
		if (ps->f[i].klen == n && memcmp(ps->f[i].key, key, n) == 0)
			return &ps->f[i];
	return NULL;
}

/* ---- typed fields ---- */

struct ctx {
	struct hist *h;
	struct parser *ps;
	size_t lineno;
	char *err;
	size_t errlen;
	bool failed;
};

static void fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct ctx *c, const char *fmt, ...)
{
	if (c->failed)
		return;
	c->failed = true;
	int n = snprintf(c->err, c->errlen, "%s:%zu: ", c->h->path, c->lineno);
	if (n < 0 || (size_t)n >= c->errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Text from the file, fit for a message: at most 40 bytes, control characters as '?'. */
static const char *shown(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (; k < n && k + 4 < cap && k < 40; k++)
		out[k] = (unsigned char)s[k] < 0x20 || s[k] == 0x7f ? '?' : s[k];
	if (k < n)
		for (int i = 0; i < 3 && k + 1 < cap; i++)
			out[k++] = '.';
	out[k] = '\0';
	return out;
}

/*
 * What docs/history.md promises of every line beyond its JSON: a key at most
 * once, and no negative duration in milliseconds (the fields ending in _ms).
 */
static void line_rules(struct ctx *c)
{
	const struct parser *ps = c->ps;
	char k[48];
	for (size_t i = 0; i < ps->nf; i++) {
		const struct field *f = &ps->f[i];
		for (size_t j = 0; j < i; j++)
			if (ps->f[j].klen == f->klen && ps->f[j].key[0] == f->key[0] &&
			    memcmp(ps->f[j].key, f->key, f->klen) == 0) {
				fail(c, "key '%s' appears twice (a key appears at most once in a line)",
				     shown(f->key, f->klen, k, sizeof k));
				return;
			}
		if (f->kind == J_NUM && f->num < 0 && f->klen > 3 &&
		    memcmp(f->key + f->klen - 3, "_ms", 3) == 0) {
			fail(c, "'%s' is negative (%g): a duration is never negative",
			     shown(f->key, f->klen, k, sizeof k), f->num);
			return;
		}
	}
}

/* An interned string field; HIST_NONE when absent or null; wrong type: an error. */
static uint32_t f_str(struct ctx *c, const char *key)
{
	const struct field *f = get(c->ps, key);
	if (!f || f->kind == J_NULL)
		return HIST_NONE;
	if (f->kind != J_STR) {
		fail(c, "'%s' must be a string", key);
		return HIST_NONE;
	}
	uint32_t id = intern(c->h, f->s, f->slen);
	if (id == HIST_NONE)
		fail(c, "out of memory");
	return id;
}

static double f_num(struct ctx *c, const char *key, double def)
{
	const struct field *f = get(c->ps, key);
	if (!f || f->kind == J_NULL)
		return def;
	if (f->kind != J_NUM) {
		fail(c, "'%s' must be a number", key);
		return def;
	}
	return f->num;
}

static uint64_t f_uint(struct ctx *c, const char *key, uint64_t def)
{
	const struct field *f = get(c->ps, key);
	if (!f || f->kind == J_NULL)
		return def;
	if (f->kind != J_NUM || !f->is_int) {
		fail(c, "'%s' must be a whole number", key);
		return def;
	}
	return f->u;
}

/* A whole number that fits 32 bits (fault ids, serials); def when absent. */
static uint32_t f_u32(struct ctx *c, const char *key, uint32_t def)
{
	uint64_t v = f_uint(c, key, def);
	if (v > UINT32_MAX) {
		fail(c, "'%s' is larger than 32 bits", key);
		return def;
	}
	return (uint32_t)v;
}

static bool f_bool(struct ctx *c, const char *key)
{
	const struct field *f = get(c->ps, key);
	if (!f || f->kind == J_NULL)
		return false;
	if (f->kind != J_BOOL) {
		fail(c, "'%s' must be true or false", key);
		return false;
	}
	return f->b;
}

static bool is(const struct field *f, const char *s)
{
	return f && f->kind == J_STR && strcmp(f->s, s) == 0;
}

static uint8_t f_cause(struct ctx *c)
{
	const struct field *f = get(c->ps, "cause");
	if (is(f, "first"))
		return HIST_CAUSE_FIRST;
	if (is(f, "pair"))
		return HIST_CAUSE_PAIR;
	if (is(f, "search"))
		return HIST_CAUSE_SEARCH;
	if (is(f, "retry"))
		return HIST_CAUSE_RETRY;
	return HIST_CAUSE_NONE;
}

static const char *const type_names[HIST_TYPES] = {
        "meta", "fault",         "publish", "boot", "query",  "state",   "log",
        "end",  "route",         "health",  "gate", "lookup", "version", "stall",
        "vip",  "backend_stats", "control", "lost", "other",
};

const char *hist_type_name(enum hist_type t)
{
	return (unsigned)t < HIST_TYPES ? type_names[t] : "?";
}

static enum hist_type type_of(const struct field *f)
{
	for (int i = 0; i < HIST_OTHER; i++)
		if (strcmp(f->s, type_names[i]) == 0)
			return (enum hist_type)i;
	return HIST_OTHER;
}

/* ---- lookups by id ---- */

static int lk_index_put(struct hist *h, uint64_t id, uint32_t idx)
{
	if ((h->lookups.n + 1) * 2 > h->lk_cap) {
		size_t cap = h->lk_cap ? 2 * h->lk_cap : 1024;
		uint64_t *ids = calloc(cap, sizeof *ids);
		uint32_t *ix = calloc(cap, sizeof *ix);
		if (!ids || !ix) {
			free(ids);
			free(ix);
			return -1;
		}
		for (size_t i = 0; i < h->lk_cap; i++)
			if (h->lk_idx[i]) {
				size_t j = (h->lk_ids[i] * 0x9e3779b97f4a7c15ULL) & (cap - 1);
				while (ix[j])
					j = (j + 1) & (cap - 1);
				ids[j] = h->lk_ids[i];
				ix[j] = h->lk_idx[i];
			}
		free(h->lk_ids);
		free(h->lk_idx);
		h->lk_ids = ids;
		h->lk_idx = ix;
		h->lk_cap = cap;
	}
	size_t mask = h->lk_cap - 1;
	size_t j = (id * 0x9e3779b97f4a7c15ULL) & mask;
	while (h->lk_idx[j]) {
		if (h->lk_ids[j] == id)
			return 1; /* already there */
		j = (j + 1) & mask;
	}
	h->lk_ids[j] = id;
	h->lk_idx[j] = idx + 1;
	return 0;
}

static long lk_index_get(const struct hist *h, uint64_t id)
{
	if (!h->lk_cap)
		return -1;
	size_t mask = h->lk_cap - 1;
	for (size_t j = (id * 0x9e3779b97f4a7c15ULL) & mask; h->lk_idx[j]; j = (j + 1) & mask)
		if (h->lk_ids[j] == id)
			return (long)h->lk_idx[j] - 1;
	return -1;
}

const struct hist_lookup *hist_lookup_by_id(const struct hist *h, uint64_t id)
{
	long i = lk_index_get(h, id);
	return i < 0 ? NULL : (const struct hist_lookup *)h->lookups.p + i;
}

bool hist_action_is_relay(const char *action)
{
	return action &&
	       (strcmp(action, "refused-icmp") == 0 || strcmp(action, "refused-noicmp") == 0);
}

void hist_set_stale_possible(struct hist *h, const struct hist_lookup *l, bool yes)
{
	struct hist_lookup *ls = h->lookups.p;
	if (l >= ls && l < ls + h->lookups.n)
		ls[l - ls].stale_possible = yes ? HIST_SP_YES : HIST_SP_NO;
}

/* ---- one line into the arrays ---- */

/* An address as the history writes it (inet_ntop); false if it is not one. */
static bool parse_addr(const char *s, struct hist_addr *out)
{
	memset(out, 0, sizeof *out);
	out->family = strchr(s, ':') ? AF_INET6 : AF_INET;
	return inet_pton(out->family, s, out->a) == 1;
}

/* A completion's answers (kept for re-deriving its class) and its stale_records. */
static void take_answers(struct ctx *c, struct hist_lookup *l)
{
	struct hist *h = c->h;
	const struct field *an = get(c->ps, "answers");
	l->addr_first = (uint32_t)h->addrs.n;
	if (an && an->kind == J_ARR) {
		if (an->slen > UINT16_MAX) {
			fail(c, "%zu answers: more than a lookup has (a stack returns a few dozen)",
			     an->slen);
			return;
		}
		const char *s = an->s;
		for (size_t i = 0; i < an->slen; i++, s += strlen(s) + 1) {
			struct hist_addr *a = vec_push(&h->addrs);
			if (!a) {
				fail(c, "out of memory");
				return;
			}
			if (!parse_addr(s, a)) {
				fail(c, "answers: '%s' is not an address", s);
				return;
			}
			l->naddrs++;
		}
	}
	const struct field *st = get(c->ps, "stale_records");
	if (!st || st->kind != J_ARR)
		return;
	const struct hist_addr *got = (const struct hist_addr *)h->addrs.p + l->addr_first;
	const char *s = st->s;
	for (size_t i = 0; i < st->slen; i++, s += strlen(s) + 1) {
		struct hist_addr a;
		size_t k = 0;
		if (parse_addr(s, &a))
			for (; k < l->naddrs; k++)
				if (got[k].family == a.family && memcmp(got[k].a, a.a, 16) == 0)
					break;
		if (k < l->naddrs && k < 64)
			l->stale |= 1ULL << k;
		else
			l->stale_unknown = true;
	}
}

/* Hex digits into a digest; false if s is not 64 of them. */
static bool parse_digest(const char *s, size_t len, uint8_t out[HIST_DIGEST_LEN])
{
	if (len != 2 * HIST_DIGEST_LEN)
		return false;
	for (size_t i = 0; i < HIST_DIGEST_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* The version line of a digest (hex text) for zone, or HIST_NO_VERSION; an error if none. */
static uint32_t version_of(struct ctx *c, const char *hex, size_t len, uint32_t zone)
{
	uint8_t d[HIST_DIGEST_LEN];
	if (!parse_digest(hex, len, d)) {
		fail(c, "'%s' is not a digest (64 hex digits)", hex);
		return HIST_NO_VERSION;
	}
	const struct hist_version *vs = c->h->versions.p;
	for (size_t i = c->h->versions.n; i-- > 0;)
		if (memcmp(vs[i].digest, d, sizeof d) == 0 && vs[i].zone == zone)
			return (uint32_t)i;
	fail(c, "digest %.12s... names no version line of that zone before this line", hex);
	return HIST_NO_VERSION;
}

static void take_version(struct ctx *c, double t)
{
	struct hist *h = c->h;
	const struct field *d = get(c->ps, "digest"), *k = get(c->ps, "known");
	struct hist_version *v = vec_push(&h->versions);
	if (!v) {
		fail(c, "out of memory");
		return;
	}
	v->t = t;
	v->zone = f_str(c, "zone");
	v->serial = f_u32(c, "serial", 0);
	v->file = f_str(c, "file");
	v->line = (uint32_t)c->lineno;
	v->known = is(k, "disk") ? HIST_KNOWN_DISK
		   : is(k, "transfer") ? HIST_KNOWN_TRANSFER
				       : HIST_KNOWN_PUBLISHED;
	if (v->zone == HIST_NONE || !d || d->kind != J_STR || !parse_digest(d->s, d->slen, v->digest))
		fail(c, "a version line needs 'zone' and 'digest' (64 hex digits)");
}

static void take_lookup(struct ctx *c, double t)
{
	struct hist *h = c->h;
	const struct field *ev = get(c->ps, "event");
	uint64_t id = f_uint(c, "id", 0);
	if (!ev || ev->kind != J_STR || id == 0) {
		fail(c, "a lookup line needs 'event' and 'id'");
		return;
	}
	if (strcmp(ev->s, "invoke") == 0) {
		struct hist_lookup *l = vec_push(&h->lookups);
		if (!l) {
			fail(c, "out of memory");
			return;
		}
		l->t_invoke = t;
		l->t_done = -1;
		l->id = id;
		l->client = f_str(c, "client");
		l->stack = f_str(c, "stack");
		l->name = f_str(c, "name");
		l->target = f_str(c, "target");
		l->reason = l->error = HIST_NONE;
		l->event = HIST_LK_INVOKE;
		const struct field *fam = get(c->ps, "family");
		if (!fam)
			fam = get(c->ps, "qtype");
		l->want = is(fam, "A") ? 1 : is(fam, "AAAA") ? 2 : is(fam, "both") ? 3 : 0;
		l->line = (uint32_t)c->lineno;
		int rc = lk_index_put(h, id, (uint32_t)(h->lookups.n - 1));
		if (rc < 0)
			fail(c, "out of memory");
		else if (rc > 0)
			fail(c, "lookup %llu is invoked twice", (unsigned long long)id);
		return;
	}
	long i = lk_index_get(h, id);
	if (i < 0) {
		fail(c, "lookup %llu completes but was never invoked", (unsigned long long)id);
		return;
	}
	struct hist_lookup *l = (struct hist_lookup *)h->lookups.p + i;
	if (l->event != HIST_LK_INVOKE) {
		fail(c, "lookup %llu completes twice", (unsigned long long)id);
		return;
	}
	if (strcmp(ev->s, "ok") == 0)
		l->event = HIST_LK_OK;
	else if (strcmp(ev->s, "fail") == 0)
		l->event = HIST_LK_FAIL;
	else if (strcmp(ev->s, "timeout") == 0)
		l->event = HIST_LK_TIMEOUT;
	else if (strcmp(ev->s, "cancelled") == 0)
		l->event = HIST_LK_CANCELLED;
	else {
		fail(c, "unknown lookup event '%s'", ev->s);
		return;
	}
	l->t_done = t;
	l->line_done = (uint32_t)c->lineno;
	l->latency_ms = f_num(c, "latency_ms", (t - l->t_invoke) * 1000);
	l->reason = f_str(c, "reason");
	l->error = f_str(c, "error");
	l->wire = (uint32_t)f_uint(c, "wire", 0);
	l->serial = f_u32(c, "serial", 0);
	l->grace = f_bool(c, "grace");
	const struct field *cl = get(c->ps, "class");
	l->cls = is(cl, "fresh") ? HIST_CLASS_FRESH
		 : is(cl, "stale") ? HIST_CLASS_STALE
		 : is(cl, "wrong") ? HIST_CLASS_WRONG
				   : HIST_CLASS_NONE;
	take_answers(c, l);
}

static void take_boot(struct ctx *c, double t, struct hist_boot *b)
{
	for (size_t i = 0; i < 4; i++)
		b->version[i] = HIST_NO_VERSION;
	b->t = t;
	b->resolver = f_str(c, "resolver");
	b->ok = f_bool(c, "ok");
	b->reload = f_bool(c, "reload");
	const struct field *z = get(c->ps, "zones");
	if (!z || z->kind != J_ARR)
		return;
	const char *s = z->s;
	for (size_t i = 0; i < z->slen; i++) {
		size_t len = strlen(s);
		const char *sp = strrchr(s, ' ');
		if (sp && b->nzones < 4) {
			b->zone[b->nzones] = intern(c->h, s, (size_t)(sp - s));
			if (b->zone[b->nzones] == HIST_NONE) {
				fail(c, "out of memory");
				return;
			}
			b->serial[b->nzones] = (uint32_t)strtoul(sp + 1, NULL, 10);
			b->nzones++;
		}
		s += len + 1;
	}
	const struct field *d = get(c->ps, "digests");
	if (!d || d->kind != J_ARR)
		return;
	s = d->s;
	for (size_t i = 0; i < d->slen && i < b->nzones; i++, s += strlen(s) + 1)
		if (*s)
			b->version[i] = version_of(c, s, strlen(s), b->zone[i]);
}

/*
 * When what boot b (just read, the last of h's boots) loaded began to be
 * served: from the resolver's last state line if that is the "up" of this
 * start (no boot of it since); a reload's from its own time. Read at its own
 * time, a resolver back from a stale copy would look well for the few
 * microseconds between the two lines (docs/checks.md).
 */
static double boot_from(const struct hist *h, const struct hist_boot *b)
{
	const struct hist_state *ss = h->states.p;
	const struct hist_boot *bs = h->boots.p;
	if (b->reload)
		return b->t;
	size_t i = h->states.n;
	while (i > 0 && ss[i - 1].resolver != b->resolver)
		i--;
	const char *state = i ? hist_str(h, ss[i - 1].state) : NULL;
	if (!state || strcmp(state, "up") != 0)
		return b->t;
	for (size_t k = h->boots.n - 1; k-- > 0;)
		if (bs[k].resolver == b->resolver)
			return bs[k].line < ss[i - 1].line ? fmin(ss[i - 1].t, b->t) : b->t;
	return fmin(ss[i - 1].t, b->t);
}

static void take_meta(struct ctx *c)
{
	struct hist *h = c->h;
	h->meta_scenario = f_str(c, "scenario");
	h->meta_name = f_str(c, "name");
	h->meta_dnschaos = f_str(c, "dnschaos");
	h->meta.seed = f_uint(c, "seed", 0);
	h->meta.duration = f_num(c, "duration", 0);
	for (size_t i = 0; i < META_LIBS; i++)
		h->meta_lib[i] = f_str(c, meta_libs[i]);
	if (f_uint(c, "schema", 0) != 1)
		fail(c, "not a history of schema 1 (this dnschaos reads schema 1)");
}

static void take(struct ctx *c, enum hist_type type, double t)
{
	struct hist *h = c->h;
	switch (type) {
	case HIST_LOOKUP:
		take_lookup(c, t);
		return;
	case HIST_QUERY: {
		struct hist_query *q = vec_push(&h->queries);
		if (!q)
			break;
		q->t = t;
		q->resolver = f_str(c, "resolver");
		q->action = f_str(c, "action");
		q->rcode = f_str(c, "rcode");
		q->fault = f_u32(c, "fault", 0);
		q->delay_fault = f_u32(c, "delay_fault", 0);
		q->lookup = f_uint(c, "lookup", 0);
		q->client = f_str(c, "client");
		q->src = f_str(c, "src");
		q->cause = f_cause(c);
		q->gate = f_bool(c, "gate");
		q->ambiguous = is(get(c->ps, "join"), "ambiguous");
		q->line = (uint32_t)c->lineno;
		return;
	}
	case HIST_ROUTE: {
		struct hist_route *r = vec_push(&h->routes);
		if (!r)
			break;
		r->t = t;
		r->vip = f_str(c, "vip");
		r->backend = f_str(c, "backend");
		r->action = f_str(c, "action");
		r->new_flow = is(get(c->ps, "flow"), "new");
		r->relay = hist_action_is_relay(hist_str(h, r->action));
		r->tcp = is(get(c->ps, "transport"), "tcp");
		r->lookup = f_uint(c, "lookup", 0);
		r->for_lookup = f_uint(c, "for_lookup", 0);
		r->client = f_str(c, "client");
		r->cause = f_cause(c);
		r->ambiguous = is(get(c->ps, "join"), "ambiguous");
		r->line = (uint32_t)c->lineno;
		return;
	}
	case HIST_BACKEND_STATS: {
		struct hist_bstat *x = vec_push(&h->bstats);
		if (!x)
			break;
		x->t = t;
		x->vip = f_str(c, "vip");
		x->backend = f_str(c, "backend");
		x->queries = f_uint(c, "queries", 0);
		x->new_queries = f_uint(c, "new_queries", 0);
		x->responses = f_uint(c, "responses", 0);
		x->drops = f_uint(c, "drops", 0);
		x->line = (uint32_t)c->lineno;
		return;
	}
	case HIST_HEALTH: {
		struct hist_health *x = vec_push(&h->healths);
		if (!x)
			break;
		const struct field *ev = get(c->ps, "event");
		x->t = t;
		x->vip = f_str(c, "vip");
		x->backend = f_str(c, "backend");
		x->event = is(ev, "up") ? HIST_H_UP
			   : is(ev, "down") ? HIST_H_DOWN
			   : is(ev, "removed") ? HIST_H_REMOVED
			   : is(ev, "member") ? HIST_H_MEMBER
			   : is(ev, "probe")  ? HIST_H_PROBE
					      : HIST_H_OTHER;
		x->ok = f_bool(c, "ok");
		x->serial = get(c->ps, "serial") ? (int64_t)f_uint(c, "serial", 0) : -1;
		x->reason = f_str(c, "reason");
		x->line = (uint32_t)c->lineno;
		return;
	}
	case HIST_FAULT: {
		struct hist_fault *f = vec_push(&h->faults);
		if (!f)
			break;
		f->t = t;
		f->target = f_str(c, "target");
		f->kind = f_str(c, "fault");
		f->id = f_u32(c, "id", 0);
		if (f->id == 0)
			fail(c, "a fault line needs its 'id' (a whole number > 0)");
		f->inject = is(get(c->ps, "action"), "inject");
		f->duration = f_num(c, "duration", 0);
		f->qps = f_num(c, "qps", 0);
		f->down = f_num(c, "down", 0);
		f->manual = f_bool(c, "manual");
		f->line = (uint32_t)c->lineno;
		return;
	}
	case HIST_PUBLISH: {
		struct hist_publish *p = vec_push(&h->publishes);
		if (!p)
			break;
		p->t = t;
		p->source = f_str(c, "source");
		p->zone = f_str(c, "zone");
		p->serial = f_u32(c, "serial", 0);
		p->initial = f_bool(c, "initial");
		p->manual = f_bool(c, "manual");
		p->file = f_str(c, "file");
		p->line = (uint32_t)c->lineno;
		const struct field *d = get(c->ps, "digest");
		p->version = d && d->kind == J_STR ? version_of(c, d->s, d->slen, p->zone)
						   : HIST_NO_VERSION;
		return;
	}
	case HIST_VERSION:
		take_version(c, t);
		return;
	case HIST_BOOT: {
		struct hist_boot *b = vec_push(&h->boots);
		if (!b)
			break;
		take_boot(c, t, b);
		b->line = (uint32_t)c->lineno;
		b->from = boot_from(h, b);
		return;
	}
	case HIST_GATE: {
		struct hist_gate *g = vec_push(&h->gates);
		if (!g)
			break;
		g->t = t;
		g->resolver = f_str(c, "resolver");
		g->gated = f_bool(c, "gated");
		g->line = (uint32_t)c->lineno;
		return;
	}
	case HIST_VIP: {
		struct hist_vip *v = vec_push(&h->vips);
		if (!v)
			break;
		v->t = t;
		v->vip = f_str(c, "vip");
		v->kernel = is(get(c->ps, "kind"), "nftables");
		v->flow_idle = f_num(c, "flow_idle", 30);
		v->dnsdist = is(get(c->ps, "kind"), "dnsdist");
		v->poll_s = v->dnsdist ? f_num(c, "poll_ms", 100) / 1000 : 0;
		v->checks = v->dnsdist && f_bool(c, "checks");
		if (!(v->poll_s >= 0 && v->poll_s <= 3600))
			fail(c, "poll_ms must be between 0 and 3600000");
		v->line = (uint32_t)c->lineno;
		const struct field *b = get(c->ps, "backends");
		if (!b || b->kind != J_ARR)
			return;
		const char *s = b->s;
		for (size_t i = 0; i < b->slen && v->nbackends < 16; i++) {
			size_t len = strlen(s);
			v->backend[v->nbackends] = intern(c->h, s, len);
			if (v->backend[v->nbackends] == HIST_NONE) {
				fail(c, "out of memory");
				return;
			}
			v->nbackends++;
			s += len + 1;
		}
		const struct field *m = get(c->ps, "in_map");
		if (!m || m->kind != J_ARR)
			return;
		v->in_map_known = true;
		s = m->s;
		for (size_t i = 0; i < m->slen; i++) {
			size_t len = strlen(s);
			uint32_t name = intern(c->h, s, len);
			if (name == HIST_NONE) {
				fail(c, "out of memory");
				return;
			}
			for (uint8_t k = 0; k < v->nbackends; k++)
				if (v->backend[k] == name)
					v->in_map |= (uint16_t)(1u << k);
			s += len + 1;
		}
		return;
	}
	case HIST_CONTROL: {
		struct hist_control *x = vec_push(&h->controls);
		if (!x)
			break;
		x->t = t;
		x->command = f_str(c, "command");
		x->ok = f_bool(c, "ok");
		x->error = f_str(c, "error");
		x->line = (uint32_t)c->lineno;
		return;
	}
	case HIST_LOST: {
		struct hist_lost *x = vec_push(&h->losts);
		if (!x)
			break;
		x->t = t;
		x->target = f_str(c, "target");
		x->queries = f_uint(c, "queries", 0);
		x->from = f_num(c, "from", 0);
		x->to = f_num(c, "to", t);
		x->line = (uint32_t)c->lineno;
		return;
	}
	case HIST_STALL: {
		struct hist_stall *st = vec_push(&h->stalls);
		if (!st)
			break;
		st->t = t;
		st->from = f_num(c, "from", t);
		st->held_ms = f_num(c, "held_ms", 0);
		st->line = (uint32_t)c->lineno;
		return;
	}
	case HIST_STATE: {
		struct hist_state *s = vec_push(&h->states);
		if (!s)
			break;
		s->t = t;
		s->resolver = get(c->ps, "resolver") ? f_str(c, "resolver") : f_str(c, "source");
		s->state = f_str(c, "state");
		s->line = (uint32_t)c->lineno;
		return;
	}
	case HIST_END:
		h->has_end = true;
		h->end_reason = f_str(c, "reason");
		h->end_error = f_str(c, "error");
		return;
	case HIST_META:
		if (c->lineno != 1)
			fail(c, "a meta line after the first line");
		else
			take_meta(c);
		return;
	default:
		return;
	}
	fail(c, "out of memory");
}

static void init_vecs(struct hist *h)
{
	h->lines.size = sizeof(struct line_ref);
	h->lookups.size = sizeof(struct hist_lookup);
	h->queries.size = sizeof(struct hist_query);
	h->routes.size = sizeof(struct hist_route);
	h->healths.size = sizeof(struct hist_health);
	h->faults.size = sizeof(struct hist_fault);
	h->publishes.size = sizeof(struct hist_publish);
	h->boots.size = sizeof(struct hist_boot);
	h->gates.size = sizeof(struct hist_gate);
	h->states.size = sizeof(struct hist_state);
	h->versions.size = sizeof(struct hist_version);
	h->addrs.size = sizeof(struct hist_addr);
	h->stalls.size = sizeof(struct hist_stall);
	h->controls.size = sizeof(struct hist_control);
	h->losts.size = sizeof(struct hist_lost);
	h->vips.size = sizeof(struct hist_vip);
	h->bstats.size = sizeof(struct hist_bstat);
}

static int parse_all(struct hist *h, char *err, size_t errlen)
{
	struct parser ps = {0};
	struct ctx c = { h, &ps, 0, err, errlen, false };
	/* Strings are decoded into scratch, never longer than their line. */
	ps.scap = h->longest + 16;
	ps.scratch = malloc(ps.scap);
	if (!ps.scratch) {
		snprintf(err, errlen, "%s: out of memory", h->path);
		return -1;
	}
	double last = 0;
	size_t end_line = 0;
	for (const char *p = h->buf, *end = h->buf + h->size; p < end && !c.failed;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break; /* a cut last line (a killed run): dropped */
		c.lineno++;
		if (c.lineno > UINT32_MAX) {
			fail(&c, "more lines than this reader counts (%u)", UINT32_MAX);
			break;
		}
		if (end_line) {
			fail(&c, "a line after the end line (line %zu): the end line is the last",
			     end_line);
			break;
		}
		size_t len = (size_t)(nl - p);
		if (parse_line(&ps, p, len) != 0) {
			fail(&c, "not a history line: %s", ps.err);
			break;
		}
		line_rules(&c);
		if (c.failed)
			break;
		const struct field *tf = get(&ps, "t"), *ty = get(&ps, "type");
		if (!tf || tf->kind != J_NUM || !ty || ty->kind != J_STR) {
			fail(&c, "every line needs a number 't' and a string 'type'");
			break;
		}
		if (tf->num < last - 1e-9) {
			/* six decimals, as written; more when they would show no difference */
			int d = fabs(tf->num - last) < 5e-7 ? 12 : 6;
			fail(&c, "t goes backwards (%.*f after %.*f)", d, tf->num, d, last);
			break;
		}
		if (tf->num > last)
			last = tf->num; /* the tolerance above is not a slope: t cannot drift down */
		enum hist_type type = type_of(ty);
		if (c.lineno == 1 && type != HIST_META) {
			fail(&c, "not a dnschaos history: the first line is not a meta line");
			break;
		}
		if (type == HIST_END)
			end_line = c.lineno;
		struct line_ref *lr = vec_push(&h->lines);
		if (!lr) {
			fail(&c, "out of memory");
			break;
		}
		lr->off = (size_t)(p - h->buf);
		lr->len = (uint32_t)len;
		lr->type = (uint8_t)type;
		take(&c, type, tf->num);
		p = nl + 1;
	}
	free(ps.scratch);
	if (!c.failed && c.lineno == 0)
		snprintf(err, errlen, "%s: empty: not a dnschaos history", h->path);
	h->last_t = last;
	return c.failed || c.lineno == 0 ? -1 : 0;
}

/*
 * Reads the open file into h->buf: at most limit bytes (its size when it was
 * opened: what a live run appends meanwhile is not read, and a cut last line
 * is dropped as any), a chunk at a time, and refuses a line longer than
 * HIST_LINE_MAX as soon as it has read that much of it, so a huge line costs
 * no more than the cap. Notes the longest line. Returns 0 or -1 with err set.
 */
static int read_file(struct hist *h, int fd, size_t limit, char *err, size_t errlen)
{
	size_t cap = limit < READ_CHUNK ? limit : READ_CHUNK;
	size_t start = 0, lineno = 1; /* where the line being read starts, its number */
	h->buf = malloc(cap + 1);     /* + 1: never a NULL buffer, even for an empty file */
	if (!h->buf)
		goto oom;
	while (h->size < limit) {
		if (h->size == cap) {
			size_t ncap = cap > limit / 2 ? limit : 2 * cap;
			char *nb = realloc(h->buf, ncap + 1);
			if (!nb)
				goto oom;
			h->buf = nb;
			cap = ncap;
		}
		size_t want = cap - h->size < READ_CHUNK ? cap - h->size : READ_CHUNK;
		ssize_t r = read(fd, h->buf + h->size, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", h->path, strerror(errno));
			return -1;
		}
		if (r == 0)
			break; /* the file shrank since it was opened */
		const char *p = h->buf + h->size, *end = p + r;
		h->size += (size_t)r;
		for (const char *nl; (nl = memchr(p, '\n', (size_t)(end - p))) != NULL; p = nl + 1) {
			size_t len = (size_t)(nl - h->buf) - start;
			if (len > HIST_LINE_MAX)
				break;
			if (len > h->longest)
				h->longest = len;
			start = (size_t)(nl - h->buf) + 1;
			lineno++;
		}
		if (h->size - start > HIST_LINE_MAX) {
			snprintf(err, errlen,
				 "%s:%zu: a line longer than %d MiB: no history holds one (the longest "
				 "line dnschaos writes is %d MiB)",
				 h->path, lineno, HIST_LINE_MAX >> 20, HISTORY_LINE_MAX >> 20);
			return -1;
		}
	}
	return 0; /* a cut last line (after start) is dropped: not parsed, not counted */
oom:
	snprintf(err, errlen, "%s: out of memory", h->path);
	return -1;
}

struct hist *hist_load(const char *path, char *err, size_t errlen)
{
	struct hist *h = calloc(1, sizeof *h);
	int fd = -1, fl;
	struct stat st;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(h->path, sizeof h->path, "%s", path);
	init_vecs(h);
	h->end_reason = h->end_error = HIST_NONE;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (a history is a file, not a %s)", path,
			 S_ISDIR(st.st_mode)	? "directory"
			 : S_ISFIFO(st.st_mode) ? "FIFO"
			 : S_ISSOCK(st.st_mode) ? "socket"
						: "device");
		goto fail;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	/* Read, not mapped: a file cut short while we read cannot fault us. */
	if ((uintmax_t)st.st_size > SIZE_MAX - 1) {
		snprintf(err, errlen, "%s: too large to read", path);
		goto fail;
	}
	if (read_file(h, fd, (size_t)st.st_size, err, errlen) != 0)
		goto fail;
	close(fd);
	fd = -1;
	if (parse_all(h, err, errlen) != 0)
		goto fail;
	struct hist_meta *m = &h->meta;
	m->scenario = hist_str(h, h->meta_scenario);
	m->name = hist_str(h, h->meta_name);
	m->dnschaos = hist_str(h, h->meta_dnschaos);
	for (size_t i = 0; i < META_LIBS; i++) {
		const char *v = hist_str(h, h->meta_lib[i]);
		if (v) {
			m->versions[m->nversions][0] = meta_libs[i];
			m->versions[m->nversions][1] = v;
			m->nversions++;
		}
	}
	return h;
fail:
	if (fd >= 0)
		close(fd);
	hist_free(h);
	return NULL;
}

void hist_free(struct hist *h)
{
	if (!h)
		return;
	free(h->buf);
	struct vec *vs[] = {&h->lines,    &h->lookups,   &h->queries, &h->routes, &h->healths,
	                    &h->faults,   &h->publishes, &h->boots,   &h->gates,  &h->states,
	                    &h->versions, &h->addrs,     &h->stalls,  &h->vips,   &h->bstats,
	                    &h->controls, &h->losts};
	for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
		free(vs[i]->p);
	free(h->lk_ids);
	free(h->lk_idx);
	free(h->arena);
	free(h->str_off);
	free(h->str_len);
	free(h->table);
	free(h);
}

const struct hist_meta *hist_meta(const struct hist *h)
{
	return &h->meta;
}

const char *hist_end_reason(const struct hist *h)
{
	return h->has_end ? hist_str(h, h->end_reason) : NULL;
}

const char *hist_end_error(const struct hist *h)
{
	return h->has_end ? hist_str(h, h->end_error) : NULL;
}

double hist_last_t(const struct hist *h)
{
	return h->last_t;
}

#define ARRAY_GETTER(fn, type, field)                                  \
	const type *fn(const struct hist *h, size_t *n)                \
	{                                                              \
		*n = h->field.n;                                       \
		return h->field.p;                                     \
	}
ARRAY_GETTER(hist_lookups, struct hist_lookup, lookups)
ARRAY_GETTER(hist_queries, struct hist_query, queries)
ARRAY_GETTER(hist_routes, struct hist_route, routes)
ARRAY_GETTER(hist_healths, struct hist_health, healths)
ARRAY_GETTER(hist_vips, struct hist_vip, vips)
ARRAY_GETTER(hist_backend_stats, struct hist_bstat, bstats)

bool hist_dnsdist_checks(const struct hist *h, uint32_t vip, uint32_t backend)
{
	size_t nv, nb, nh;
	const struct hist_vip *v = hist_vips(h, &nv);
	const struct hist_bstat *b = hist_backend_stats(h, &nb);
	const struct hist_health *x = hist_healths(h, &nh);
	for (size_t i = 0; i < nv; i++) {
		if (!v[i].dnsdist || !v[i].checks || (vip != HIST_NONE && v[i].vip != vip))
			continue;
		for (size_t k = 0; k < nb; k++)
			if (b[k].vip == v[i].vip && b[k].backend == backend)
				return true;
		for (size_t k = 0; k < nh; k++)
			if (x[k].vip == v[i].vip && x[k].backend == backend)
				return true;
	}
	return false;
}

bool hist_vip_dnsdist(const struct hist *h, uint32_t vip, double *poll_s)
{
	size_t n;
	const struct hist_vip *v = hist_vips(h, &n);
	for (size_t i = 0; vip != HIST_NONE && i < n; i++)
		if (v[i].vip == vip && v[i].dnsdist) {
			if (poll_s)
				*poll_s = v[i].poll_s;
			return true;
		}
	return false;
}
ARRAY_GETTER(hist_faults, struct hist_fault, faults)
ARRAY_GETTER(hist_publishes, struct hist_publish, publishes)
ARRAY_GETTER(hist_boots, struct hist_boot, boots)
ARRAY_GETTER(hist_gates, struct hist_gate, gates)
ARRAY_GETTER(hist_stalls, struct hist_stall, stalls)
ARRAY_GETTER(hist_losts, struct hist_lost, losts)
ARRAY_GETTER(hist_controls, struct hist_control, controls)
ARRAY_GETTER(hist_states, struct hist_state, states)
ARRAY_GETTER(hist_versions, struct hist_version, versions)

const struct hist_vip *hist_kernel_vip(const struct hist *h, uint32_t vip)
{
	const struct hist_vip *v = h->vips.p;
	for (size_t i = 0; vip != HIST_NONE && i < h->vips.n; i++)
		if (v[i].vip == vip && v[i].kernel)
			return &v[i];
	return NULL;
}

const struct hist_addr *hist_lookup_addrs(const struct hist *h, const struct hist_lookup *l,
					  size_t *n)
{
	*n = l->naddrs;
	/* none: no pointer arithmetic on an array that may not exist (NULL + 0) */
	return l->naddrs ? (const struct hist_addr *)h->addrs.p + l->addr_first : NULL;
}

int hist_serves_unpublished(const struct hist *h, uint32_t resolver, double t)
{
	const struct hist_boot *bs = h->boots.p, *b = NULL;
	const struct hist_publish *ps = h->publishes.p;
	for (size_t i = 0; i < h->boots.n && bs[i].from <= t; i++)
		if (bs[i].resolver == resolver)
			b = &bs[i];
	if (!b)
		return 0;
	int rc = 0;
	for (uint32_t z = 0; z < b->nzones && z < 4; z++) {
		const struct hist_publish *p = NULL;
		for (size_t i = 0; i < h->publishes.n && ps[i].t <= t; i++)
			if (ps[i].zone == b->zone[z])
				p = &ps[i];
		if (!p)
			continue; /* no source publishes this zone */
		if (p->version == HIST_NO_VERSION || b->version[z] == HIST_NO_VERSION)
			rc = -1;
		else if (p->version != b->version[z])
			return 1;
	}
	return rc;
}

size_t hist_line_count(const struct hist *h)
{
	return h->lines.n;
}

enum hist_type hist_line_type(const struct hist *h, size_t i)
{
	return i < h->lines.n ? (enum hist_type)((const struct line_ref *)h->lines.p)[i].type
			      : HIST_OTHER;
}

const char *hist_line(const struct hist *h, size_t i, size_t *len)
{
	if (i >= h->lines.n)
		return NULL;
	const struct line_ref *lr = (const struct line_ref *)h->lines.p + i;
	*len = lr->len;
	return h->buf + lr->off;
}

/* Calls fn for each field ps holds (after a parse_line that returned 0). */
static void fields_out(const struct parser *ps, hist_field_fn fn, void *arg)
{
	static const enum hist_value kinds[] = { HIST_V_STRING, HIST_V_NUMBER, HIST_V_BOOL,
						 HIST_V_NULL, HIST_V_ARRAY };
	for (size_t k = 0; k < ps->nf; k++) {
		const struct field *f = &ps->f[k];
		struct hist_field hf = { f->key, f->klen, kinds[f->kind], f->s, f->slen, f->num, f->b };
		fn(arg, &hf);
	}
}

struct hist_line_parser {
	struct parser ps;
};

struct hist_line_parser *hist_line_parser_new(void)
{
	return calloc(1, sizeof(struct hist_line_parser));
}

void hist_line_parser_free(struct hist_line_parser *p)
{
	if (!p)
		return;
	free(p->ps.scratch);
	free(p);
}

int hist_line_parse(struct hist_line_parser *p, const char *line, size_t len, hist_field_fn fn,
		    void *arg, const char **why)
{
	struct parser *ps = &p->ps;
	if (len > 0 && line[len - 1] == '\n')
		len--;
	/* Strings are decoded into scratch, never longer than their line. */
	if (ps->scap < len + 16) {
		char *s = realloc(ps->scratch, len + 16);
		if (!s) {
			*why = "out of memory";
			return -1;
		}
		ps->scratch = s;
		ps->scap = len + 16;
	}
	if (parse_line(ps, line, len) != 0) {
		*why = ps->err;
		return -1;
	}
	fields_out(ps, fn, arg);
	return 0;
}

int hist_line_fields(const struct hist *h, size_t i, hist_field_fn fn, void *arg)
{
	size_t len;
	const char *line = hist_line(h, i, &len);
	if (!line)
		return -1;
	struct parser *ps = calloc(1, sizeof *ps);
	if (!ps)
		return -1;
	ps->scap = len + 16;
	ps->scratch = malloc(ps->scap);
	int rc = -1;
	if (ps->scratch && parse_line(ps, line, len) == 0) {
		fields_out(ps, fn, arg);
		rc = 0;
	}
	free(ps->scratch);
	free(ps);
	return rc;
}

/* ---- a VIP's forwarded query and the backend's line for it ---- */

/* A route line or a query line, keyed by where it went and what it asked. */
struct hop {
	uint64_t key;
	double t;       /* route: its t; query: when it arrived (t - queue_ms) */
	bool query;
	size_t index;   /* in the routes or the queries */
};

struct hop_fields {
	uint64_t hash;
	double queue_ms;
};

static uint64_t hop_fnv(uint64_t hash, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		hash = (hash ^ c) * 1099511628211ull;
	}
	return hash;
}

static void hop_field(void *arg, const struct hist_field *f)
{
	struct hop_fields *x = arg;
	if (f->kind == HIST_V_STRING && ((f->klen == 5 && memcmp(f->key, "qname", 5) == 0) ||
					 (f->klen == 5 && memcmp(f->key, "qtype", 5) == 0))) {
		x->hash = hop_fnv(x->hash, f->key, 1); /* which field */
		x->hash = hop_fnv(x->hash, f->s, f->slen);
	} else if (f->kind == HIST_V_NUMBER && f->klen == 8 && memcmp(f->key, "queue_ms", 8) == 0) {
		x->queue_ms = f->num;
	}
}

static int cmp_hop(const void *x, const void *y)
{
	const struct hop *a = x, *b = y;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	if (a->query != b->query)
		return a->query ? 1 : -1; /* the route first */
	return a->index < b->index ? -1 : a->index > b->index;
}

/* How long a forwarded query may take to reach its backend. */
#define HOP_MAX_S 1.0

int hist_hop_lookups(const struct hist *h, uint64_t *out)
{
	const struct hist_route *rs = h->routes.p;
	const struct hist_query *qs = h->queries.p;
	size_t nr = h->routes.n, nq = h->queries.n, nhops = 0;
	uint32_t forwarded = hist_find(h, "forwarded");
	int rc = -1;
	struct hop *hops = NULL;
	bool *backend = NULL;

	memset(out, 0, nq * sizeof *out);
	if (forwarded == HIST_NONE || nq == 0)
		return 0;
	/* The backends routed to (interned ids index a table of flags). */
	backend = calloc(h->nstr ? h->nstr : 1, sizeof *backend);
	hops = malloc((nr + nq) * sizeof *hops);
	if (!backend || !hops)
		goto out;
	for (size_t i = 0; i < nr; i++)
		if (rs[i].backend != HIST_NONE && rs[i].backend < h->nstr)
			backend[rs[i].backend] = true;
	for (size_t i = 0; i < nr; i++) {
		if (!rs[i].lookup || rs[i].tcp || rs[i].action != forwarded ||
		    rs[i].backend == HIST_NONE)
			continue;
		struct hop_fields x = { 14695981039346656037ull, 0 };
		x.hash = hop_fnv(x.hash, (const char *)&rs[i].backend, sizeof rs[i].backend);
		if (hist_line_fields(h, rs[i].line - 1, hop_field, &x) != 0)
			goto out;
		hops[nhops++] = (struct hop){ x.hash, rs[i].t, false, i };
	}
	for (size_t i = 0; i < nq; i++) {
		if (qs[i].lookup || qs[i].resolver >= h->nstr || !backend[qs[i].resolver])
			continue;
		struct hop_fields x = { 14695981039346656037ull, 0 };
		x.hash = hop_fnv(x.hash, (const char *)&qs[i].resolver, sizeof qs[i].resolver);
		if (hist_line_fields(h, qs[i].line - 1, hop_field, &x) != 0)
			goto out;
		hops[nhops++] = (struct hop){ x.hash, qs[i].t - x.queue_ms / 1000.0, true, i };
	}
	qsort(hops, nhops, sizeof *hops, cmp_hop);
	/* Per key, each query takes the oldest route not taken, unless too old. */
	for (size_t g = 0; g < nhops;) {
		size_t end = g, next_route = g;
		while (end < nhops && hops[end].key == hops[g].key)
			end++;
		for (size_t i = g; i < end; i++) {
			if (!hops[i].query)
				continue;
			while (next_route < i && (hops[next_route].query ||
						  hops[next_route].t < hops[i].t - HOP_MAX_S))
				next_route++;
			if (next_route >= i)
				continue; /* a probe, or a query of nobody's lookup */
			out[hops[i].index] = rs[hops[next_route++].index].lookup;
		}
		g = end;
	}
	rc = 0;
out:
	free(hops);
	free(backend);
	return rc;
}
