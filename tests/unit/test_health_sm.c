/*
 * test_health_sm.c - the health checker's decisions (harness/lb/health_sm.h),
 * without I/O: the rise/fall state machine, exactly as documented and
 * against a model over random sequences with fixed seeds; RFC 1982 serial
 * arithmetic; the verdicts on a DNS probe and on a command; the probe grid.
 *
 * Bad parameters first, then behaviour. No clock is read, no socket opened
 * (the command verdicts wait for real children that exit at once).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "fakeresolver/probe.h"
#include "harness/lb/health_sm.h"

#define SERIAL_V1 2026110301
#define SERIAL_V2 2026112502

/* ---- bad parameters ---- */

static void test_sm_bad_parameters(void **state)
{
	(void)state;
	health_sm_destroy(NULL); /* a no-op */
	/* Thresholds of 0 are taken as 1. */
	struct health_sm *sm = health_sm_create(0, 0, false);
	assert_non_null(sm);
	assert_true(health_sm_feed(sm, true));
	assert_true(health_sm_feed(sm, false));
	health_sm_destroy(sm);
	/* States feeding cannot leave: both runs, or a run past its threshold. */
	assert_null(health_sm_create_at(3, 2, true, 1, 1));
	assert_null(health_sm_create_at(3, 2, false, 3, 0));
	assert_null(health_sm_create_at(3, 2, true, 0, 2));
	sm = health_sm_create_at(3, 2, false, 2, 0);
	assert_non_null(sm);
	assert_true(health_sm_feed(sm, true)); /* the third success */
	assert_int_equal(health_sm_run(sm), 3);
	health_sm_destroy(sm);
}

/* ---- the state machine ---- */

static void test_sm_rise_fall_exact(void **state)
{
	struct health_sm *sm;
	(void)state;
	sm = health_sm_create(3, 2, false);
	assert_non_null(sm);
	assert_false(health_sm_up(sm));

	/* Down: two successes, a failure resets, then exactly three. */
	assert_false(health_sm_feed(sm, true));
	assert_false(health_sm_feed(sm, true));
	assert_false(health_sm_feed(sm, false));
	assert_int_equal(health_sm_successes(sm), 0);
	assert_false(health_sm_feed(sm, true));
	assert_false(health_sm_feed(sm, true));
	assert_false(health_sm_up(sm));
	assert_true(health_sm_feed(sm, true));
	assert_true(health_sm_up(sm));
	assert_int_equal(health_sm_successes(sm), 3); /* the run that caused it */

	/* Up: one failure, a success resets, then exactly two. */
	assert_false(health_sm_feed(sm, false));
	assert_false(health_sm_feed(sm, true));
	assert_int_equal(health_sm_failures(sm), 0);
	assert_false(health_sm_feed(sm, false));
	assert_true(health_sm_up(sm));
	assert_true(health_sm_feed(sm, false));
	assert_false(health_sm_up(sm));
	assert_int_equal(health_sm_failures(sm), 2);

	/* Down again: failures do nothing, and rise counts from the last failure. */
	for (int i = 0; i < 5; i++)
		assert_false(health_sm_feed(sm, false));
	assert_int_equal(health_sm_failures(sm), 7);
	assert_false(health_sm_feed(sm, true));
	assert_false(health_sm_feed(sm, true));
	assert_true(health_sm_feed(sm, true));
	assert_int_equal(health_sm_successes(sm), 3);
	assert_int_equal(health_sm_run(sm), 3);
	health_sm_destroy(sm);
}

static void test_sm_initial_up(void)
{
	struct health_sm *sm;
	sm = health_sm_create(3, 2, true);
	assert_non_null(sm);
	assert_true(health_sm_up(sm));
	assert_false(health_sm_feed(sm, false));
	assert_true(health_sm_feed(sm, false));
	assert_false(health_sm_up(sm));
	assert_int_equal(health_sm_run(sm), 2);
	health_sm_destroy(sm);
}

static void test_sm_one_one(void **state)
{
	struct health_sm *sm;
	(void)state;
	test_sm_initial_up();
	sm = health_sm_create(1, 1, false);
	assert_non_null(sm);
	assert_true(health_sm_feed(sm, true));
	assert_int_equal(health_sm_successes(sm), 1);
	assert_false(health_sm_feed(sm, true));
	assert_true(health_sm_feed(sm, false));
	assert_int_equal(health_sm_failures(sm), 1);
	assert_false(health_sm_feed(sm, false));
	assert_true(health_sm_feed(sm, true));
	health_sm_destroy(sm);
}

static void test_sm_no_flapping(void **state)
{
	struct health_sm *sm;
	(void)state;
	sm = health_sm_create(3, 2, true);
	assert_non_null(sm);
	for (int i = 0; i < 1000; i++)
		assert_false(health_sm_feed(sm, true));
	assert_true(health_sm_up(sm));
	assert_int_equal(health_sm_successes(sm), 1000);
	/* Isolated failures below fall never take it down. */
	for (int i = 0; i < 1000; i++)
		assert_false(health_sm_feed(sm, i % 2 == 0));
	assert_true(health_sm_up(sm));
	health_sm_destroy(sm);

	sm = health_sm_create(3, 2, false);
	assert_non_null(sm);
	for (int i = 0; i < 1000; i++)
		assert_false(health_sm_feed(sm, false));
	assert_false(health_sm_up(sm));
	/* Runs of two successes never reach rise 3. */
	for (int i = 0; i < 999; i++)
		assert_false(health_sm_feed(sm, i % 3 != 2));
	assert_false(health_sm_up(sm));
	health_sm_destroy(sm);
}

/* Runs saturate at UINT_MAX (reached through health_sm_create_at: feeding
 * four billion outcomes would take too long for a unit test). */
static void test_sm_saturates(void **state)
{
	struct health_sm *sm;
	(void)state;
	sm = health_sm_create_at(2, 2, true, UINT_MAX, 0);
	assert_non_null(sm);
	assert_false(health_sm_feed(sm, true));
	assert_int_equal(health_sm_successes(sm), UINT_MAX);
	assert_false(health_sm_feed(sm, false));
	assert_int_equal(health_sm_successes(sm), 0);
	assert_true(health_sm_feed(sm, false));
	health_sm_destroy(sm);
	sm = health_sm_create_at(2, 2, false, 0, UINT_MAX);
	assert_non_null(sm);
	assert_false(health_sm_feed(sm, false));
	assert_int_equal(health_sm_failures(sm), UINT_MAX);
	assert_false(health_sm_up(sm));
	assert_int_equal(health_sm_run(sm), UINT_MAX);
	health_sm_destroy(sm);
}

static void test_serial_arithmetic(void **state)
{
	(void)state;
	assert_true(health_serial_ge(SERIAL_V2, SERIAL_V2));
	assert_true(health_serial_ge(SERIAL_V2, SERIAL_V1));
	assert_false(health_serial_ge(SERIAL_V1, SERIAL_V2));
	/* Wrap-around: 1 follows 0xffffffff. */
	assert_true(health_serial_ge(1, 0xffffffffu));
	assert_false(health_serial_ge(0xffffffffu, 1));
	assert_true(health_serial_ge(0x7fffffffu, 0));
	assert_false(health_serial_ge(0, 0x7fffffffu));
	/* Exactly 2^31 apart: undefined, so neither is >=. */
	assert_false(health_serial_ge(0x80000000u, 0));
	assert_false(health_serial_ge(0, 0x80000000u));
	assert_true(health_serial_ge(0x80000001u, 2));
	assert_true(health_serial_ge(0, 0x80000001u));
}

static void test_kind_names(void **state)
{
	enum health_kind k;
	(void)state;
	const char *names[] = { "alive", "rcode", "serial", "exec" };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(health_kind_parse(names[i], &k), 0);
		assert_string_equal(health_kind_name(k), names[i]);
	}
	assert_int_equal(health_kind_parse("Serial", &k), -1);
	assert_int_equal(health_kind_parse("", &k), -1);
	assert_int_equal(health_kind_parse(NULL, &k), -1);
}

/* ---- the verdict on one probe ---- */

static ldns_pkt *reply_with(const char *rr_text, uint16_t rcode)
{
	ldns_pkt *pkt = ldns_pkt_new();
	assert_non_null(pkt);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	if (rr_text) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_str(&rr, rr_text, 300, NULL, NULL);
		assert_int_equal(st, LDNS_STATUS_OK);
		assert_true(ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr));
	}
	return pkt;
}

static bool judge(enum health_kind kind, enum probe_status st, ldns_pkt *pkt, uint16_t rcode,
		  int64_t published, int64_t *serial, char *reason, size_t len)
{
	struct probe_result res;
	memset(&res, 0, sizeof res);
	res.status = st;
	res.pkt = pkt;
	res.rcode = rcode;
	if (st == PROBE_REFUSED)
		snprintf(res.error, sizeof res.error, "port unreachable");
	if (st == PROBE_ERROR)
		snprintf(res.error, sizeof res.error, "malformed reply (3 octets)");
	bool ok = health_judge_dns(kind, &res, "internal.", published, 0.5, serial, reason, len);
	return ok;
}

static void test_judge(void **state)
{
	char why[256];
	int64_t serial;
	(void)state;
	ldns_pkt *v1 = reply_with("internal. IN SOA ns1.internal. hostmaster.internal. "
				  "2026110301 3600 600 86400 60",
				  LDNS_RCODE_NOERROR);
	ldns_pkt *wrap = reply_with("INTERNAL. IN SOA ns1.internal. hostmaster.internal. "
				    "1 3600 600 86400 60",
				    LDNS_RCODE_NOERROR);
	ldns_pkt *other = reply_with("other. IN SOA ns1.other. hostmaster.other. "
				     "2026112502 3600 600 86400 60",
				     LDNS_RCODE_NOERROR);
	ldns_pkt *a = reply_with("internal. IN A 10.0.0.1", LDNS_RCODE_NOERROR);

	assert_false(
		judge(HEALTH_SERIAL, PROBE_ANSWER, v1, 0, SERIAL_V2, &serial, why, sizeof why));
	assert_string_equal(why, "serial 2026110301 < published 2026112502");
	assert_int_equal(serial, SERIAL_V1);
	assert_true(judge(HEALTH_SERIAL, PROBE_ANSWER, v1, 0, SERIAL_V1, &serial, why, sizeof why));
	assert_string_equal(why, "serial 2026110301 >= published 2026110301");
	assert_true(judge(HEALTH_SERIAL, PROBE_ANSWER, v1, 0, -1, &serial, why, sizeof why));
	assert_string_equal(why, "serial 2026110301, no published serial");
	/* The owner compares without case; the serial wraps. */
	assert_true(judge(HEALTH_SERIAL, PROBE_ANSWER, wrap, 0, 0xffffffffu, &serial, why,
			  sizeof why));
	assert_string_equal(why, "serial 1 >= published 4294967295");
	/* Another zone's SOA, or no SOA, is no serial. */
	assert_false(judge(HEALTH_SERIAL, PROBE_ANSWER, other, 0, -1, &serial, why, sizeof why));
	assert_string_equal(why, "no SOA for internal. in the answer");
	assert_int_equal(serial, -1);
	assert_false(judge(HEALTH_SERIAL, PROBE_ANSWER, a, 0, -1, &serial, why, sizeof why));
	/* An error rcode fails serial and rcode checks; alive takes any answer. */
	assert_false(judge(HEALTH_SERIAL, PROBE_ANSWER, v1, LDNS_RCODE_SERVFAIL, -1, &serial, why,
			   sizeof why));
	assert_string_equal(why, "rcode SERVFAIL");
	assert_false(judge(HEALTH_RCODE, PROBE_ANSWER, a, LDNS_RCODE_REFUSED, -1, &serial, why,
			   sizeof why));
	assert_string_equal(why, "rcode REFUSED");
	assert_true(judge(HEALTH_RCODE, PROBE_ANSWER, a, 0, -1, &serial, why, sizeof why));
	assert_string_equal(why, "rcode NOERROR");
	assert_int_equal(serial, -1);
	assert_true(judge(HEALTH_ALIVE, PROBE_ANSWER, a, LDNS_RCODE_NXDOMAIN, -1, &serial, why,
			  sizeof why));
	assert_string_equal(why, "answered NXDOMAIN");
	/* No answer fails every kind. */
	for (int k = HEALTH_ALIVE; k <= HEALTH_SERIAL; k++) {
		assert_false(judge((enum health_kind)k, PROBE_TIMEOUT, NULL, 0, -1, &serial, why,
				   sizeof why));
		assert_string_equal(why, "timeout after 0.5 s");
		assert_false(judge((enum health_kind)k, PROBE_REFUSED, NULL, 0, -1, &serial, why,
				   sizeof why));
		assert_string_equal(why, "port unreachable");
		assert_false(judge((enum health_kind)k, PROBE_ERROR, NULL, 0, -1, &serial, why,
				   sizeof why));
		assert_string_equal(why, "malformed reply (3 octets)");
	}
	ldns_pkt_free(v1);
	ldns_pkt_free(wrap);
	ldns_pkt_free(other);
	ldns_pkt_free(a);
}

/* ---- the state machine against a model ---- */

static uint64_t mix_state;

static uint64_t mix_next(void)
{
	uint64_t z = (mix_state += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

#define SEQ_MAX 3000

/*
 * The model reads the whole history of outcomes instead of counting: a
 * machine that is down goes up when the last rise outcomes were all
 * successes; one that is up goes down when the last fall outcomes were all
 * failures. The runs are the trailing stretches of equal outcomes.
 */
static unsigned trailing(const bool *seq, size_t n, bool v)
{
	unsigned k = 0;
	while (k < n && seq[n - 1 - k] == v)
		k++;
	return k;
}

static void test_sm_model(void **state)
{
	static bool seq[SEQ_MAX];
	(void)state;
	mix_state = 2026;
	for (int trial = 0; trial < 400; trial++) {
		unsigned rise = 1 + (unsigned)(mix_next() % 5);
		unsigned fall = 1 + (unsigned)(mix_next() % 5);
		bool up = mix_next() & 1;
		/* Each trial its own bias: mostly failing, flapping, mostly passing. */
		unsigned p_ok = (unsigned)(mix_next() % 101);
		size_t n = 1 + (size_t)(mix_next() % SEQ_MAX);
		struct health_sm *sm = health_sm_create(rise, fall, up);
		assert_non_null(sm);
		bool model_up = up;
		unsigned changes = 0;
		for (size_t i = 0; i < n; i++) {
			seq[i] = mix_next() % 100 < p_ok;
			bool changed = health_sm_feed(sm, seq[i]);
			bool was = model_up;
			if (!model_up && trailing(seq, i + 1, true) >= rise)
				model_up = true;
			else if (model_up && trailing(seq, i + 1, false) >= fall)
				model_up = false;
			assert_int_equal(changed, was != model_up);
			assert_int_equal(health_sm_up(sm), model_up);
			assert_int_equal(health_sm_successes(sm), trailing(seq, i + 1, true));
			assert_int_equal(health_sm_failures(sm), trailing(seq, i + 1, false));
			/* A change is caused by a run of exactly rise or fall. */
			if (changed) {
				assert_int_equal(health_sm_run(sm), model_up ? rise : fall);
				changes++;
			}
			/* An outcome that agrees with the state never changes it. */
			if (seq[i] == was)
				assert_false(changed);
		}
		/* Changes alternate: up, down, up... from the initial state. */
		assert_int_equal(health_sm_up(sm), (changes % 2 == 0) == up);
		health_sm_destroy(sm);
	}
}

/* ---- the verdict on a command ---- */

/* The wait status of a child that exits with code, or kills itself with sig. */
static int child_status(int code, int sig)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (sig)
			raise(sig);
		_exit(code);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void test_judge_exec(void **state)
{
	char why[128];
	int code = 42;
	(void)state;
	assert_true(health_judge_exec(child_status(0, 0), false, 2, &code, why, sizeof why));
	assert_int_equal(code, 0);
	assert_string_equal(why, "exit 0");
	assert_false(health_judge_exec(child_status(3, 0), false, 2, &code, why, sizeof why));
	assert_int_equal(code, 3);
	assert_string_equal(why, "exit 3");
	assert_false(health_judge_exec(child_status(0, SIGKILL), false, 2, &code, why, sizeof why));
	assert_int_equal(code, -1);
	assert_string_equal(why, "killed by signal 9");
	/* Killed at the timeout: whatever the status says. */
	assert_false(health_judge_exec(0, true, 0.5, &code, why, sizeof why));
	assert_int_equal(code, -1);
	assert_string_equal(why, "killed after 0.5 s timeout");
	/* A reason is cut to the buffer, never overrun. */
	char small[5];
	memset(small, 'x', sizeof small);
	assert_false(health_judge_exec(child_status(12, 0), false, 2, &code, small, 4));
	assert_string_equal(small, "exi");
	assert_int_equal(small[4], 'x');
}

/* ---- the grid ---- */

static void test_grid(void **state)
{
	(void)state;
	/* On time, or a little early: the next slot. */
	assert_true(health_grid_next(10.0, 10.0, 0.5) == 10.5);
	assert_true(health_grid_next(10.0, 9.99, 0.5) == 10.5);
	assert_true(health_grid_next(10.0, 10.49, 0.5) == 10.5);
	/* Late by slots: those are skipped, the next one still ahead. */
	assert_true(health_grid_next(10.0, 10.5, 0.5) == 11.0);
	assert_true(health_grid_next(10.0, 12.25, 0.5) == 12.5);
	assert_true(health_grid_next(10.0, 12.5, 0.5) == 13.0);

	/* Random lateness, on values exact in binary: always the first slot of
	 * the grid after now. */
	mix_state = 7;
	for (int i = 0; i < 100000; i++) {
		double interval = (double)(1 + mix_next() % 64) / 16.0;
		double due = (double)(mix_next() % 100000) / 64.0;
		double now = due - 0.015625 + (double)(mix_next() % 20000) / 64.0;
		double next = health_grid_next(due, now, interval);
		assert_true(next > now);
		assert_true(next - interval <= now || next - interval == due);
		double k = (next - due) / interval;
		assert_true(k >= 1 && k == floor(k));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sm_bad_parameters),
		cmocka_unit_test(test_sm_rise_fall_exact),
		cmocka_unit_test(test_sm_one_one),
		cmocka_unit_test(test_sm_no_flapping),
		cmocka_unit_test(test_sm_saturates),
		cmocka_unit_test(test_sm_model),
		cmocka_unit_test(test_serial_arithmetic),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_judge_exec),
		cmocka_unit_test(test_grid),
	};
	return cmocka_run_group_tests_name("health_sm", tests, NULL, NULL);
}
