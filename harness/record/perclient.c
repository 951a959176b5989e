/*
 * perclient.c - how each client fared (perclient.h): the completed lookups
 * sorted by (client, position), so each client's lookups are one run of the
 * array; each run's latencies sorted for its percentiles. O(n log n) in the
 * lookups, whatever the number of clients.
 */
#include "harness/record/perclient.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness/record/hist.h"

struct ref {
	uint32_t client;
	uint32_t index; /* in hist_lookups */
};

static int cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct first {
	uint32_t index; /* the client's first lookup */
	size_t row;
};

static int cmp_first(const void *a, const void *b)
{
	const struct first *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Nearest rank, as latency{} takes it (checker.c): rank ceil(p x n / 100). */
static double nearest_rank(const double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p * (double)n / 100.0);
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

static bool completed(const struct hist_lookup *l)
{
	return l->t_done >= 0 && l->event != HIST_LK_INVOKE && l->event != HIST_LK_CANCELLED;
}

double perclient_from(const struct hist *h)
{
	size_t nf;
	const struct hist_fault *fs = hist_faults(h, &nf);
	for (size_t i = 0; i < nf; i++)
		if (fs[i].inject)
			return fs[i].t; /* lines are in time order */
	return 0;
}

struct perclient_row *perclient_rows(const struct hist *h, double from, size_t *n, int *oom)
{
	size_t nl, nrows = 0;
	const struct hist_lookup *ls = hist_lookups(h, &nl);
	struct ref *refs = NULL;
	struct first *firsts = NULL;
	struct perclient_row *rows = NULL, *out = NULL;
	double *lat = NULL;

	*n = 0;
	*oom = 0;
	if (nl == 0)
		return NULL;
	refs = malloc(nl * sizeof *refs);
	lat = malloc(nl * sizeof *lat);
	if (!refs || !lat)
		goto out;
	for (size_t i = 0; i < nl; i++)
		refs[i] = (struct ref){ls[i].client, (uint32_t)i};
	qsort(refs, nl, sizeof *refs, cmp_ref);
	for (size_t i = 0; i < nl; i++)
		nrows += i == 0 || refs[i].client != refs[i - 1].client;
	rows = calloc(nrows, sizeof *rows);
	firsts = malloc(nrows * sizeof *firsts);
	if (!rows || !firsts)
		goto out;
	for (size_t i = 0, r = 0; i < nl; r++) {
		const struct hist_lookup *f = &ls[refs[i].index];
		struct perclient_row *row = &rows[r];
		uint64_t wire = 0;
		size_t k = 0;
		bool unjoined = false;
		*row = (struct perclient_row){.client = hist_str(h, f->client),
		                              .stack = hist_str(h, f->stack)};
		firsts[r] = (struct first){refs[i].index, r};
		for (; i < nl && refs[i].client == f->client; i++) {
			const struct hist_lookup *l = &ls[refs[i].index];
			if (!completed(l) || l->t_invoke < from)
				continue;
			row->lookups++;
			row->ok += l->event == HIST_LK_OK;
			row->failed += l->event == HIST_LK_FAIL;
			row->timeouts += l->event == HIST_LK_TIMEOUT;
			row->stale += l->cls == HIST_CLASS_STALE;
			row->wrong += l->cls == HIST_CLASS_WRONG;
			wire += l->wire;
			unjoined = unjoined || hist_vip_dnsdist(h, l->target, NULL);
			lat[k++] = l->latency_ms;
		}
		if (k == 0) {
			row->success = row->p50 = row->p99 = row->wire = NAN;
			continue;
		}
		qsort(lat, k, sizeof *lat, cmp_double);
		row->p50 = nearest_rank(lat, k, 50);
		row->p99 = nearest_rank(lat, k, 99);
		/* Through a dnsdist VIP no wire query is joined: not 0, unknown. */
		row->wire = unjoined ? NAN : (double)wire / (double)k;
		row->success = (double)row->ok / (double)k;
	}
	/* In the order of each client's first lookup. */
	qsort(firsts, nrows, sizeof *firsts, cmp_first);
	out = malloc(nrows * sizeof *out);
	if (!out)
		goto out;
	for (size_t r = 0; r < nrows; r++)
		out[r] = rows[firsts[r].row];
	*n = nrows;
out:
	if (!out)
		*oom = 1;
	free(refs);
	free(lat);
	free(rows);
	free(firsts);
	return out;
}
