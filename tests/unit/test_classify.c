/*
 * test_classify.c - fresh, stale and wrong (harness/record/classify.c): the
 * incident's zones (v1 stale: db-primary 10.20.0.15; v2 published: .42;
 * v3 newer: .44) and the grace after a publish.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness/clients/client.h"
#include "harness/record/classify.h"
#include "fakeresolver/zone.h"

static struct zone_version *load(const char *file)
{
	char path[512], err[512];
	snprintf(path, sizeof path, "%s", file);
	struct zone_version *v = zone_version_load(path, NULL, err, sizeof err);
	if (!v)
		fail_msg("%s", err);
	return v;
}

struct fixture {
	struct classify *c;
	struct zone_version *v1, *v2, *v3;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	f->c = classify_create();
	f->v1 = load(SCENARIO_ZONES "/internal.v1.zone");
	f->v2 = load(SCENARIO_ZONES "/internal.v2.zone");
	f->v3 = load(TEST_ZONES "/internal.v3.zone");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	classify_destroy(f->c);
	zone_version_unref(f->v1);
	zone_version_unref(f->v2);
	zone_version_unref(f->v3);
	free(f);
	return 0;
}

/* Classifies a lookup of name that got the given addresses (NULL-terminated). */
static struct classify_result ask(struct classify *c, const char *name, bool a, bool aaaa,
				  double t, const char *const *addrs)
{
	struct lookup lk;
	memset(&lk, 0, sizeof lk);
	for (size_t i = 0; addrs && addrs[i]; i++)
		assert_true(lookup_add_addr_text(&lk, addrs[i]));
	struct classify_query q = { name, a, aaaa, false, lk.addrs, lk.naddrs, t };
	return classify_answer(c, &q);
}

static void test_fresh_stale_wrong(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(classify_add_version(f->c, f->v1), 0); /* a resolver booted from disk */
	assert_int_equal(classify_publish(f->c, f->v2, 0), 0);

	struct classify_result r = ask(f->c, "db-primary.internal", true, false, 1,
				       (const char *const[]){ "10.20.0.42", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
	assert_int_equal(r.serial, 2026112502);
	assert_false(r.grace);

	r = ask(f->c, "db-primary.internal", true, false, 1,
		(const char *const[]){ "10.20.0.15", NULL });
	assert_int_equal(r.cls, CLASS_STALE);
	assert_int_equal(r.serial, 2026110301);

	r = ask(f->c, "db-primary.internal", true, false, 1,
		(const char *const[]){ "192.0.2.66", NULL });
	assert_int_equal(r.cls, CLASS_WRONG);

	/* Unchanged between versions: the current one matches first. */
	r = ask(f->c, "DB-replica.internal.", true, true, 1,
		(const char *const[]){ "10.20.0.43", "fd00:20::43", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
	/* Half of the answer (A only, when both were asked) is not the answer. */
	r = ask(f->c, "db-replica.internal", true, true, 1,
		(const char *const[]){ "10.20.0.43", NULL });
	assert_int_equal(r.cls, CLASS_WRONG);
	/* A CNAME chain and two addresses, in any order. */
	r = ask(f->c, "api.internal", true, false, 1,
		(const char *const[]){ "10.20.1.11", "10.20.1.10", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
	/* Wildcards. */
	r = ask(f->c, "x.apps.internal", true, false, 1, (const char *const[]){ "10.20.2.1", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
}

static void test_negative(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(classify_publish(f->c, f->v2, 0), 0);
	struct classify_query q = { "nope.internal", true, false, true, NULL, 0, 1 };
	assert_int_equal(classify_answer(f->c, &q).cls, CLASS_FRESH);
	/* NXDOMAIN for a name that exists: no version says so. */
	q.name = "db-primary.internal";
	assert_int_equal(classify_answer(f->c, &q).cls, CLASS_WRONG);
	/* NODATA: no AAAA for db-primary is the truth. */
	q.nxdomain = false;
	q.want_a = false;
	q.want_aaaa = true;
	assert_int_equal(classify_answer(f->c, &q).cls, CLASS_FRESH);
	/* Outside every known zone: not classified. */
	q.name = "www.example.com";
	assert_int_equal(classify_answer(f->c, &q).cls, CLASS_NONE);
}

static void test_publish_and_grace(void **state)
{
	struct fixture *f = *state;
	classify_set_grace(f->c, 0.5);
	assert_int_equal(classify_publish(f->c, f->v2, 0), 0);
	assert_int_equal(classify_publish(f->c, f->v3, 10), 0);
	const char *const old[] = { "10.20.0.42", NULL };
	const char *const now[] = { "10.20.0.44", NULL };

	/* Before the publish at 10 s, v2 is the truth. */
	struct classify_result r = ask(f->c, "db-primary.internal", true, false, 9.9, old);
	assert_int_equal(r.cls, CLASS_FRESH);
	assert_false(r.grace);
	r = ask(f->c, "db-primary.internal", true, false, 9.9, now);
	assert_int_equal(r.cls, CLASS_WRONG); /* not yet published: no known truth has it */
	/* Within the grace, v2 still counts as fresh; after it, v2 is stale. */
	r = ask(f->c, "db-primary.internal", true, false, 10.4, old);
	assert_int_equal(r.cls, CLASS_FRESH);
	assert_true(r.grace);
	assert_int_equal(r.serial, 2026112502);
	r = ask(f->c, "db-primary.internal", true, false, 10.6, old);
	assert_int_equal(r.cls, CLASS_STALE);
	r = ask(f->c, "db-primary.internal", true, false, 10.6, now);
	assert_int_equal(r.cls, CLASS_FRESH);
	assert_int_equal(r.serial, 2026112601);
}

static void test_no_source(void **state)
{
	struct fixture *f = *state;
	/* Without a zone source, the highest known serial is the truth. */
	assert_int_equal(classify_add_version(f->c, f->v2), 0);
	assert_int_equal(classify_add_version(f->c, f->v1), 0);
	assert_int_equal(classify_add_version(f->c, f->v1), 0); /* kept once */
	struct classify_result r = ask(f->c, "db-primary.internal", true, false, 1,
				       (const char *const[]){ "10.20.0.15", NULL });
	assert_int_equal(r.cls, CLASS_STALE);
	r = ask(f->c, "db-primary.internal", true, false, 1,
		(const char *const[]){ "10.20.0.42", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_stale_wrong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_and_grace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_source, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
