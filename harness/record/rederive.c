/*
 * rederive.c - the classes of a history's answers, worked out again from the
 * zone versions it records (see rederive.h).
 */
#include "harness/record/rederive.h"
#include "fakeresolver/zone.h"
#include "harness/record/classify.h"
#include "harness/record/hist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void say(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Loads every version line's file and checks it still holds those records. */
static int load_versions(const struct hist *h, const char *name, rederive_path_fn path, void *arg,
                         struct zone_version **out, char *err, size_t errlen)
{
	size_t nv;
	const struct hist_version *vs = hist_versions(h, &nv);
	for (size_t i = 0; i < nv; i++) {
		const struct hist_version *hv = &vs[i];
		const char *file = hist_str(h, hv->file);
		char full[4096], lerr[1024], hex[ZONE_DIGEST_HEX], want[ZONE_DIGEST_HEX];
		uint8_t d[ZONE_DIGEST_LEN];
		if (!file) {
			say(err, errlen,
			    "%s:%u: the version of %s serial %u names no file (known only by "
			    "transfer): the answers' classes cannot be re-derived",
			    name, hv->line, hist_str(h, hv->zone), hv->serial);
			return -1;
		}
		path(arg, file, full, sizeof full);
		out[i] = zone_version_load(full, NULL, lerr, sizeof lerr);
		if (!out[i]) {
			say(err, errlen,
			    "%s:%u: cannot load the recorded zone version %s serial %u: %s", name,
			    hv->line, hist_str(h, hv->zone), hv->serial, lerr);
			return -1;
		}
		if (zone_version_digest(out[i], d) != 0) {
			say(err, errlen, "out of memory");
			return -2;
		}
		if (memcmp(d, hv->digest, sizeof d) != 0) {
			zone_digest_hex(d, hex);
			zone_digest_hex(hv->digest, want);
			say(err, errlen,
			    "%s:%u: %s no longer holds the recorded version of %s serial %u (its "
			    "digest is %.16s..., the history's %.16s...): the answers' classes "
			    "cannot be re-derived",
			    name, hv->line, full, hist_str(h, hv->zone), hv->serial, hex, want);
			return -1;
		}
	}
	return 0;
}

static int by_line_done(const void *a, const void *b)
{
	const struct hist_lookup *x = *(const struct hist_lookup *const *)a;
	const struct hist_lookup *y = *(const struct hist_lookup *const *)b;
	return (x->line_done > y->line_done) - (x->line_done < y->line_done);
}

static const char *class_text(uint8_t cls)
{
	switch (cls) {
	case HIST_CLASS_FRESH:
		return "class fresh";
	case HIST_CLASS_STALE:
		return "class stale";
	case HIST_CLASS_WRONG:
		return "class wrong";
	}
	return "no class";
}

static uint8_t to_hist(enum answer_class c)
{
	switch (c) {
	case CLASS_FRESH:
		return HIST_CLASS_FRESH;
	case CLASS_STALE:
		return HIST_CLASS_STALE;
	case CLASS_WRONG:
		return HIST_CLASS_WRONG;
	case CLASS_NONE:
		break;
	}
	return HIST_CLASS_NONE;
}

/* The class the run gave lookup l (as harness/clients/client.c asks it). */
static struct classify_result classify_lookup(const struct hist *h, struct classify *c,
                                              const struct hist_lookup *l, uint32_t nx,
                                              uint32_t nodata)
{
	struct classify_result none;
	memset(&none, 0, sizeof none);
	bool negative = l->event == HIST_LK_FAIL && l->reason != HIST_NONE &&
	                (l->reason == nx || l->reason == nodata);
	if (!(l->want & 3) || !(l->event == HIST_LK_OK || negative))
		return none;
	struct lookup_addr addrs[LOOKUP_ADDRS_MAX];
	size_t n = 0;
	if (l->event == HIST_LK_OK) {
		const struct hist_addr *a = hist_lookup_addrs(h, l, &n);
		if (n > LOOKUP_ADDRS_MAX)
			n = LOOKUP_ADDRS_MAX;
		for (size_t i = 0; i < n; i++) {
			addrs[i].family = a[i].family;
			memcpy(addrs[i].a, a[i].a, sizeof addrs[i].a);
		}
	}
	struct classify_query q = {
	        hist_str(h, l->name),
	        (l->want & 1) != 0,
	        (l->want & 2) != 0,
	        negative && l->reason == nx,
	        addrs,
	        n,
	        l->t_done,
	};
	if (!q.name)
		return none;
	return classify_answer(c, &q);
}

int rederive_classes(struct hist *h, const char *name, double grace, rederive_path_fn path,
                     void *arg, char *err, size_t errlen)
{
	size_t nv, np, nl;
	const struct hist_version *vs = hist_versions(h, &nv);
	const struct hist_publish *ps = hist_publishes(h, &np);
	const struct hist_lookup *ls = hist_lookups(h, &nl);
	struct zone_version **zv = calloc(nv ? nv : 1, sizeof *zv);
	const struct hist_lookup **done = calloc(nl ? nl : 1, sizeof *done);
	struct classify *c = classify_create();
	int rc = -2;
	if (!zv || !done || !c) {
		say(err, errlen, "out of memory");
		goto out;
	}
	rc = load_versions(h, name, path, arg, zv, err, errlen);
	if (rc != 0)
		goto out;
	rc = -2;
	classify_set_grace(c, grace);
	size_t nd = 0;
	for (size_t i = 0; i < nl; i++)
		if (ls[i].line_done)
			done[nd++] = &ls[i];
	qsort(done, nd, sizeof *done, by_line_done);
	uint32_t nx = hist_find(h, "nxdomain"), nodata = hist_find(h, "nodata");

	/* Replay in line order: versions, publishes and completions interleaved. */
	size_t iv = 0, ip = 0, il = 0;
	for (;;) {
		uint32_t lv = iv < nv ? vs[iv].line : UINT32_MAX;
		uint32_t lp = ip < np ? ps[ip].line : UINT32_MAX;
		uint32_t ll = il < nd ? done[il]->line_done : UINT32_MAX;
		if (lv == UINT32_MAX && lp == UINT32_MAX && ll == UINT32_MAX)
			break;
		if (lv < lp && lv < ll) {
			static const enum classify_known how[] = {CLASSIFY_PUBLISHED, CLASSIFY_DISK,
			                                          CLASSIFY_TRANSFER};
			if (classify_add_version(c, zv[iv], how[vs[iv].known % 3], vs[iv].t) < 0) {
				say(err, errlen, "out of memory");
				goto out;
			}
			iv++;
		} else if (lp < ll) {
			const struct hist_publish *p = &ps[ip++];
			if (p->version == HIST_NO_VERSION) {
				say(err, errlen,
				    "%s:%u: a publish line without a digest (a history of an older "
				    "dnschaos?): the answers' classes cannot be re-derived",
				    name, p->line);
				rc = -1;
				goto out;
			}
			if (classify_publish(c, zv[p->version], p->t) < 0) {
				say(err, errlen, "out of memory");
				goto out;
			}
		} else {
			const struct hist_lookup *l = done[il++];
			struct classify_result r = classify_lookup(h, c, l, nx, nodata);
			uint8_t got = to_hist(r.cls);
			if (got != l->cls && got == HIST_CLASS_NONE) {
				say(err, errlen,
				    "%s:%u: lookup %llu of %s: recorded %s, but no recorded zone "
				    "version holds its name",
				    name, l->line_done, (unsigned long long)l->id,
				    hist_str(h, l->client), class_text(l->cls));
				rc = -1;
				goto out;
			}
			if (got != l->cls) {
				say(err, errlen,
				    "%s:%u: lookup %llu of %s: recorded %s, the recorded zone "
				    "versions "
				    "give %s",
				    name, l->line_done, (unsigned long long)l->id,
				    hist_str(h, l->client), class_text(l->cls),
				    classify_name(r.cls));
				rc = -1;
				goto out;
			}
			/* Whether it could have been stale at all: a check for stale
			 * answers over lookups none of which could be is no check. */
			const char *asked = hist_str(h, l->name);
			if ((l->want & 3) && asked)
				hist_set_stale_possible(
				        h, l,
				        classify_stale_possible(c, asked, (l->want & 1) != 0,
				                                (l->want & 2) != 0, l->t_done));
			if (l->stale_unknown || l->stale != r.stale) {
				say(err, errlen,
				    "%s:%u: lookup %llu of %s: its stale_records are not the "
				    "answers "
				    "the recorded zone versions give as stale",
				    name, l->line_done, (unsigned long long)l->id,
				    hist_str(h, l->client));
				rc = -1;
				goto out;
			}
		}
	}
	rc = 0;
out:
	classify_destroy(c);
	for (size_t i = 0; zv && i < nv; i++)
		zone_version_unref(zv[i]);
	free(zv);
	free(done);
	return rc;
}
