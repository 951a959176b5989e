/*
 * fuzz_hist.c - libFuzzer target for the history reader (hist_load): any
 * bytes as a history file. A file it refuses must say where (the file name
 * leads the message); a file it reads must hold what docs/history.md
 * promises, since the checker and the reports trust it: every number finite,
 * t never decreasing, the end line last, no key twice, no NUL in a string,
 * no negative latency, lookups indexed by id, answers within their array,
 * interned strings found again by their text.
 *
 * LeakSanitizer checks every error path frees what it took.
 */
#include "harness/record/cause.h"
#include "harness/record/hist.h"
#include "harness/record/perclient.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,     \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* hist_load takes a path: one temporary file, made once and rewritten for every input. */
static char fuzz_path[] = "/tmp/fuzz_hist.XXXXXX";
static int fuzz_fd = -1;

static void remove_file(void)
{
	unlink(fuzz_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_fd = mkstemp(fuzz_path);
	if (fuzz_fd < 0) {
		perror("fuzz_hist: mkstemp");
		abort();
	}
	atexit(remove_file);
	return 0;
}

/* What one line's fields must be. */
struct line_check {
	const char *keys[64];
	size_t lens[64];
	size_t n;
	double t;
	bool has_t;
};

static void check_field(void *arg, const struct hist_field *f)
{
	struct line_check *lc = arg;
	for (size_t i = 0; i < lc->n; i++)
		CHECK(lc->lens[i] != f->klen || memcmp(lc->keys[i], f->key, f->klen) != 0);
	CHECK(lc->n < 64);
	lc->keys[lc->n] = f->key;
	lc->lens[lc->n++] = f->klen;
	CHECK(strlen(f->key) == f->klen);
	switch (f->kind) {
	case HIST_V_NUMBER:
		CHECK(isfinite(f->num));
		if (f->klen > 3 && memcmp(f->key + f->klen - 3, "_ms", 3) == 0)
			CHECK(f->num >= 0);
		if (f->klen == 1 && f->key[0] == 't') {
			lc->t = f->num;
			lc->has_t = true;
		}
		break;
	case HIST_V_STRING:
		CHECK(strlen(f->s) == f->slen);
		break;
	case HIST_V_ARRAY: {
		const char *s = f->s;
		for (size_t i = 0; i < f->slen; i++)
			s += strlen(s) + 1;
		break;
	}
	default:
		break;
	}
}

/* An interned id: none, or a text found again as that id. */
static void check_str(const struct hist *h, uint32_t id)
{
	if (id == HIST_NONE)
		return;
	const char *s = hist_str(h, id);
	CHECK(s != NULL);
	CHECK(hist_find(h, s) == id);
}

static void check_lines(const struct hist *h)
{
	size_t n = hist_line_count(h);
	double last = -INFINITY;
	CHECK(n >= 1);
	CHECK(hist_line_type(h, 0) == HIST_META);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *line = hist_line(h, i, &len);
		CHECK(line != NULL);
		CHECK(len <= HIST_LINE_MAX);
		CHECK(memchr(line, '\n', len) == NULL);
		enum hist_type ty = hist_line_type(h, i);
		CHECK(ty < HIST_TYPES);
		CHECK(ty != HIST_END || i == n - 1);
		CHECK(ty != HIST_META || i == 0);
		struct line_check lc = {.n = 0};
		CHECK(hist_line_fields(h, i, check_field, &lc) == 0);
		CHECK(lc.has_t);
		CHECK(lc.t >= last - 1e-9 && lc.t >= -1e-9);
		last = fmax(last, lc.t);
	}
	CHECK(hist_line_fields(h, n, check_field, NULL) == -1);
	CHECK(isfinite(hist_last_t(h)));
	CHECK(hist_end_reason(h) == NULL || hist_line_type(h, n - 1) == HIST_END);
	CHECK(isfinite(hist_meta(h)->duration));
}

static void check_lookups(const struct hist *h)
{
	size_t n;
	const struct hist_lookup *ls = hist_lookups(h, &n);
	for (size_t i = 0; i < n; i++) {
		const struct hist_lookup *l = &ls[i];
		CHECK(isfinite(l->t_invoke) && l->t_invoke >= -1e-9);
		CHECK(i == 0 || l->t_invoke >= ls[i - 1].t_invoke - 1e-9);
		CHECK(hist_lookup_by_id(h, l->id) == l);
		CHECK(l->line >= 1 && l->line <= hist_line_count(h));
		if (l->event == HIST_LK_INVOKE) {
			CHECK(l->t_done < 0 && l->line_done == 0);
		} else {
			CHECK(l->t_done >= l->t_invoke - 1e-9);
			CHECK(l->line_done > l->line && l->line_done <= hist_line_count(h));
			CHECK(isfinite(l->latency_ms) && l->latency_ms >= 0);
		}
		check_str(h, l->client);
		check_str(h, l->stack);
		check_str(h, l->name);
		check_str(h, l->reason);
		check_str(h, l->error);
		size_t na;
		const struct hist_addr *a = hist_lookup_addrs(h, l, &na);
		for (size_t k = 0; k < na; k++)
			CHECK(a[k].family == AF_INET || a[k].family == AF_INET6);
	}
}

static void check_arrays(const struct hist *h)
{
	size_t n;
	const struct hist_query *qs = hist_queries(h, &n);
	for (size_t i = 0; i < n; i++) {
		CHECK(isfinite(qs[i].t));
		check_str(h, qs[i].resolver);
		check_str(h, qs[i].action);
		check_str(h, qs[i].client);
	}
	const struct hist_route *rs = hist_routes(h, &n);
	for (size_t i = 0; i < n; i++) {
		CHECK(isfinite(rs[i].t));
		check_str(h, rs[i].vip);
		check_str(h, rs[i].backend);
	}
	const struct hist_fault *fs = hist_faults(h, &n);
	for (size_t i = 0; i < n; i++)
		CHECK(isfinite(fs[i].duration) && isfinite(fs[i].qps) && isfinite(fs[i].down));
	const struct hist_version *vs = hist_versions(h, &n);
	size_t nv = n;
	for (size_t i = 0; i < n; i++)
		check_str(h, vs[i].zone);
	const struct hist_publish *ps = hist_publishes(h, &n);
	for (size_t i = 0; i < n; i++)
		CHECK(ps[i].version == HIST_NO_VERSION || ps[i].version < nv);
	const struct hist_boot *bs = hist_boots(h, &n);
	for (size_t i = 0; i < n; i++) {
		for (uint32_t z = 0; z < bs[i].nzones && z < 4; z++) {
			check_str(h, bs[i].zone[z]);
			CHECK(bs[i].version[z] == HIST_NO_VERSION || bs[i].version[z] < nv);
		}
		int r = hist_serves_unpublished(h, bs[i].resolver, hist_last_t(h));
		CHECK(r >= -1 && r <= 1);
	}
	const struct hist_health *hs = hist_healths(h, &n);
	for (size_t i = 0; i < n; i++)
		CHECK(isfinite(hs[i].t));
	const struct hist_gate *gs = hist_gates(h, &n);
	for (size_t i = 0; i < n; i++)
		CHECK(isfinite(gs[i].t));
	const struct hist_state *ss = hist_states(h, &n);
	for (size_t i = 0; i < n; i++)
		check_str(h, ss[i].state);
}

/* What every report derives from any history it reads: the causes and the clients table. */
static void check_reports(const struct hist *h)
{
	struct causes *c = causes_find(h);
	CHECK(c != NULL);
	size_t sum = 0;
	for (size_t i = 0; i < causes_count(c); i++) {
		const struct cause *k = causes_get(c, i);
		CHECK(k->text && k->text[0] && k->lookups > 0);
		sum += k->lookups;
	}
	CHECK(sum <= causes_bad(c) && causes_bad(c) <= causes_lookups(c));
	CHECK(causes_count(c) == CAUSES_MAX || sum == causes_bad(c));
	causes_free(c);
	size_t n;
	int oom;
	struct perclient_row *rows = perclient_rows(h, perclient_from(h), &n, &oom);
	CHECK(!oom);
	for (size_t i = 0; i < n; i++)
		CHECK(rows[i].ok + rows[i].failed + rows[i].timeouts <= rows[i].lookups);
	free(rows);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	if (ftruncate(fuzz_fd, 0) != 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t)size) {
		perror("fuzz_hist: rewriting the input file");
		abort();
	}
	err[0] = '\0';
	struct hist *h = hist_load(fuzz_path, err, sizeof err);
	if (!h) {
		/* A refusal says where: the file name leads the message. */
		CHECK(strncmp(err, fuzz_path, strlen(fuzz_path)) == 0);
		CHECK(err[strlen(fuzz_path)] == ':');
		return 0;
	}
	check_lines(h);
	check_lookups(h);
	check_arrays(h);
	check_reports(h);
	hist_free(h);
	return 0;
}
