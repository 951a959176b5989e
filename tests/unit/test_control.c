/*
 * test_control.c - the control connection's plain half (fakeresolver/control.h):
 * bad command lines first (each refused with the reason a user reads), then
 * every command parsed into its spec, then the token: the file's rules and
 * the comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fakeresolver/control.h"

/* Parses text (copied: the parser writes into its line); returns its result. */
static int parse(const char *text, struct control_cmd *cmd, char *err, size_t errlen)
{
	static char line[CONTROL_LINE_MAX + 1];
	snprintf(line, sizeof line, "%s", text);
	err[0] = '\0';
	return control_parse(line, cmd, err, errlen);
}

static void refused(const char *text, const char *want)
{
	struct control_cmd cmd;
	char err[512];
	assert_int_equal(parse(text, &cmd, err, sizeof err), -1);
	if (!strstr(err, want))
		fail_msg("'%s': got '%s', want it to hold '%s'", text, err, want);
}

static void test_bad_lines(void **state)
{
	(void)state;
	refused("", "empty command");
	refused("   ", "empty command");
	refused("hnag", "unknown command 'hnag' (did you mean 'hang'?)");
	refused("frobnicate", "unknown command 'frobnicate'");
	refused("delay", "delay: option 'ms' is required");
	refused("delay jitter=5", "delay: option 'ms' is required");
	refused("delay ms=-1", "delay: ms=-1: give a number from 0 to 600000");
	refused("delay ms=abc", "give a number");
	refused("delay ms=1e999", "give a number");
	refused("delay ms=5 dist=zipf", "dist=zipf: constant, uniform");
	refused("hang nmae=x", "hang: unknown option 'nmae' (did you mean 'name'?)");
	refused("hang name", "hang: 'name': write options as key=value");
	refused("hang name=", "write options as key=value");
	refused("hang =x", "write options as key=value");
	refused("hang name=a..b", "name pattern 'a..b'");
	refused("hang qtype=BOGUS", "unknown qtype 'BOGUS'");
	refused("hang transport=quic", "transport=quic: udp, tcp or any");
	refused("hang fraction=1.5", "fraction=1.5: give a number from 0 to 1");
	refused("hang duration=0", "duration=0: give a number from 0.001");
	refused("hang duration=999999999", "give a number");
	refused("rcode rcode=TEAPOT", "rcode=TEAPOT: SERVFAIL, REFUSED");
	refused("wrong", "wrong: option 'address' is required");
	refused("wrong address=10.0.0.256", "'10.0.0.256' is not an IPv4 or IPv6 address");
	refused("capacity", "capacity: option 'qps' is required");
	refused("capacity qps=0", "qps=0: give a number from 0.1");
	refused("capacity qps=5 name=x", "capacity: unknown option 'name'");
	refused("heal 0", "heal: '0' is not a fault id");
	refused("heal -3", "not a fault id");
	refused("heal 4294967296", "not a fault id");
	refused("heal 3 4", "heal: unexpected '4'");
	refused("status now", "status: unexpected 'now'");
	refused("start 1", "start: unexpected '1'");
	refused("watch all", "watch: unexpected 'all'");
	refused("unwatch 1", "unwatch: unexpected '1'");
	refused("wach", "unknown command 'wach' (did you mean 'watch'?)");
	refused("stop name=x", "stop: unknown option 'name'");
	refused("publish", "publish: give the zone file's path");
	refused("publish   ", "publish: give the zone file's path");
}

static void test_faults(void **state)
{
	struct control_cmd cmd;
	char err[512];
	(void)state;
	assert_int_equal(parse("hang", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.verb, CONTROL_INJECT);
	assert_int_equal(cmd.spec.kind, FAULT_HANG);
	assert_false(cmd.spec.match.has_name);
	assert_int_equal(cmd.spec.match.transport, -1);
	assert_true(cmd.spec.match.fraction == 1.0);
	assert_true(cmd.duration == 0);

	assert_int_equal(parse("hang name=*.Internal qtype=AAAA transport=udp fraction=0.25 "
			       "duration=2.5",
			       &cmd, err, sizeof err),
			 0);
	assert_true(cmd.spec.match.has_name && cmd.spec.match.below);
	assert_memory_equal(cmd.spec.match.name, "\x08internal", 10); /* lower-cased */
	assert_int_equal(cmd.spec.match.qtype, 28);
	assert_int_equal(cmd.spec.match.transport, ANSWER_UDP);
	assert_true(cmd.spec.match.fraction == 0.25);
	assert_true(cmd.duration == 2.5);

	assert_int_equal(parse("delay\tms=250 jitter=50 dist=pareto", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.spec.kind, FAULT_DELAY);
	assert_true(cmd.spec.delay_s == 0.25 && cmd.spec.spread_s == 0.05);
	assert_int_equal(cmd.spec.dist, RNG_DIST_PARETO);

	assert_int_equal(parse("rcode", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.spec.rcode, 2); /* SERVFAIL by default */
	assert_int_equal(parse("rcode rcode=nxdomain", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.spec.rcode, 3);

	assert_int_equal(parse("truncate transport=tcp", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.spec.kind, FAULT_TRUNCATE);
	assert_int_equal(cmd.spec.match.transport, ANSWER_TCP);

	assert_int_equal(parse("wrong address=fd00::9", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.spec.kind, FAULT_WRONG);
	assert_int_equal(cmd.spec.wrong_family, AF_INET6);
	assert_null(cmd.spec.wrong_zones);

	assert_int_equal(parse("capacity qps=5", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.verb, CONTROL_CAPACITY);
	assert_true(cmd.qps == 5);
	assert_int_equal(cmd.queue, 100);
	assert_int_equal(parse("capacity qps=0.5 queue=3 duration=9", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.queue, 3);
	assert_true(cmd.duration == 9);
}

static void test_other_commands(void **state)
{
	struct control_cmd cmd;
	char err[512];
	(void)state;
	assert_int_equal(parse("heal", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.verb, CONTROL_HEAL);
	assert_int_equal(cmd.id, 0);
	assert_int_equal(parse("heal 4294967295", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.id, 4294967295u);
	assert_int_equal(parse("stop", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.verb, CONTROL_STOP);
	assert_int_equal(parse("stop duration=1.5", &cmd, err, sizeof err), 0);
	assert_true(cmd.duration == 1.5);
	assert_int_equal(parse("start", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.verb, CONTROL_START);
	assert_int_equal(parse("status", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.verb, CONTROL_STATUS);
	assert_int_equal(parse("watch", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.verb, CONTROL_WATCH);
	assert_int_equal(parse("unwatch", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.verb, CONTROL_UNWATCH);
	/* The rest of the line, inner spaces kept, outer ones dropped. */
	assert_int_equal(parse("publish   /srv/my zones/a.zone  ", &cmd, err, sizeof err), 0);
	assert_int_equal(cmd.verb, CONTROL_PUBLISH);
	assert_string_equal(cmd.path, "/srv/my zones/a.zone");
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void token_refused(const char *path, const char *want)
{
	uint8_t tok[CONTROL_TOKEN_MAX];
	size_t len = 0;
	char err[512];
	assert_int_equal(control_token_read(path, tok, &len, err, sizeof err), -1);
	if (!strstr(err, want))
		fail_msg("%s: got '%s', want it to hold '%s'", path, err, want);
}

static void test_token_file(void **state)
{
	char dir[] = "/tmp/test_control.XXXXXX", path[256], big[400];
	uint8_t tok[CONTROL_TOKEN_MAX];
	size_t len = 0;
	char err[512];
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/t", dir);

	token_refused(path, "No such file");
	write_file(path, "0123456789abcdef\n", 0644);
	token_refused(path, "mode 0644 lets group or others read or change the token; chmod 600");
	assert_int_equal(chmod(path, 0620), 0);
	token_refused(path, "mode 0620");
	write_file(path, "0123456789abcde\n", 0600); /* 15 octets */
	token_refused(path, "16 to 256 octets on one line (found 15)");
	memset(big, 'x', 300);
	big[300] = '\0';
	write_file(path, big, 0600);
	token_refused(path, "found more than 256");
	write_file(path, "0123456789 abcdef\n", 0600);
	token_refused(path, "printable ASCII without spaces (octet 11 is 0x20)");
	token_refused(dir, "not a regular file");

	write_file(path, "0123456789abcdef\r\n", 0600);
	assert_int_equal(control_token_read(path, tok, &len, err, sizeof err), 0);
	assert_int_equal(len, 16);
	assert_memory_equal(tok, "0123456789abcdef", 16);
	write_file(path, "Zm9vYmFyYmF6cXV4cXV1eA==", 0400);
	assert_int_equal(control_token_read(path, tok, &len, err, sizeof err), 0);
	assert_int_equal(len, 24);

	unlink(path);
	rmdir(dir);
}

static void test_token_equal(void **state)
{
	const uint8_t *a = (const uint8_t *)"0123456789abcdef";
	(void)state;
	assert_true(control_token_equal(a, 16, a, 16));
	assert_false(control_token_equal(a, 16, (const uint8_t *)"0123456789abcdeF", 16));
	assert_false(control_token_equal(a, 15, a, 16)); /* a prefix is not the token */
	assert_false(control_token_equal(a, 16, a, 15));
	assert_false(control_token_equal(a, 0, a, 16));
	assert_true(control_token_equal(a, 0, a, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_lines),      cmocka_unit_test(test_faults),
		cmocka_unit_test(test_other_commands), cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_token_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
