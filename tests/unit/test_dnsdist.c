/*
 * test_dnsdist.c - the plain parts of the dnsdist VIP (harness/lb/dnsdist.h):
 * the configuration it is handed (security polling off first and last, the
 * user's file wrapped, strings escaped) and its API's answer read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include "harness/lb/dnsdist.h"

static void base(struct dnsdist_conf *c)
{
	memset(c, 0, sizeof *c);
	c->listen = "127.0.0.12:5300";
	c->webserver = "127.0.0.1:8083";
	c->api_key = "k3y";
	c->n = 2;
	snprintf(c->b[0].member, sizeof c->b[0].member, "r1");
	snprintf(c->b[0].server, sizeof c->b[0].server, "r1");
	snprintf(c->b[0].address, sizeof c->b[0].address, "127.0.0.10:4001");
	snprintf(c->b[1].member, sizeof c->b[1].member, "r\"2\\");
	snprintf(c->b[1].server, sizeof c->b[1].server, "ns-b");
	snprintf(c->b[1].address, sizeof c->b[1].address, "127.0.0.11:4002");
}

/* The text after the last occurrence of needle, or NULL. */
static const char *after_last(const char *s, const char *needle)
{
	const char *last = NULL;
	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		last = p;
	return last ? last + strlen(needle) : NULL;
}

static void test_bad(void **state)
{
	(void)state;
	struct dnsdist_conf c;
	char *t = (char *)1;
	base(&c);
	c.n = 0;
	assert_int_equal(dnsdist_conf_text(&c, &t), -EINVAL);
	assert_null(t);
	base(&c);
	c.n = DNSDIST_BACKENDS_MAX + 1;
	assert_int_equal(dnsdist_conf_text(&c, &t), -EINVAL);
	base(&c);
	c.listen = NULL;
	assert_int_equal(dnsdist_conf_text(&c, &t), -EINVAL);
	base(&c);
	c.health = true; /* generated checks need a name and type */
	assert_int_equal(dnsdist_conf_text(&c, &t), -EINVAL);
}

/* Generated: poll suffix off before anything and again after everything of the
 * servers; every backend a newServer named after its member; checks as asked. */
static void test_generated(void **state)
{
	(void)state;
	struct dnsdist_conf c;
	char *t = NULL;
	base(&c);
	c.policy = "roundrobin";
	c.udp_timeout_s = 5;
	c.health = true;
	c.check_interval_s = 1;
	c.check_timeout_ms = 250;
	c.rise = 2;
	c.fall = 3;
	c.must_resolve = true;
	snprintf(c.check_name, sizeof c.check_name, "internal.");
	snprintf(c.check_type, sizeof c.check_type, "SOA");
	assert_int_equal(dnsdist_conf_text(&c, &t), 0);
	const char *first = strstr(t, "\nsetSecurityPollSuffix(\"\")\n");
	assert_non_null(first);
	assert_true(first < strstr(t, "newServer"));
	const char *tail = after_last(t, "newServer(");
	assert_non_null(strstr(tail, "setSecurityPollSuffix(\"\")\nsetLocal(\"127.0.0.12:5300\")"));
	assert_non_null(strstr(t, "address = \"127.0.0.10:4001\", name = \"r1\", weight = 1, order = 1"));
	assert_non_null(strstr(t, "name = \"r\\\"2\\\\\""));
	assert_non_null(strstr(t, "checkInterval = 1, checkTimeout = 250, maxCheckFailures = 3, rise = 2"));
	assert_non_null(strstr(t, "checkName = \"internal.\", checkType = \"SOA\", mustResolve = true"));
	assert_non_null(strstr(t, "setServerPolicy(roundrobin)"));
	assert_non_null(strstr(t, "setUDPTimeout(5)"));
	assert_non_null(strstr(t, "webserver(\"127.0.0.1:8083\")"));
	assert_non_null(strstr(t, "apiKey = \"k3y\""));
	assert_null(strstr(t, "setUp()"));
	assert_null(strstr(t, "dofile"));
	free(t);
	/* No health check: forced up, as the userspace VIP without one. */
	base(&c);
	assert_int_equal(dnsdist_conf_text(&c, &t), 0);
	assert_non_null(strstr(t, "s:setUp()"));
	assert_null(strstr(t, "checkInterval"));
	assert_null(strstr(t, "setServerPolicy"));
	free(t);
}

/* A user's file: loaded with dofile between our shims and our settings; the
 * mapping by server name; the poll suffix off after their file. */
static void test_wrapped(void **state)
{
	(void)state;
	struct dnsdist_conf c;
	char *t = NULL;
	base(&c);
	snprintf(c.user_file, sizeof c.user_file, "/x/their.conf");
	assert_int_equal(dnsdist_conf_text(&c, &t), 0);
	const char *dofile = strstr(t, "dofile(\"/x/their.conf\")");
	assert_non_null(dofile);
	assert_non_null(strstr(t, "[\"ns-b\"] = { address = \"127.0.0.11:4002\", member = \"r\\\"2\\\\\" }"));
	assert_true(strstr(t, "\"setSecurityPollSuffix\" }") < dofile);
	assert_true(strstr(t, "\"carbonServer\"") < dofile);
	assert_true(strstr(t, "\"addDOHLocal\"") < dofile);
	assert_true(strstr(t, "\"newRemoteLogger\"") < dofile);
	const char *last = after_last(t, "setSecurityPollSuffix(\"\")");
	assert_true(last > dofile);
	assert_non_null(strstr(last, "setLocal(\"127.0.0.12:5300\")"));
	assert_null(strstr(t, "checkInterval"));
	free(t);
}

static void test_parse(void **state)
{
	(void)state;
	struct dnsdist_server s[4];
	size_t n = 9;
	const char *ok = "{\"acl\": \"x\", \"frontends\": [{\"a\": [1, 2.5e3, null, true]}],"
			 " \"servers\": [ {\"address\": \"127.0.0.1:1\", \"latency\": 0.25, \"name\": "
			 "\"r1\", \"pools\": [], \"queries\": 12, \"responses\": 10, \"reuseds\": 2, "
			 "\"sendErrors\": 1, \"outstanding\": 0, \"state\": \"up\"},"
			 " {\"name\": \"r\\\"2\", \"state\": \"DOWN\", \"queries\": 0} ], \"x\": {} }";
	assert_int_equal(dnsdist_servers_parse(ok, strlen(ok), s, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].name, "r1");
	assert_true(s[0].up);
	assert_false(s[0].forced);
	assert_int_equal(s[0].queries, 12);
	assert_int_equal(s[0].responses, 10);
	assert_int_equal(s[0].reuseds, 2);
	assert_int_equal(s[0].send_errors, 1);
	assert_true(s[0].latency_ms > 0.24 && s[0].latency_ms < 0.26);
	assert_string_equal(s[1].name, "r\"2");
	assert_false(s[1].up);
	assert_true(s[1].forced);
	/* at most max kept */
	assert_int_equal(dnsdist_servers_parse(ok, strlen(ok), s, 1, &n), 0);
	assert_int_equal(n, 1);
	static const char *const bad[] = {
		"", "[]", "{}", "{\"servers\": {}}", "{\"servers\": [ {\"name\": \"a\"} ]}",
		"{\"servers\": [ {\"state\": \"up\"} ]}", "{\"servers\": [] ", "{\"servers\": []} x",
		"{\"servers\": [ {\"name\": \"a\", \"state\": \"up\", \"queries\": tru} ]}",
		"{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], \"servers\": []}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(dnsdist_servers_parse(bad[i], strlen(bad[i]), s, 4, &n), -EINVAL);
	/* cut anywhere: never a read past the end, always refused */
	for (size_t l = 0; l < strlen(ok); l++)
		assert_int_equal(dnsdist_servers_parse(ok, l, s, 4, &n), -EINVAL);
}

static void test_config_error(void **state)
{
	(void)state;
	char out[256];
	dnsdist_config_error("Fatal Lua error: /x/their.conf:6: unexpected symbol near '<eof>'\n"
			     "stack traceback:\n\t[C]: in function 'dofile'\n",
			     out, sizeof out);
	assert_string_equal(out, "/x/their.conf:6: unexpected symbol near '<eof>'");
	dnsdist_config_error("line one\nsomething else\n\n", out, sizeof out);
	assert_string_equal(out, "something else");
	dnsdist_config_error("", out, sizeof out);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_generated),
		cmocka_unit_test(test_wrapped),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_config_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
