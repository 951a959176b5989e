/*
 * test_classify.c - fresh, stale and wrong (harness/record/classify.c): the
 * incident's zones (v1 stale: db-primary 10.20.0.15; v2 published: .42;
 * v3 newer: .44), the grace after a publish, and stale disk copies whatever
 * their serial (same serial, higher serial, an AAAA of their own), told
 * apart from the published version by content (zone_version_digest).
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
	struct zone_version *same, *higher, *aaaa; /* stale disk copies */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	f->c = classify_create();
	f->v1 = load(SCENARIO_ZONES "/internal.v1.zone");
	f->v2 = load(SCENARIO_ZONES "/internal.v2.zone");
	f->v3 = load(TEST_ZONES "/internal.v3.zone");
	f->same = load(TEST_ZONES "/internal.same-serial.zone");
	f->higher = load(TEST_ZONES "/internal.higher-serial.zone");
	f->aaaa = load(TEST_ZONES "/internal.stale-aaaa.zone");
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
	zone_version_unref(f->same);
	zone_version_unref(f->higher);
	zone_version_unref(f->aaaa);
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
	assert_int_equal(classify_add_version(f->c, f->v1, CLASSIFY_DISK, 0), 1); /* a resolver booted from disk */
	assert_int_equal(classify_publish(f->c, f->v2, 0), 1);

	struct classify_result r = ask(f->c, "db-primary.internal", true, false, 1,
				       (const char *const[]){ "10.20.0.42", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
	assert_int_equal(r.serial, 2026112502);
	assert_false(r.grace);

	r = ask(f->c, "db-primary.internal", true, false, 1,
		(const char *const[]){ "10.20.0.15", NULL });
	assert_int_equal(r.cls, CLASS_STALE);
	assert_int_equal(r.serial, 2026110301);

	assert_int_equal(r.stale, 1);
	assert_int_equal(r.wrong, 0);

	r = ask(f->c, "db-primary.internal", true, false, 1,
		(const char *const[]){ "192.0.2.66", NULL });
	assert_int_equal(r.cls, CLASS_WRONG);
	assert_int_equal(r.wrong, 1);

	/* Unchanged between versions: the current one matches first. */
	r = ask(f->c, "DB-replica.internal.", true, true, 1,
		(const char *const[]){ "10.20.0.43", "fd00:20::43", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
	/* Half of the answer (A only, when both were asked): every record it has
	 * is the published one's, so it is fresh (a stack drops a family that failed). */
	r = ask(f->c, "db-replica.internal", true, true, 1,
		(const char *const[]){ "10.20.0.43", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
	/* A CNAME chain and two addresses, in any order. */
	r = ask(f->c, "api.internal", true, false, 1,
		(const char *const[]){ "10.20.1.11", "10.20.1.10", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
	/* Wildcards. */
	r = ask(f->c, "x.apps.internal", true, false, 1, (const char *const[]){ "10.20.2.1", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
}

/*
 * Could an answer have been stale? Only where a version the run knew by then
 * answers the name otherwise than the published one: a "no stale answers"
 * check over other names could not have failed.
 */
static void test_stale_possible(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(classify_publish(f->c, f->v2, 0), 1);
	/* one version: nothing can be stale */
	assert_false(classify_stale_possible(f->c, "db-primary.internal", true, false, 1));
	assert_int_equal(classify_add_version(f->c, f->v1, CLASSIFY_DISK, 2), 1);
	/* not before the old copy is known */
	assert_false(classify_stale_possible(f->c, "db-primary.internal", true, false, 1.5));
	/* v1 gives db-primary another address */
	assert_true(classify_stale_possible(f->c, "db-primary.internal", true, false, 2));
	assert_true(classify_stale_possible(f->c, "DB-Primary.internal.", true, true, 3));
	/* the same in both: web, db-replica (A and AAAA), a wildcard, a name nobody has */
	assert_false(classify_stale_possible(f->c, "web.internal", true, false, 3));
	assert_false(classify_stale_possible(f->c, "db-replica.internal", true, true, 3));
	assert_false(classify_stale_possible(f->c, "x.apps.internal", true, false, 3));
	assert_false(classify_stale_possible(f->c, "nope.internal", true, false, 3));
	/* asking AAAA alone: neither gives db-primary one */
	assert_false(classify_stale_possible(f->c, "db-primary.internal", false, true, 3));
	/* a copy with an AAAA of its own: AAAA alone can be stale now */
	assert_int_equal(classify_add_version(f->c, f->aaaa, CLASSIFY_DISK, 4), 1);
	assert_true(classify_stale_possible(f->c, "db-primary.internal", false, true, 4));
	/* outside every known zone */
	assert_false(classify_stale_possible(f->c, "www.example.com", true, false, 4));
}

static void test_negative(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(classify_publish(f->c, f->v2, 0), 1);
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
	assert_int_equal(classify_publish(f->c, f->v2, 0), 1);
	assert_int_equal(classify_publish(f->c, f->v3, 10), 1);
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
	assert_int_equal(classify_add_version(f->c, f->v2, CLASSIFY_DISK, 0), 1);
	assert_int_equal(classify_add_version(f->c, f->v1, CLASSIFY_DISK, 0), 1);
	assert_int_equal(classify_add_version(f->c, f->v1, CLASSIFY_DISK, 0), 0); /* kept once */
	struct classify_result r = ask(f->c, "db-primary.internal", true, false, 1,
				       (const char *const[]){ "10.20.0.15", NULL });
	assert_int_equal(r.cls, CLASS_STALE);
	r = ask(f->c, "db-primary.internal", true, false, 1,
		(const char *const[]){ "10.20.0.42", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
}

/*
 * family "both" behind a per-query VIP: the A from the published version,
 * the AAAA from a stale disk copy. The AAAA is a decommissioned address:
 * the answer is stale, and the AAAA is the stale record.
 */
static void test_mixed_answer_is_stale(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(classify_publish(f->c, f->v2, 0), 1);
	assert_int_equal(classify_add_version(f->c, f->aaaa, CLASSIFY_DISK, 0), 1);
	struct classify_result r = ask(f->c, "db-primary.internal", true, true, 1,
				       (const char *const[]){ "10.20.0.42", "fd00:20::15", NULL });
	assert_int_equal(r.cls, CLASS_STALE);
	assert_int_equal(r.stale, 1u << 1); /* the AAAA, not the A */
	assert_int_equal(r.wrong, 0);
	assert_int_equal(r.serial, 2026110302);
	/* The whole stale copy's answer: both records stale. */
	r = ask(f->c, "db-primary.internal", true, true, 1,
		(const char *const[]){ "10.20.0.15", "fd00:20::15", NULL });
	assert_int_equal(r.cls, CLASS_STALE);
	assert_int_equal(r.stale, 3);
	/* A fresh record beside one from no version at all: wrong, the second named. */
	r = ask(f->c, "db-primary.internal", true, true, 1,
		(const char *const[]){ "10.20.0.42", "fd00:20::66", NULL });
	assert_int_equal(r.cls, CLASS_WRONG);
	assert_int_equal(r.wrong, 1u << 1);
	assert_int_equal(r.stale, 0);
	/* Stale and wrong together: wrong, both named. */
	r = ask(f->c, "db-primary.internal", true, true, 1,
		(const char *const[]){ "192.0.2.66", "fd00:20::15", NULL });
	assert_int_equal(r.cls, CLASS_WRONG);
	assert_int_equal(r.wrong, 1);
	assert_int_equal(r.stale, 2);
}

/* A disk copy with the published serial but other data: stale, not wrong (nor merged). */
static void test_same_serial_copy_is_stale(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(classify_publish(f->c, f->v2, 0), 1);
	assert_int_equal(classify_add_version(f->c, f->same, CLASSIFY_DISK, 0), 1);
	struct classify_result r = ask(f->c, "db-primary.internal", true, false, 1,
				       (const char *const[]){ "10.20.0.15", NULL });
	assert_int_equal(r.cls, CLASS_STALE);
	assert_int_equal(r.serial, 2026112502);
	uint8_t d2[ZONE_DIGEST_LEN], ds[ZONE_DIGEST_LEN];
	assert_int_equal(zone_version_digest(f->v2, d2), 0);
	assert_int_equal(zone_version_digest(f->same, ds), 0);
	assert_memory_not_equal(d2, ds, ZONE_DIGEST_LEN);
	assert_memory_equal(r.digest, ds, ZONE_DIGEST_LEN); /* the copy, not the published one */
	r = ask(f->c, "db-primary.internal", true, false, 1,
		(const char *const[]){ "10.20.0.42", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
	assert_memory_equal(r.digest, d2, ZONE_DIGEST_LEN);
}

/* Known first, the copy must not stand in for the published version of its serial. */
static void test_same_serial_copy_known_first(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(classify_add_version(f->c, f->same, CLASSIFY_DISK, 0), 1);
	assert_int_equal(classify_publish(f->c, f->v2, 0), 1);
	struct classify_result r = ask(f->c, "db-primary.internal", true, false, 1,
				       (const char *const[]){ "10.20.0.15", NULL });
	assert_int_equal(r.cls, CLASS_STALE);
	r = ask(f->c, "db-primary.internal", true, false, 1,
		(const char *const[]){ "10.20.0.42", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
}

/* A disk copy with a higher serial than the published one, and old data: stale. */
static void test_higher_serial_copy_is_stale(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(classify_publish(f->c, f->v2, 0), 1);
	assert_int_equal(classify_add_version(f->c, f->higher, CLASSIFY_DISK, 0), 1);
	struct classify_result r = ask(f->c, "db-primary.internal", true, false, 1,
				       (const char *const[]){ "10.20.0.15", NULL });
	assert_int_equal(r.cls, CLASS_STALE);
	assert_int_equal(r.serial, 2099010101);
	r = ask(f->c, "db-primary.internal", true, false, 1,
		(const char *const[]){ "10.20.0.42", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
}

/*
 * Grace covers the published version a publish replaced, never a disk copy
 * that was never published, even one carrying the replaced version's serial.
 */
static void test_grace_never_for_a_disk_copy(void **state)
{
	struct fixture *f = *state;
	classify_set_grace(f->c, 0.5);
	assert_int_equal(classify_add_version(f->c, f->same, CLASSIFY_DISK, 0), 1);
	assert_int_equal(classify_publish(f->c, f->v2, 0), 1);
	assert_int_equal(classify_publish(f->c, f->v3, 10), 1);
	struct classify_result r = ask(f->c, "db-primary.internal", true, false, 10.2,
				       (const char *const[]){ "10.20.0.15", NULL });
	assert_int_equal(r.cls, CLASS_STALE);
	assert_false(r.grace);
	r = ask(f->c, "db-primary.internal", true, false, 10.2,
		(const char *const[]){ "10.20.0.42", NULL });
	assert_int_equal(r.cls, CLASS_FRESH);
	assert_true(r.grace);
}

/* The digest: the same records in any order and letter case give the same digest. */
static void test_digest_by_content(void **state)
{
	struct fixture *f = *state;
	char err[256];
	size_t olen;
	const uint8_t *origin = zone_version_origin(f->v2, &olen);
	struct zone_builder *b = zone_builder_create(origin, "rebuilt");
	assert_non_null(b);
	/* Every record again, nodes last to first, owners in upper case. */
	for (size_t n = zone_version_node_count(f->v2); n-- > 0;) {
		uint8_t owner[256];
		const uint8_t *name = zone_node_name(f->v2, (uint32_t)n);
		size_t len = 0;
		while (name[len])
			len += name[len] + 1u;
		memcpy(owner, name, len + 1);
		for (size_t k = 0; k <= len; k++)
			if (owner[k] >= 'a' && owner[k] <= 'z')
				owner[k] = (uint8_t)(owner[k] - 'a' + 'A');
		for (unsigned i = 0; i < zone_node_rrset_count(f->v2, (uint32_t)n); i++) {
			struct zone_rrset rs = zone_node_rrset_at(f->v2, (uint32_t)n, i);
			const uint8_t *e = rs.rdata;
			for (unsigned k = 0; k < rs.count; k++) {
				const uint8_t *rd;
				uint16_t rl;
				e = zone_rdata_next(e, &rd, &rl);
				assert_int_equal(zone_builder_add(b, owner, rs.type, rs.ttl, rd, rl, 0, err,
								  sizeof err), 0);
			}
		}
	}
	struct zone_version *copy = zone_builder_finish(b, err, sizeof err);
	assert_non_null(copy);
	uint8_t d1[ZONE_DIGEST_LEN], d2[ZONE_DIGEST_LEN], d3[ZONE_DIGEST_LEN];
	assert_int_equal(zone_version_digest(f->v2, d1), 0);
	assert_int_equal(zone_version_digest(copy, d2), 0);
	assert_int_equal(zone_version_digest(f->same, d3), 0);
	assert_memory_equal(d1, d2, ZONE_DIGEST_LEN);
	assert_memory_not_equal(d1, d3, ZONE_DIGEST_LEN);
	char hex[ZONE_DIGEST_HEX];
	zone_digest_hex(d1, hex);
	assert_int_equal(strlen(hex), 64);
	/* Known by content: the rebuilt copy is the published version, not another. */
	assert_int_equal(classify_publish(f->c, f->v2, 0), 1);
	assert_int_equal(classify_add_version(f->c, copy, CLASSIFY_TRANSFER, 1), 0);
	zone_version_unref(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_fresh_stale_wrong, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_stale_possible, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_negative, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_publish_and_grace, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_no_source, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_mixed_answer_is_stale, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_same_serial_copy_is_stale, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_same_serial_copy_known_first, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_higher_serial_copy_is_stale, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_grace_never_for_a_disk_copy, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_digest_by_content, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
