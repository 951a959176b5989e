/*
 * test_cause.c - what went wrong (harness/record/cause.c), on histories
 * written here line by line, so that every count in a sentence can be
 * checked against lines one can count: a healthy run; a stale version served
 * through a VIP (tied by the query's lookup, by the route, and by nothing
 * but the version); a hang met through a VIP (the backend's line tied to the
 * lookup through its route); a full capacity queue; no backend up (a
 * userspace VIP's route lines, a kernel VIP's empty map); lookups
 * nothing on record explains; two causes with their shares; and the end of
 * the run read as "the end".
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

#include "harness/record/cause.h"
#include "harness/record/hist.h"

#define D1 "1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "2222222222222222222222222222222222222222222222222222222222222222"

static const char head[] =
        "{\"t\":0,\"type\":\"meta\",\"schema\":1,\"dnschaos\":\"0.1.0\",\"scenario\":\"t.lua\","
        "\"name\":\"t\",\"seed\":1,\"duration\":10.000}\n"
        "{\"t\":0.001,\"type\":\"version\",\"zone\":\"internal.\",\"serial\":2,\"digest\":\"" D2
        "\",\"known\":\"published\",\"file\":\"v2.zone\"}\n"
        "{\"t\":0.001,\"type\":\"publish\",\"source\":\"truth\",\"zone\":\"internal.\","
        "\"serial\":2,\"digest\":\"" D2 "\",\"file\":\"v2.zone\",\"initial\":true}\n"
        "{\"t\":0.002,\"type\":\"boot\",\"resolver\":\"r1\",\"from\":\"source\",\"ok\":true,"
        "\"zones\":[\"internal. 2\"],\"digests\":[\"" D2 "\"]}\n"
        "{\"t\":0.002,\"type\":\"boot\",\"resolver\":\"r2\",\"from\":\"source\",\"ok\":true,"
        "\"zones\":[\"internal. 2\"],\"digests\":[\"" D2 "\"]}\n";

/* A lookup's invoke line, and its completion line (`done` is the rest of it). */
static void invoke(FILE *f, double t, unsigned id, const char *client, const char *target)
{
	fprintf(f,
	        "{\"t\":%.3f,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"%s\","
	        "\"stack\":\"glibc\",\"id\":%u,\"name\":\"db.internal\",\"family\":\"A\","
	        "\"target\":\"%s\"}\n",
	        t, client, id, target);
}

static void complete(FILE *f, double t, unsigned id, const char *client, const char *done)
{
	fprintf(f,
	        "{\"t\":%.3f,\"type\":\"lookup\",\"client\":\"%s\",\"stack\":\"glibc\",\"id\":%u,"
	        "\"name\":\"db.internal\",%s}\n",
	        t, client, id, done);
}

/* A lookup with nothing in between: invoke at t, completion at t + 0.1. */
static void lookup(FILE *f, double t, unsigned id, const char *client, const char *target,
                   const char *done)
{
	invoke(f, t, id, client, target);
	complete(f, t + 0.1, id, client, done);
}

#define OK_FRESH                                                                                   \
	"\"event\":\"ok\",\"latency_ms\":1,\"answers\":[\"10.0.0.2\"],\"class\":\"fresh\","        \
	"\"serial\":2,\"digest\":\"" D2 "\",\"wire\":1"
#define OK_STALE                                                                                   \
	"\"event\":\"ok\",\"latency_ms\":1,\"answers\":[\"10.0.0.1\"],\"class\":\"stale\","        \
	"\"serial\":1,\"digest\":\"" D1 "\",\"stale_records\":[\"10.0.0.1\"],\"wire\":1"
#define TIMEOUT                                                                                    \
	"\"event\":\"timeout\",\"latency_ms\":2000,\"reason\":\"timeout\",\"error\":\"EAI_"        \
	"AGAIN\",\"wire\":2"
#define TIMEOUT_NOWIRE                                                                             \
	"\"event\":\"fail\",\"latency_ms\":0.1,\"reason\":\"servfail\",\"error\":\"x\",\"wire\":0"

struct run {
	char path[64];
	FILE *f;
	struct hist *h;
	struct causes *c;
};

static void begin(struct run *r)
{
	snprintf(r->path, sizeof r->path, "/tmp/test_cause.XXXXXX");
	int fd = mkstemp(r->path);
	assert_true(fd >= 0);
	r->f = fdopen(fd, "w");
	assert_non_null(r->f);
	fputs(head, r->f);
}

/* Ends the file, reads it back and works the causes out. */
static void finish(struct run *r)
{
	char err[512] = "";
	fputs("{\"t\":10.001,\"type\":\"state\",\"resolver\":\"r2\",\"state\":\"down\","
	      "\"why\":\"end\",\"address\":\"127.0.0.12:53\"}\n",
	      r->f);
	fputs("{\"t\":10.002,\"type\":\"end\",\"reason\":\"duration\",\"lines\":1}\n", r->f);
	fclose(r->f);
	r->h = hist_load(r->path, err, sizeof err);
	if (!r->h)
		fail_msg("%s", err);
	r->c = causes_find(r->h);
	assert_non_null(r->c);
}

static void done(struct run *r)
{
	causes_free(r->c);
	hist_free(r->h);
	unlink(r->path);
}

static void test_healthy(void **state)
{
	(void)state;
	struct run r;
	begin(&r);
	lookup(r.f, 1.0, 1, "app", "r1", OK_FRESH);
	lookup(r.f, 1.5, 2, "app", "r1", OK_FRESH);
	lookup(r.f, 1.6, 3, "other", "r1", OK_FRESH);
	finish(&r);
	assert_int_equal(causes_count(r.c), 0);
	assert_int_equal(causes_lookups(r.c), 3);
	assert_int_equal(causes_bad(r.c), 0);
	assert_string_equal(causes_summary(r.c), "nothing went wrong: all 3 lookups of 2 clients "
	                                         "were answered, none stale or wrong");
	done(&r);
}

/* The stale disk copy: r2 reboots from it at 3 s and lies through the VIP to the end. */
static void stale_reboot(FILE *f)
{
	fputs("{\"t\":3.0,\"type\":\"version\",\"zone\":\"internal.\",\"serial\":1,\"digest\":\"" D1
	      "\",\"known\":\"disk\",\"file\":\"v1.zone\"}\n"
	      "{\"t\":3.0,\"type\":\"boot\",\"resolver\":\"r2\",\"from\":\"file\",\"ok\":true,"
	      "\"zones\":[\"internal. 1\"],\"digests\":[\"" D1 "\"]}\n",
	      f);
}

static void route(FILE *f, double t, const char *backend, unsigned lookup_id, unsigned qid)
{
	fprintf(f,
	        "{\"t\":%.3f,\"type\":\"route\",\"vip\":\"vip\",\"transport\":\"udp\","
	        "\"src\":\"127.0.0.1:4000\",\"id\":%u,\"backend\":\"%s\",\"flow\":\"new\","
	        "\"action\":\"forwarded\",\"qname\":\"db.internal.\",\"qtype\":\"A\","
	        "\"client\":\"app\",\"lookup\":%u,\"cause\":\"first\"}\n",
	        t, qid, backend, lookup_id);
}

static void test_stale_three_ways(void **state)
{
	(void)state;
	struct run r;
	begin(&r);
	lookup(r.f, 1.0, 1, "app", "vip", OK_FRESH);
	stale_reboot(r.f);
	/* 2: the resolver's own line names the lookup */
	invoke(r.f, 4.0, 2, "app", "vip");
	fputs("{\"t\":4.001,\"type\":\"query\",\"resolver\":\"r2\",\"transport\":\"udp\","
	      "\"src\":\"127.0.0.1:4001\",\"id\":7,\"qname\":\"db.internal.\",\"qtype\":\"A\","
	      "\"action\":\"answered\",\"rcode\":\"NOERROR\",\"an\":1,\"serial\":1,"
	      "\"client\":\"app\",\"lookup\":2,\"cause\":\"first\"}\n",
	      r.f);
	complete(r.f, 4.1, 2, "app", OK_STALE);
	/* 3: only the VIP's route names it */
	invoke(r.f, 5.0, 3, "app", "vip");
	route(r.f, 5.001, "r2", 3, 8);
	complete(r.f, 5.1, 3, "app", OK_STALE);
	/* 4: nothing names it; r2 is the only one serving serial 1 */
	lookup(r.f, 6.0, 4, "app", "vip", OK_STALE);
	lookup(r.f, 7.0, 5, "app", "vip", OK_FRESH);
	finish(&r);

	assert_int_equal(causes_count(r.c), 1);
	assert_int_equal(causes_bad(r.c), 3);
	assert_int_equal(causes_lookups(r.c), 5);
	const struct cause *k = causes_get(r.c, 0);
	assert_int_equal(k->kind, CAUSE_STALE);
	assert_string_equal(k->who, "r2");
	assert_string_equal(k->vip, "vip");
	assert_int_equal(k->lookups, 3);
	assert_true(k->from == 3.0 && k->to < 0);
	assert_string_equal(k->text, "r2 served serial 1 (published: 2) from 3.0 s to the end; "
	                             "3 of 5 lookups of app got its stale answer through vip");
	assert_string_equal(causes_summary(r.c),
	                    "3 of 5 lookups failed or got a stale or wrong answer: 1 cause");
	done(&r);
}

/* A hang at r2 met through the VIP: r2's line has no lookup; the route ties it. */
static void test_hang_through_vip_and_shares(void **state)
{
	(void)state;
	struct run r;
	begin(&r);
	fputs("{\"t\":2.0,\"type\":\"fault\",\"target\":\"r2\",\"fault\":\"hang\",\"id\":4,"
	      "\"action\":\"inject\"}\n"
	      "{\"t\":2.0,\"type\":\"fault\",\"target\":\"r1\",\"fault\":\"capacity\",\"id\":5,"
	      "\"action\":\"inject\",\"qps\":40}\n",
	      r.f);
	for (unsigned i = 0; i < 3; i++) {
		double t = 3.0 + i;
		invoke(r.f, t, 10 + i, "app", "vip");
		route(r.f, t + 0.001, "r2", 10 + i, 100 + i);
		fprintf(r.f,
		        "{\"t\":%.3f,\"type\":\"query\",\"resolver\":\"r2\",\"transport\":\"udp\","
		        "\"src\":\"127.0.0.13:5000\",\"id\":%u,\"qname\":\"db.internal.\","
		        "\"qtype\":\"A\",\"action\":\"dropped\",\"fault\":4}\n",
		        t + 0.002, 900 + i);
		complete(r.f, t + 0.1, 10 + i, "app", TIMEOUT);
	}
	/* One lookup refused by r1's full queue, asking r1 directly. */
	invoke(r.f, 6.5, 20, "direct", "r1");
	fputs("{\"t\":6.501,\"type\":\"query\",\"resolver\":\"r1\",\"transport\":\"udp\","
	      "\"src\":\"127.0.0.1:4002\",\"id\":9,\"qname\":\"db.internal.\",\"qtype\":\"A\","
	      "\"action\":\"queue-full\",\"fault\":5,\"client\":\"direct\",\"lookup\":20,"
	      "\"cause\":\"first\"}\n",
	      r.f);
	complete(r.f, 6.6, 20, "direct", TIMEOUT);
	fputs("{\"t\":8.0,\"type\":\"fault\",\"target\":\"r2\",\"fault\":\"hang\",\"id\":4,"
	      "\"action\":\"heal\"}\n",
	      r.f);
	lookup(r.f, 9.0, 21, "direct", "r1", OK_FRESH);
	finish(&r);

	assert_int_equal(causes_count(r.c), 2);
	assert_int_equal(causes_bad(r.c), 4);
	const struct cause *a = causes_get(r.c, 0), *b = causes_get(r.c, 1);
	assert_int_equal(a->kind, CAUSE_HANG);
	assert_string_equal(a->who, "r2");
	assert_int_equal(a->lookups, 3);
	assert_string_equal(a->text, "r2 did not answer (hang, fault 4) from 2.0 s to 8.0 s; "
	                             "3 of 3 lookups of app timed out through vip "
	                             "(75% of the 4 failed or lying lookups)");
	assert_int_equal(b->kind, CAUSE_CAPACITY);
	assert_string_equal(b->who, "r1");
	assert_null(b->vip);
	assert_string_equal(b->text, "r1 was over its capacity of 40 queries/s (fault 5) at "
	                             "6.5 s; 1 of 2 lookups of direct timed out directly "
	                             "(25% of the 4 failed or lying lookups)");
	done(&r);
}

static void test_no_backend_and_unknown(void **state)
{
	(void)state;
	struct run r;
	begin(&r);
	invoke(r.f, 2.0, 1, "app", "vip");
	fputs("{\"t\":2.001,\"type\":\"route\",\"vip\":\"vip\",\"transport\":\"udp\","
	      "\"src\":\"127.0.0.1:4000\",\"id\":1,\"backend\":null,\"flow\":\"new\","
	      "\"action\":\"no-backend\",\"qname\":\"db.internal.\",\"qtype\":\"A\","
	      "\"client\":\"app\",\"lookup\":1,\"cause\":\"first\"}\n",
	      r.f);
	complete(r.f, 2.1, 1, "app", TIMEOUT);
	lookup(r.f, 3.0, 2, "app", "vip", TIMEOUT);
	lookup(r.f, 3.5, 3, "app", "vip", TIMEOUT);
	finish(&r);
	assert_int_equal(causes_count(r.c), 2);
	const struct cause *a = causes_get(r.c, 0), *b = causes_get(r.c, 1);
	assert_int_equal(a->kind, CAUSE_UNKNOWN);
	assert_null(a->who);
	assert_int_equal(a->lookups, 2);
	assert_non_null(strstr(a->text, "2 of 3 lookups of app timed out with nothing on record"));
	assert_int_equal(b->kind, CAUSE_NO_BACKEND);
	assert_string_equal(b->who, "vip");
	assert_non_null(strstr(b->text, "vip had no backend up at 2.0 s; 1 of 3 lookups of app "
	                                "timed out through vip (33% of the 3"));
	done(&r);
}

/* A kernel VIP's `vip` line (no route lines follow); in_map NULL: an older history's. */
static void kernel_vip(FILE *f, const char *in_map)
{
	fprintf(f,
	        "{\"t\":0.01,\"type\":\"vip\",\"vip\":\"kv\",\"address\":\"127.0.0.13:53\","
	        "\"kind\":\"nftables\",\"policy\":\"flow\",\"on_down\":\"keep\",\"on_refused\":"
	        "\"icmp\",\"icmp\":true,\"table\":\"t\",\"flow_idle\":30,\"backends\":[\"r1\","
	        "\"r2\"]%s%s%s}\n",
	        in_map ? ",\"in_map\":[" : "", in_map ? in_map : "", in_map ? "]" : "");
}

static void membership(FILE *f, double t, const char *backend, const char *event)
{
	fprintf(f,
	        "{\"t\":%.3f,\"type\":\"health\",\"vip\":\"kv\",\"backend\":\"%s\","
	        "\"event\":\"%s\",\"reason\":\"x\",\"kernel_ms\":1}\n",
	        t, backend, event);
}

/*
 * A kernel VIP writes no route line: a failed lookup through it while its
 * map was empty the whole time (its map at start, then up/down/member/
 * removed) is charged to it; one while a backend was in the map, or that
 * saw a backend come back before it ended, is not; and an older history,
 * whose `vip` line does not say what the map held at start, charges none.
 */
static void test_kernel_vip_empty(void **state)
{
	(void)state;
	for (int older = 0; older < 2; older++) {
		struct run r;
		begin(&r);
		kernel_vip(r.f, older ? NULL : "\"r1\"");           /* r2 starts out of the map */
		lookup(r.f, 1.0, 1, "app", "kv", TIMEOUT);           /* r1 in the map */
		membership(r.f, 2.0, "r1", "down");
		lookup(r.f, 2.5, 2, "app", "kv", TIMEOUT);           /* empty */
		lookup(r.f, 3.0, 3, "app", "kv", TIMEOUT);           /* empty */
		invoke(r.f, 3.95, 4, "app", "kv");                   /* r2 comes in meanwhile */
		membership(r.f, 4.0, "r2", "up");
		complete(r.f, 4.05, 4, "app", TIMEOUT);
		membership(r.f, 4.5, "r2", "removed");               /* by hand: empty again */
		lookup(r.f, 5.0, 5, "app", "kv", TIMEOUT);
		membership(r.f, 6.0, "r2", "member");
		lookup(r.f, 6.5, 6, "app", "kv", TIMEOUT);           /* r2 back */
		finish(&r);
		if (older) {
			assert_int_equal(causes_count(r.c), 1);
			assert_int_equal(causes_get(r.c, 0)->kind, CAUSE_UNKNOWN);
			assert_int_equal(causes_get(r.c, 0)->lookups, 6);
			done(&r);
			continue;
		}
		assert_int_equal(causes_count(r.c), 2);
		const struct cause *a = causes_get(r.c, 0), *b = causes_get(r.c, 1);
		if (a->kind != CAUSE_NO_BACKEND) { /* three lookups each: either order */
			const struct cause *x = a;
			a = b;
			b = x;
		}
		assert_int_equal(a->kind, CAUSE_NO_BACKEND);
		assert_string_equal(a->who, "kv");
		assert_int_equal(a->lookups, 3);
		assert_non_null(strstr(a->text, "kv had no backend up from 2.5 s to 5.0 s; 3 of 6 "
		                                "lookups of app timed out through kv"));
		assert_int_equal(b->kind, CAUSE_UNKNOWN);
		assert_int_equal(b->lookups, 3);
		done(&r);
	}
}

/* A stack that gave up on its servers fails without a query: said so. */
static void test_no_query_sent(void **state)
{
	(void)state;
	struct run r;
	begin(&r);
	lookup(r.f, 2.0, 1, "ldns", "r1", TIMEOUT_NOWIRE);
	finish(&r);
	assert_int_equal(causes_count(r.c), 1);
	assert_string_equal(
	        causes_get(r.c, 0)->text,
	        "1 of 1 lookups of ldns failed with no query tied to them (the stack sent "
	        "none, as ldns once it gave up on its servers, or the join could not "
	        "tell whose they were)");
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_healthy),
	        cmocka_unit_test(test_stale_three_ways),
	        cmocka_unit_test(test_hang_through_vip_and_shares),
	        cmocka_unit_test(test_no_backend_and_unknown),
	        cmocka_unit_test(test_kernel_vip_empty),
	        cmocka_unit_test(test_no_query_sent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
