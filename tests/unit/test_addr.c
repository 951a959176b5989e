/*
 * test_addr.c - address parsing, printing and the loopback rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fakeresolver/addr.h"

static void test_rejects_bad_text(void **state)
{
	(void)state;
	static const char *const bad[] = { "", "localhost", "127.0.0.1:", "127.0.0.1:65536",
					   "127.0.0.1:-1", "127.0.0.1:53x", "::1", "[::1",
					   "[::1]x", "300.1.1.1", "[127.0.0.1]:53" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct addr a;
		char err[256] = "";
		if (addr_parse(bad[i], 53, &a, err, sizeof err) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(err, bad[i]));
	}
}

static void test_parses_and_prints(void **state)
{
	(void)state;
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "127.0.0.11:5300", "127.0.0.11:5300" },
		{ "127.0.0.1", "127.0.0.1:53" },
		{ "127.0.0.1:0", "127.0.0.1:0" },
		{ "[::1]:5353", "[::1]:5353" },
		{ "[::1]", "[::1]:53" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct addr a;
		char err[256], buf[80];
		assert_int_equal(addr_parse(cases[i].in, 53, &a, err, sizeof err), 0);
		assert_string_equal(addr_str(&a, buf, sizeof buf), cases[i].out);
	}
}

static void test_loopback_rule(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		bool loopback;
	} cases[] = {
		{ "127.0.0.1", true },	       { "127.255.255.254", true }, { "[::1]", true },
		{ "[::ffff:127.0.0.9]", true }, { "128.0.0.1", false },	    { "10.0.0.1", false },
		{ "0.0.0.0", false },	       { "[::]", false },	    { "[fe80::1]", false },
		{ "126.255.255.255", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct addr a;
		char err[256];
		assert_int_equal(addr_parse(cases[i].in, 53, &a, err, sizeof err), 0);
		if (addr_is_loopback(&a) != cases[i].loopback)
			fail_msg("%s: loopback should be %d", cases[i].in, cases[i].loopback);
	}
}

static void test_set_port(void **state)
{
	(void)state;
	struct addr a;
	char err[256];
	assert_int_equal(addr_parse("[::1]:1", 53, &a, err, sizeof err), 0);
	addr_set_port(&a, 4242);
	assert_int_equal(addr_port(&a), 4242);
}

/* The same host whatever the ports, IPv4 and IPv6 alike (the client join). */
static void test_same_host(void **state)
{
	(void)state;
	static const struct {
		const char *a, *b;
		bool same;
	} cases[] = {
		{ "127.0.100.1:5000", "127.0.100.1:6000", true },
		{ "127.0.100.1", "127.0.100.2", false },
		{ "[::1]:5000", "[::1]:6000", true },
		{ "[::1]", "[::2]", false },
		{ "127.0.0.1", "[::ffff:127.0.0.1]", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct addr a, b;
		char err[256];
		assert_int_equal(addr_parse(cases[i].a, 53, &a, err, sizeof err), 0);
		assert_int_equal(addr_parse(cases[i].b, 53, &b, err, sizeof err), 0);
		if (addr_same_host(&a, &b) != cases[i].same || addr_same_host(&b, &a) != cases[i].same)
			fail_msg("%s vs %s: same should be %d", cases[i].a, cases[i].b, cases[i].same);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rejects_bad_text),
		cmocka_unit_test(test_parses_and_prints),
		cmocka_unit_test(test_loopback_rule),
		cmocka_unit_test(test_set_port),
		cmocka_unit_test(test_same_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
