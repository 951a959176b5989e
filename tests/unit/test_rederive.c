/*
 * test_rederive.c - a history's classes worked out again from its zone
 * versions (harness/record/rederive.c), and what hist.c reads for it:
 * version lines, digests on publish and boot lines, a lookup's answers and
 * stale_records, hist_serves_unpublished. Histories are written by hand into
 * a temporary directory; zone files are the incident's (scenarios/zones).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakeresolver/zone.h"
#include "harness/record/hist.h"
#include "harness/record/rederive.h"

struct fx {
	char dir[64], path[128];
	char d1[ZONE_DIGEST_HEX], d2[ZONE_DIGEST_HEX]; /* v1 (stale), v2 (published) */
	struct hist *h;
};

static void digest_of(const char *file, char hex[ZONE_DIGEST_HEX])
{
	char err[512];
	uint8_t d[ZONE_DIGEST_LEN];
	struct zone_version *v = zone_version_load(file, NULL, err, sizeof err);
	if (!v)
		fail_msg("%s", err);
	assert_int_equal(zone_version_digest(v, d), 0);
	zone_digest_hex(d, hex);
	zone_version_unref(v);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_rederive.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/h.jsonl", f->dir);
	digest_of(ZONES "/internal.v1.zone", f->d1);
	digest_of(ZONES "/internal.v2.zone", f->d2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	hist_free(f->h);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Files named in version lines are the incident's zones. */
static void zones_path(void *arg, const char *file, char *out, size_t cap)
{
	(void)arg;
	snprintf(out, cap, "%s/%s", ZONES, file);
}

#define META                                                                                       \
	"{\"t\":0.000000,\"type\":\"meta\",\"schema\":1,\"dnschaos\":\"0.1.0\",\"scenario\":"      \
	"\"x.lua\",\"name\":\"x\",\"seed\":1,\"duration\":2.000}\n"

/*
 * The incident in miniature: v2 published, r1 booted from the stale v1, one
 * lookup of db-primary answered 10.20.0.15. tail is the lookup's completion
 * fields after "answers" (class and the rest).
 */
static void write_hist_of(struct fx *f, const char *v1_file, const char *v1_digest,
                          const char *publish_digest, const char *name, const char *answer,
                          const char *tail)
{
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	fprintf(fp, META);
	fprintf(fp,
	        "{\"t\":0.000100,\"type\":\"version\",\"zone\":\"internal.\",\"serial\":2026112502,"
	        "\"digest\":\"%s\",\"known\":\"published\",\"file\":\"internal.v2.zone\"}\n",
	        f->d2);
	if (publish_digest)
		fprintf(fp,
		        "{\"t\":0.000100,\"type\":\"publish\",\"source\":\"truth\",\"zone\":"
		        "\"internal.\",\"serial\":2026112502,\"digest\":\"%s\",\"file\":\"x\","
		        "\"initial\":true}\n",
		        publish_digest);
	else
		fprintf(fp,
		        "{\"t\":0.000100,\"type\":\"publish\",\"source\":\"truth\",\"zone\":"
		        "\"internal.\",\"serial\":2026112502,\"file\":\"x\",\"initial\":true}\n");
	fprintf(fp,
	        "{\"t\":0.001000,\"type\":\"version\",\"zone\":\"internal.\",\"serial\":2026110301,"
	        "\"digest\":\"%s\",\"known\":\"disk\",\"file\":\"%s\"}\n",
	        v1_digest, v1_file);
	fprintf(fp,
	        "{\"t\":0.001000,\"type\":\"boot\",\"resolver\":\"r1\",\"from\":\"file\",\"ok\":"
	        "true,"
	        "\"zones\":[\"internal. 2026110301\"],\"digests\":[\"%s\"]}\n",
	        v1_digest);
	fprintf(fp, "{\"t\":0.002000,\"type\":\"boot\",\"resolver\":\"r2\",\"from\":\"source\","
	            "\"ok\":true,\"zones\":[\"internal. 2026112502\"]}\n");
	fprintf(fp,
	        "{\"t\":0.100000,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"app\","
	        "\"stack\":\"c-ares\",\"id\":1,\"name\":\"%s\",\"family\":\"A\","
	        "\"target\":\"r1\"}\n",
	        name);
	fprintf(fp,
	        "{\"t\":0.100300,\"type\":\"lookup\",\"event\":\"ok\",\"client\":\"app\",\"stack\":"
	        "\"c-ares\",\"id\":1,\"name\":\"%s\",\"latency_ms\":0.300,"
	        "\"answers\":[\"%s\"]%s,\"wire\":1}\n",
	        name, answer, tail);
	fprintf(fp, "{\"t\":1.000000,\"type\":\"end\",\"reason\":\"duration\",\"lines\":9}\n");
	assert_int_equal(fclose(fp), 0);
}

static void write_hist(struct fx *f, const char *v1_file, const char *v1_digest,
                       const char *publish_digest, const char *tail)
{
	write_hist_of(f, v1_file, v1_digest, publish_digest, "db-primary.internal", "10.20.0.15",
	              tail);
}

static int load_and_rederive(struct fx *f, char *err, size_t errlen)
{
	hist_free(f->h);
	f->h = hist_load(f->path, err, errlen);
	if (!f->h)
		fail_msg("hist_load: %s", err);
	return rederive_classes(f->h, "h.jsonl", 0, zones_path, NULL, err, errlen);
}

static char stale_tail[256];

static const char *stale(const struct fx *f)
{
	snprintf(stale_tail, sizeof stale_tail,
	         ",\"class\":\"stale\",\"serial\":2026110301,\"digest\":\"%s\","
	         "\"stale_records\":[\"10.20.0.15\"]",
	         f->d1);
	return stale_tail;
}

static void test_recorded_classes_agree(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	write_hist(f, "internal.v1.zone", f->d1, f->d2, stale(f));
	assert_int_equal(load_and_rederive(f, err, sizeof err), 0);

	/* What hist.c read. */
	size_t n;
	const struct hist_version *vs = hist_versions(f->h, &n);
	assert_int_equal(n, 2);
	assert_int_equal(vs[1].known, HIST_KNOWN_DISK);
	assert_string_equal(hist_str(f->h, vs[1].file), "internal.v1.zone");
	const struct hist_publish *ps = hist_publishes(f->h, &n);
	assert_int_equal(ps[0].version, 0);
	const struct hist_boot *bs = hist_boots(f->h, &n);
	assert_int_equal(bs[0].version[0], 1);
	assert_int_equal(bs[1].version[0], HIST_NO_VERSION);
	const struct hist_lookup *l = hist_lookup_by_id(f->h, 1);
	assert_non_null(l);
	assert_int_equal(l->want, 1);
	assert_int_equal(l->stale, 1);
	const struct hist_addr *a = hist_lookup_addrs(f->h, l, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(a[0].a, ((const uint8_t[]){10, 20, 0, 15}), 4);
	/* v1 gives db-primary another address than v2: it could have been stale */
	assert_int_equal(l->stale_possible, HIST_SP_YES);

	/* r1 serves the stale copy from its boot on; r2's boot has no digest. */
	uint32_t r1 = hist_find(f->h, "r1"), r2 = hist_find(f->h, "r2");
	assert_int_equal(hist_serves_unpublished(f->h, r1, 0.0005), 0);
	assert_int_equal(hist_serves_unpublished(f->h, r1, 0.5), 1);
	assert_int_equal(hist_serves_unpublished(f->h, r2, 0.5), -1);
}

/* A name both versions answer alike could not have got a stale answer. */
static void test_stale_possible(void **state)
{
	struct fx *f = *state;
	char err[512] = "", tail[256];
	snprintf(tail, sizeof tail, ",\"class\":\"fresh\",\"serial\":2026112502,\"digest\":\"%s\"",
	         f->d2);
	/* web.internal: 10.20.1.10 in v1 and v2 alike */
	write_hist_of(f, "internal.v1.zone", f->d1, f->d2, "web.internal", "10.20.1.10", tail);
	assert_int_equal(load_and_rederive(f, err, sizeof err), 0);
	const struct hist_lookup *l = hist_lookup_by_id(f->h, 1);
	assert_non_null(l);
	assert_int_equal(l->stale_possible, HIST_SP_NO);
	/* read but not re-derived: not known */
	hist_free(f->h);
	f->h = hist_load(f->path, err, sizeof err);
	assert_non_null(f->h);
	assert_int_equal(hist_lookup_by_id(f->h, 1)->stale_possible, HIST_SP_UNKNOWN);
}

/* "stale" rewritten to "fresh": refused, naming the line and what the versions give. */
static void test_rewritten_class_refused(void **state)
{
	struct fx *f = *state;
	char err[512] = "", tail[256];
	snprintf(tail, sizeof tail, ",\"class\":\"fresh\",\"serial\":2026112502,\"digest\":\"%s\"",
	         f->d2);
	write_hist(f, "internal.v1.zone", f->d1, f->d2, tail);
	assert_int_equal(load_and_rederive(f, err, sizeof err), -1);
	assert_string_equal(err, "h.jsonl:8: lookup 1 of app: recorded class fresh, the recorded "
	                         "zone versions give stale");
	/* No class at all, where the versions give one. */
	write_hist(f, "internal.v1.zone", f->d1, f->d2, "");
	assert_int_equal(load_and_rederive(f, err, sizeof err), -1);
	assert_non_null(strstr(err, "recorded no class, the recorded zone versions give stale"));
	/* The class kept, its stale record dropped. */
	snprintf(tail, sizeof tail, ",\"class\":\"stale\",\"serial\":2026110301,\"digest\":\"%s\"",
	         f->d1);
	write_hist(f, "internal.v1.zone", f->d1, f->d2, tail);
	assert_int_equal(load_and_rederive(f, err, sizeof err), -1);
	assert_non_null(strstr(err, "h.jsonl:8: lookup 1 of app: its stale_records"));
}

/* Each version line's file must still hold its records, and publishes must name theirs. */
static void test_version_files_checked(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	/* A file that is gone. */
	write_hist(f, "nope.zone", f->d1, f->d2, stale(f));
	assert_int_equal(load_and_rederive(f, err, sizeof err), -1);
	assert_non_null(strstr(err, "h.jsonl:4: cannot load the recorded zone version internal. "
	                            "serial 2026110301: "));
	assert_non_null(strstr(err, "nope.zone"));
	/* A file that holds other records than the digest says. */
	write_hist(f, "internal.v2.zone", f->d1, f->d2, stale(f));
	assert_int_equal(load_and_rederive(f, err, sizeof err), -1);
	assert_non_null(strstr(err, "h.jsonl:4: "));
	assert_non_null(strstr(err, "internal.v2.zone no longer holds the recorded version of "
	                            "internal. serial 2026110301"));
	/* A publish line without a digest (an older dnschaos). */
	write_hist(f, "internal.v1.zone", f->d1, NULL, stale(f));
	assert_int_equal(load_and_rederive(f, err, sizeof err), -1);
	assert_non_null(strstr(err, "h.jsonl:3: a publish line without a digest"));
}

/* A digest that names no version line before it: not a history this reader accepts. */
static void test_unknown_digest_refused(void **state)
{
	struct fx *f = *state;
	char err[512] = "", other[ZONE_DIGEST_HEX];
	snprintf(other, sizeof other, "%s", f->d2);
	other[0] = other[0] == '0' ? '1' : '0';
	write_hist(f, "internal.v1.zone", f->d1, other, stale(f));
	f->h = hist_load(f->path, err, sizeof err);
	assert_null(f->h);
	assert_non_null(strstr(err, "h.jsonl:3: digest "));
	assert_non_null(strstr(err, "names no version line of that zone before this line"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_recorded_classes_agree, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stale_possible, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_rewritten_class_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_version_files_checked, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unknown_digest_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
