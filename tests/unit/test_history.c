/*
 * test_history.c - the JSONL history writer: escaping, number formatting,
 * call order, batching, and what a file holds after a write error or SIGKILL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness/record/history.h"

/* ---- helpers ---- */

/* A fresh empty file; path must hold 64 bytes. */
static void temp_path(char *path)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, 64, "%s/test_history.XXXXXX", dir && strlen(dir) < 30 ? dir : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
}

/* The whole file, NUL-terminated; *len gets its length. Caller frees. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static struct history *open_temp(char *path)
{
	char err[256] = "";
	struct history *h;

	temp_path(path);
	h = history_open(path, err, sizeof err);
	if (!h)
		fail_msg("history_open: %s", err);
	return h;
}

/* Closes h and checks the file holds exactly expect; removes it. */
static void close_expect(struct history *h, const char *path, const char *expect)
{
	size_t len;
	char *got;

	assert_int_equal(history_flush(h), 0);
	history_close(h);
	got = read_file(path, &len);
	assert_string_equal(got, expect);
	free(got);
	unlink(path);
}

/* A tiny strict JSON checker (RFC 8259, UTF-8 checked loosely): enough to tell whole lines. */
struct json {
	const char *p, *end;
	int depth;
};

static bool json_value(struct json *j);

static void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool json_lit(struct json *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool json_digits(struct json *j)
{
	const char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static bool json_number(struct json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!(j->p < j->end && *j->p >= '1' && *j->p <= '9') || !json_digits(j))
		return false;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!json_digits(j))
			return false;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!json_digits(j))
			return false;
	}
	return true;
}

static bool json_string(struct json *j)
{
	if (j->p >= j->end || *j->p != '"')
		return false;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p++;
		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (j->p >= j->end)
				return false;
			c = (unsigned char)*j->p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++, j->p++)
					if (j->p >= j->end ||
					    !strchr("0123456789abcdefABCDEF", *j->p) || *j->p == 0)
						return false;
			} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
				return false;
			}
		} else if (c >= 0x80) {
			int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
			if (more < 0 || c > 0xf4)
				return false;
			for (int i = 0; i < more; i++, j->p++)
				if (j->p >= j->end || ((unsigned char)*j->p & 0xc0) != 0x80)
					return false;
		}
	}
	return false;
}

static bool json_container(struct json *j, char close, bool object)
{
	j->p++;
	json_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		json_ws(j);
		if (object) {
			if (!json_string(j))
				return false;
			json_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return false;
		}
		if (!json_value(j))
			return false;
		json_ws(j);
		if (j->p >= j->end)
			return false;
		if (*j->p == close) {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
	}
}

static bool json_value(struct json *j)
{
	bool ok;

	json_ws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return false;
	switch (*j->p) {
	case '{':
		ok = json_container(j, '}', true);
		break;
	case '[':
		ok = json_container(j, ']', false);
		break;
	case '"':
		ok = json_string(j);
		break;
	case 't':
		ok = json_lit(j, "true");
		break;
	case 'f':
		ok = json_lit(j, "false");
		break;
	case 'n':
		ok = json_lit(j, "null");
		break;
	default:
		ok = json_number(j);
		break;
	}
	j->depth--;
	return ok;
}

/* True if s (n bytes, no '\n') is one JSON object with only whitespace around it. */
static bool json_object_line(const char *s, size_t n)
{
	struct json j = {s, s + n, 0};

	json_ws(&j);
	if (j.p >= j.end || *j.p != '{' || !json_value(&j))
		return false;
	json_ws(&j);
	return j.p == j.end;
}

/*
 * Checks that buf (len bytes) is whole lines, each a JSON object, none
 * straddling a 4 KiB boundary (when aligned), and that the value after
 * "n": counts 0, 1, 2, ... when seq is set. Returns the number of lines.
 */
static size_t check_lines(const char *buf, size_t len, bool seq, bool aligned)
{
	size_t count = 0, off = 0;

	if (len > 0 && buf[len - 1] != '\n')
		fail_msg("the file does not end with a newline (%zu bytes)", len);
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = (size_t)(nl - (buf + off));
		if (!json_object_line(buf + off, n))
			fail_msg("line %zu is not a JSON object: %.*s", count + 1,
			         (int)(n > 200 ? 200 : n), buf + off);
		if (aligned && n < 4096 && off / 4096 != (off + n) / 4096)
			fail_msg("line %zu (offset %zu, %zu bytes) straddles a 4 KiB boundary",
			         count + 1, off, n + 1);
		if (seq) {
			char key[32];
			int k = snprintf(key, sizeof key, "\"n\":%zu}", count);
			const char *end = buf + off + n;
			while (end > buf + off && end[-1] == ' ')
				end--;
			if (end - (buf + off) < k || memcmp(end - k, key, (size_t)k) != 0)
				fail_msg("line %zu does not end with %s: %.*s", count + 1, key,
				         (int)n, buf + off);
		}
		count++;
		off += n + 1;
	}
	return count;
}

/* Parses every line with Python's json module too, if python3 is installed. */
static void python_check(const char *path)
{
	char cmd[512];
	int rc;

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		print_message("python3 not found: skipping the cross-check\n");
		return;
	}
	snprintf(cmd, sizeof cmd,
	         "python3 -c 'import json,sys\n"
	         "f = open(sys.argv[1], encoding=\"utf-8\", errors=\"strict\", newline=\"\")\n"
	         "for l in f:\n"
	         "    assert l.endswith(\"\\n\"), \"a line without newline\"\n"
	         "    assert isinstance(json.loads(l), dict)\n"
	         "' '%s'",
	         path);
	rc = system(cmd);
	assert_int_equal(rc, 0);
}

/* One sequenced line: {"t":...,"type":"seq","s":"...","n":i}. */
static void seq_line(struct history *h, uint64_t i)
{
	history_begin(h, (double)i * 1e-3, "seq");
	history_str(h, "s", "quote\" backslash\\ tab\t caf\xc3\xa9");
	if (i % 3 == 0) {
		history_array_begin(h, "answers");
		history_elem_str(h, "10.0.0.1");
		history_elem_str(h, "10.0.0.2");
		history_array_end(h);
	}
	history_uint(h, "n", i);
	history_end(h);
}

/* ---- bad parameters ---- */

static void test_open_errors(void **state)
{
	char err[256];
	(void)state;

	err[0] = 0;
	assert_null(history_open(NULL, err, sizeof err));
	assert_true(err[0] != 0);
	err[0] = 0;
	assert_null(history_open("", err, sizeof err));
	assert_true(err[0] != 0);
	assert_null(history_open("/nonexistent-dir-dnschaos/h.jsonl", err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent-dir-dnschaos/h.jsonl"));
	assert_non_null(strstr(err, "No such file"));
	history_close(NULL);
}

static void expect_misuse(void (*misuse)(struct history *), const char *fn)
{
	char path[64];
	struct history *h = open_temp(path);
	size_t len;
	char *got;

	history_begin(h, 1, "ok");
	history_end(h);
	misuse(h);
	assert_non_null(history_error(h));
	if (!strstr(history_error(h), fn))
		fail_msg("'%s' does not name %s", history_error(h), fn);
	/* Everything after the error is dropped, the line before it is kept. */
	history_begin(h, 2, "dropped");
	history_end(h);
	assert_int_equal(history_lines(h), 1);
	assert_int_equal(history_flush(h), -1);
	history_close(h);
	got = read_file(path, &len);
	assert_string_equal(got, "{\"t\":1.000000,\"type\":\"ok\"}\n");
	free(got);
	unlink(path);
}

static void field_outside_line(struct history *h)
{
	history_str(h, "k", "v");
}

static void begin_twice(struct history *h)
{
	history_begin(h, 1, "a");
	history_begin(h, 2, "b");
}

static void end_in_array(struct history *h)
{
	history_begin(h, 1, "a");
	history_array_begin(h, "x");
	history_end(h);
}

static void elem_outside_array(struct history *h)
{
	history_begin(h, 1, "a");
	history_elem_str(h, "x");
}

static void field_in_array(struct history *h)
{
	history_begin(h, 1, "a");
	history_array_begin(h, "x");
	history_int(h, "k", 1);
}

static void array_end_alone(struct history *h)
{
	history_begin(h, 1, "a");
	history_array_end(h);
}

static void end_alone(struct history *h)
{
	history_end(h);
}

/* A new history file is 0600 whatever the umask; an existing one keeps its mode. */
static void test_open_mode(void **state)
{
	char dir[] = "/tmp/test_history-mode-XXXXXX", path[128], err[256];
	struct stat st;
	mode_t old = umask(022);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/h.jsonl", dir);
	struct history *h = history_open(path, err, sizeof err);
	assert_non_null(h);
	history_close(h);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600); /* 0644 before */
	assert_int_equal(chmod(path, 0640), 0);
	h = history_open(path, err, sizeof err);
	assert_non_null(h);
	history_close(h);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	umask(old);
	unlink(path);
	rmdir(dir);
}

/* A symbolic link at the history's path is refused, and its target left whole. */
static void test_open_symlink_refused(void **state)
{
	char dir[] = "/tmp/test_history-link-XXXXXX", path[128], victim[128], err[256];
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(victim, sizeof victim, "%s/victim", dir);
	snprintf(path, sizeof path, "%s/h.jsonl", dir);
	FILE *f = fopen(victim, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(symlink(victim, path), 0);
	assert_null(history_open(path, err, sizeof err));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "symbolic link"));
	char *text = read_file(victim, &len);
	assert_string_equal(text, "precious\n"); /* truncated before */
	free(text);
	unlink(path);
	unlink(victim);
	rmdir(dir);
}

static void test_misuse(void **state)
{
	(void)state;
	expect_misuse(field_outside_line, "history_strn");
	expect_misuse(begin_twice, "history_begin");
	expect_misuse(end_in_array, "history_end");
	expect_misuse(elem_outside_array, "history_elem_str");
	expect_misuse(field_in_array, "history_int");
	expect_misuse(array_end_alone, "history_array_end");
	expect_misuse(end_alone, "history_end");
}

static void test_line_too_long(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	size_t n = HISTORY_LINE_MAX + 1, len;
	char *big = malloc(n), *got;
	(void)state;

	assert_non_null(big);
	memset(big, 'a', n);
	history_begin(h, 1, "ok");
	history_end(h);
	history_begin(h, 2, "log");
	history_strn(h, "text", big, n);
	history_end(h);
	free(big);
	assert_non_null(history_error(h));
	assert_non_null(strstr(history_error(h), "MiB"));
	assert_int_equal(history_lines(h), 1);
	history_close(h);
	got = read_file(path, &len);
	assert_string_equal(got, "{\"t\":1.000000,\"type\":\"ok\"}\n");
	free(got);
	unlink(path);
}

/* ---- behaviour: the format ---- */

static void test_escaping(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	(void)state;

	history_begin(h, 1.5, "log");
	history_str(h, "q", "a\"b\\c/d");
	history_str(h, "ctl", "\b\f\n\r\t\x01\x1f\x7f.");
	history_strn(h, "nul", "a\0b", 3);
	history_str(h, "utf8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf");
	history_str(h, "empty", "");
	history_str(h, "none", NULL);
	history_end(h);
	close_expect(h, path,
	             "{\"t\":1.500000,\"type\":\"log\",\"q\":\"a\\\"b\\\\c/d\","
	             "\"ctl\":\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f.\",\"nul\":\"a\\u0000b\","
	             "\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf\","
	             "\"empty\":\"\",\"none\":null}\n");
}

static void test_bad_utf8_is_replaced(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	        {"\xff", "\xef\xbf\xbd"},
	        {"a\x80z", "a\xef\xbf\xbdz"},
	        {"\xc0\x80", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong NUL */
	        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong '/' */
	        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
	        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	        {"\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd"}, /* cut short at the end */
	        {"\xf0\x9f\x98"
	         "A",
	         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	         "A"},
	        {"\xed\x9f\xbf\xf4\x8f\xbf\xbf", "\xed\x9f\xbf\xf4\x8f\xbf\xbf"}, /* valid edges */
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[64], expect[256];
		struct history *h = open_temp(path);

		history_begin(h, 0, "log");
		history_str(h, "s", cases[i].in);
		history_end(h);
		snprintf(expect, sizeof expect, "{\"t\":0.000000,\"type\":\"log\",\"s\":\"%s\"}\n",
		         cases[i].out);
		close_expect(h, path, expect);
	}
}

static void test_long_string_crosses_chunks(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	size_t n = 3 * 4096 + 8, len;
	char *s = malloc(n + 1), *got;
	(void)state;

	assert_non_null(s);
	/* Multi-byte sequences and escapes land on every chunk boundary. */
	for (size_t i = 0; i < n; i++)
		s[i] = "\xe2\x82\xac\"\n"[i % 5];
	s[n] = 0;
	history_begin(h, 0, "log");
	history_str(h, "s", s);
	history_end(h);
	assert_int_equal(history_flush(h), 0);
	history_close(h);
	got = read_file(path, &len);
	assert_int_equal(check_lines(got, len, false, false), 1);
	/* Each 5 bytes in (euro sign, quote, newline) come out as 3 + 2 + 2, and the
	 * last byte, a sequence cut short, as U+FFFD. */
	assert_int_equal(len,
	                 strlen("{\"t\":0.000000,\"type\":\"log\",\"s\":\"\"}\n") + n / 5 * 7 + 3);
	free(got);
	free(s);
	unlink(path);
}

static void test_integers(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	(void)state;

	history_begin(h, 0, "n");
	history_int(h, "a", 0);
	history_int(h, "b", -1);
	history_int(h, "c", 42);
	history_int(h, "d", INT64_MIN);
	history_int(h, "e", INT64_MAX);
	history_uint(h, "f", 0);
	history_uint(h, "g", 9);
	history_uint(h, "h", 10);
	history_uint(h, "i", 99);
	history_uint(h, "j", 100);
	history_uint(h, "k", 1000000007);
	history_uint(h, "l", UINT64_MAX);
	history_bool(h, "m", true);
	history_bool(h, "o", false);
	history_null(h, "p");
	history_end(h);
	close_expect(h, path,
	             "{\"t\":0.000000,\"type\":\"n\",\"a\":0,\"b\":-1,\"c\":42,"
	             "\"d\":-9223372036854775808,\"e\":9223372036854775807,\"f\":0,\"g\":9,"
	             "\"h\":10,\"i\":99,\"j\":100,\"k\":1000000007,\"l\":18446744073709551615,"
	             "\"m\":true,\"o\":false,\"p\":null}\n");
}

static void test_doubles(void **state)
{
	static const struct {
		double v;
		int decimals;
		const char *out;
	} cases[] = {
	        {0, 3, "0.000"},
	        {1.5, 3, "1.500"},
	        {-1.5, 1, "-1.5"},
	        {123.456789, 6, "123.456789"},
	        {0.05, 3, "0.050"},
	        {7.007, 3, "7.007"},
	        {-0.0004, 3, "0.000"}, /* no "-0.000" */
	        {-0.0, 2, "0.00"},
	        {0.1, 0, "0"},
	        {2.5, 0, "3"}, /* half away from zero */
	        {-2.5, 0, "-3"},
	        {999.9996, 3, "1000.000"},
	        {1e-7, 6, "0.000000"},
	        {0.49999999999999994, 0, "0"},
	        {86400.000001, 6, "86400.000001"},
	        {1e20, 2, "100000000000000000000.00"}, /* past the integer path */
	        {-1e20, 0, "-100000000000000000000"},
	        {1.0, 12, "1.000000000"}, /* clamped to 9 decimals */
	        {1.25, -3, "1"},
	        {NAN, 3, "null"},
	        {INFINITY, 3, "null"},
	        {-INFINITY, 0, "null"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[64], expect[256];
		struct history *h = open_temp(path);

		history_begin(h, 12.345678, "d");
		history_double(h, "v", cases[i].v, cases[i].decimals);
		history_end(h);
		snprintf(expect, sizeof expect, "{\"t\":12.345678,\"type\":\"d\",\"v\":%s}\n",
		         cases[i].out);
		close_expect(h, path, expect);
	}
}

/* Random values: the digits written are v rounded to the decimals asked for. */
static void test_doubles_round_correctly(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	unsigned seed = 12345;
	size_t len, off = 0;
	char *got;
	enum { N = 20000 };
	double vals[N];
	int decs[N];
	(void)state;

	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		double mag = pow(10.0, (double)(seed % 19) - 6);
		seed = seed * 1103515245u + 12345u;
		vals[i] = ((double)seed / 4294967296.0 - 0.5) * 2 * mag;
		decs[i] = i % 10;
		history_begin(h, vals[i] < 0 ? -vals[i] : vals[i], "d");
		history_double(h, "v", vals[i], decs[i]);
		history_end(h);
	}
	assert_int_equal(history_flush(h), 0);
	history_close(h);
	got = read_file(path, &len);
	for (int i = 0; i < N; i++) {
		const char *v = strstr(got + off, "\"v\":") + 4;
		char *end;
		double back = strtod(v, &end), ulp = pow(10.0, -decs[i]);
		const char *dot = memchr(v, '.', (size_t)(end - v));

		if (fabs(back - vals[i]) > ulp / 2 * (1 + 1e-9) + fabs(vals[i]) * 4e-16)
			fail_msg("%.17g with %d decimals was written %.*s", vals[i], decs[i],
			         (int)(end - v), v);
		if (decs[i] == 0 ? dot != NULL : !dot || end - dot - 1 != decs[i])
			fail_msg("%.17g with %d decimals was written %.*s", vals[i], decs[i],
			         (int)(end - v), v);
		off = (size_t)(strchr(v, '\n') - got) + 1;
	}
	assert_int_equal(off, len);
	free(got);
	unlink(path);
}

static void test_arrays(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	(void)state;

	history_begin(h, 3, "lookup");
	history_array_begin(h, "none");
	history_array_end(h);
	history_array_begin(h, "one");
	history_elem_str(h, "10.0.0.1");
	history_array_end(h);
	history_array_begin(h, "two");
	history_elem_str(h, "a\"b");
	history_elem_str(h, NULL);
	history_array_end(h);
	history_bool(h, "ok", true);
	history_end(h);
	close_expect(h, path,
	             "{\"t\":3.000000,\"type\":\"lookup\",\"none\":[],\"one\":[\"10.0.0.1\"],"
	             "\"two\":[\"a\\\"b\",null],\"ok\":true}\n");
}

/* ---- behaviour: batching and what the file holds ---- */

static void test_lines_beyond_threshold_in_order(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	const uint64_t n = 100000;
	size_t len;
	char *got;
	struct stat st;
	(void)state;

	for (uint64_t i = 0; i < n; i++) {
		seq_line(h, i);
		if (i == 2000) {
			/* ~150 KiB of lines so far and no flush: the writer has written some. */
			assert_int_equal(stat(path, &st), 0);
			assert_true(st.st_size >= HISTORY_FLUSH_BYTES);
		}
	}
	assert_int_equal(history_lines(h), n);
	assert_int_equal(history_flush(h), 0);
	history_close(h);
	got = read_file(path, &len);
	assert_int_equal(check_lines(got, len, true, true), n);
	free(got);
	python_check(path);
	unlink(path);
}

/* A flush writes the whole lines and keeps the line in progress for later. */
static void test_flush_keeps_open_line(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	size_t len;
	char *got;
	(void)state;

	seq_line(h, 0);
	history_begin(h, 9, "open");
	history_str(h, "x", "y");
	assert_int_equal(history_flush(h), 0);
	got = read_file(path, &len);
	assert_int_equal(check_lines(got, len, true, true), 1);
	free(got);
	history_null(h, "z");
	history_end(h);
	assert_int_equal(history_flush(h), 0);
	got = read_file(path, &len);
	assert_int_equal(len, strlen(got));
	assert_true(len > 0 && got[len - 1] == '\n');
	assert_non_null(
	        strstr(got, "}\n{\"t\":9.000000,\"type\":\"open\",\"x\":\"y\",\"z\":null}\n"));
	free(got);
	history_close(h);
	unlink(path);
}

/* After every flush the file is exactly the lines ended so far. */
static void test_flushed_prefix(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	size_t len;
	char *got;
	(void)state;

	for (uint64_t i = 0; i < 5000; i++) {
		seq_line(h, i);
		if (i % 7 == 0)
			assert_int_equal(history_flush(h), 0);
		if (i % 7 == 0 && i % 500 < 7) {
			got = read_file(path, &len);
			assert_int_equal(check_lines(got, len, true, true), i + 1);
			free(got);
		}
	}
	history_close(h);
	got = read_file(path, &len);
	assert_int_equal(check_lines(got, len, true, true), 5000);
	free(got);
	python_check(path);
	unlink(path);
}

/* A history on the caller's fd: a plain stream after what is there, and the fd stays open. */
static void test_open_fd(void **state)
{
	char path[64], err[256];
	struct history *h;
	size_t len;
	char *got;
	int fd;
	(void)state;

	temp_path(path);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not ours\n", 9), 9);
	h = history_open_fd(fd, "test fd", err, sizeof err);
	assert_non_null(h);
	for (uint64_t i = 0; i < 2000; i++) {
		seq_line(h, i);
		history_flush(h);
	}
	history_close(h);
	assert_int_equal(write(fd, "", 0), 0); /* still open */
	assert_int_equal(close(fd), 0);
	got = read_file(path, &len);
	assert_memory_equal(got, "not ours\n", 9);
	assert_int_equal(check_lines(got + 9, len - 9, true, false), 2000);
	assert_null(strstr(got, "} ")); /* no padding */
	free(got);
	unlink(path);
}

static void test_stdout(void **state)
{
	char path[64];
	size_t len;
	char *got;
	int status;
	pid_t pid;
	(void)state;

	temp_path(path);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		int fd = open(path, O_WRONLY);
		struct history *h;
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
			_exit(10);
		close(fd);
		h = history_open("-", err, sizeof err);
		if (!h)
			_exit(11);
		history_begin(h, 0.25, "hello");
		history_end(h);
		history_close(h);
		_exit(fcntl(STDOUT_FILENO, F_GETFD) == -1 ? 12 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	got = read_file(path, &len);
	assert_string_equal(got, "{\"t\":0.250000,\"type\":\"hello\"}\n");
	free(got);
	unlink(path);
}

/* ---- behaviour: errors and kills ---- */

static void test_write_error(void **state)
{
	char err[256];
	struct history *h = history_open("/dev/full", err, sizeof err);
	const char *msg;
	(void)state;

	if (!h)
		skip();
	seq_line(h, 0);
	assert_null(history_error(h));
	assert_int_equal(history_flush(h), -1);
	msg = history_error(h);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "/dev/full"));
	assert_non_null(strstr(msg, strerror(ENOSPC)));
	/* Later lines go nowhere, quietly; the first message stays. */
	for (uint64_t i = 1; i < 5000; i++)
		seq_line(h, i);
	assert_int_equal(history_flush(h), -1);
	assert_ptr_equal(history_error(h), msg);
	history_close(h);

	/* The same when the buffer fills up with no flush at all. */
	h = history_open("/dev/full", err, sizeof err);
	assert_non_null(h);
	for (uint64_t i = 0; i < 5000; i++)
		seq_line(h, i);
	assert_non_null(history_error(h));
	history_close(h);
}

/*
 * A file size limit (RLIMIT_FSIZE) cuts writes short at a byte we choose:
 * the file must still be whole lines, as many as the message says.
 */
static void test_short_write_keeps_whole_lines(void **state)
{
	static const long limits[] = {50, 4095, 4096, 4097, 4100, 5000, 8191, 8193, 70001};
	static const int flush_every[] = {1, 1000};
	(void)state;

	for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
		for (size_t fi = 0; fi < 2; fi++) {
			char path[64], msg[512] = "";
			int pfd[2], status;
			size_t len, count;
			unsigned long long said;
			ssize_t r;
			char *got;
			const char *holds;
			pid_t pid;

			temp_path(path);
			assert_int_equal(pipe(pfd), 0);
			fflush(stdout);
			pid = fork();
			assert_true(pid >= 0);
			if (pid == 0) {
				struct rlimit rl = {(rlim_t)limits[li], (rlim_t)limits[li]};
				char err[256];
				struct history *h;
				close(pfd[0]);
				signal(SIGXFSZ, SIG_IGN);
				if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
					_exit(10);
				h = history_open(path, err, sizeof err);
				if (!h)
					_exit(11);
				for (uint64_t i = 0; i < 100000; i++) {
					seq_line(h, i);
					if (i % (unsigned)flush_every[fi] == 0 &&
					    history_flush(h) != 0)
						break;
				}
				if (!history_error(h))
					_exit(12);
				if (write(pfd[1], history_error(h), strlen(history_error(h))) < 0)
					_exit(13);
				history_close(h);
				_exit(0);
			}
			close(pfd[1]);
			r = read(pfd[0], msg, sizeof msg - 1);
			close(pfd[0]);
			assert_true(r > 0);
			assert_int_equal(waitpid(pid, &status, 0), pid);
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
			assert_non_null(strstr(msg, strerror(EFBIG)));
			holds = strstr(msg, "holds the first ");
			assert_non_null(holds);
			said = strtoull(holds + strlen("holds the first "), NULL, 10);
			got = read_file(path, &len);
			assert_true(len <= (size_t)limits[li]);
			count = check_lines(got, len, true, true);
			if (count != said)
				fail_msg("limit %ld, flush every %d: the file has %zu lines, the "
				         "message "
				         "says %llu: %s",
				         limits[li], flush_every[fi], count, said, msg);
			free(got);
			unlink(path);
		}
	}
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/*
 * Writes into a pipe that a slow child drains, while SIGALRM (no SA_RESTART)
 * keeps interrupting: partial writes and EINTR (and EAGAIN when the pipe is
 * non-blocking) must lose nothing and reorder nothing.
 */
static void pipe_run(bool nonblocking)
{
	const uint64_t n = 30000;
	struct sigaction sa, old;
	struct itimerval it = {{0, 200}, {0, 200}}, off = {{0, 0}, {0, 0}};
	struct history *h;
	char err[256];
	int pfd[2], status;
	pid_t pid;

	assert_int_equal(pipe(pfd), 0);
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		size_t cap = 1 << 20, len = 0;
		char *buf = malloc(cap);
		struct timespec nap = {0, 100000};
		ssize_t r;
		close(pfd[1]);
		for (;;) {
			if (!buf)
				_exit(10);
			if (len + 4096 > cap) {
				char *nb = realloc(buf, cap *= 2);
				if (!nb)
					_exit(10);
				buf = nb;
			}
			r = read(pfd[0], buf + len, 4096);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			len += (size_t)r;
			nanosleep(&nap, NULL);
		}
		_exit(check_lines(buf, len, true, false) == n ? 0 : 11);
	}
	close(pfd[0]);
	if (nonblocking)
		assert_int_equal(fcntl(pfd[1], F_SETFL, O_NONBLOCK), 0);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: writes see EINTR or come back short */
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	alarms = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	h = history_open_fd(pfd[1], "pipe", err, sizeof err);
	assert_non_null(h);
	for (uint64_t i = 0; i < n; i++) {
		seq_line(h, i);
		if (i % 5000 == 0)
			assert_int_equal(history_flush(h), 0);
	}
	assert_int_equal(history_flush(h), 0);
	assert_null(history_error(h));
	history_close(h);
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN); /* discards one still pending (valgrind delivers late) */
	sigaction(SIGALRM, &old, NULL);
	close(pfd[1]);
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_true(alarms > 0);
}

static void test_partial_writes_and_eintr(void **state)
{
	(void)state;
	pipe_run(false);
	pipe_run(true);
}

/*
 * SIGKILL in the middle of writing: whatever the file holds is whole lines,
 * in order, with no gap. Flushing every line, every 100 and every 20000 makes
 * the kill land in small, mixed and 64 KiB writes.
 */
static void test_sigkill_leaves_whole_lines(void **state)
{
	static const unsigned flush_every[] = {1, 100, 20000};
	(void)state;

	for (int round = 0; round < 6; round++) {
		unsigned every = flush_every[round % 3];
		char path[64], ready;
		int pfd[2], status;
		size_t len;
		char *got;
		pid_t pid;
		struct timespec delay = {0, 60000000 + round * 10000000};

		temp_path(path);
		assert_int_equal(pipe(pfd), 0);
		fflush(stdout);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char err[256];
			struct history *h = history_open(path, err, sizeof err);
			bool told = false;
			close(pfd[0]);
			if (!h)
				_exit(10);
			for (uint64_t i = 0;; i++) {
				seq_line(h, i);
				if (i % every == 0) {
					history_flush(h);
					if (!told && write(pfd[1], "r", 1) == 1)
						told = true;
				}
			}
		}
		close(pfd[1]);
		/* Wait for the first flush (valgrind starts slowly), then a little more. */
		assert_int_equal(read(pfd[0], &ready, 1), 1);
		close(pfd[0]);
		nanosleep(&delay, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		got = read_file(path, &len);
		assert_true(len > 0);
		assert_true(check_lines(got, len, true, true) > 0);
		free(got);
		if (round < 2) /* files of 50 MB and more take Python a while */
			python_check(path);
		unlink(path);
	}
}

/* ---- history_emergency_end (the watchdog's, from another thread) ---- */

struct writer {
	struct history *h;
	unsigned every; /* flush every this many lines */
	int pfd;        /* one byte once the first line is flushed */
};

static void *write_forever(void *arg)
{
	struct writer *w = arg;
	for (uint64_t i = 0;; i++) {
		seq_line(w->h, i);
		if (i % w->every == 0) {
			history_flush(w->h);
			if (i == 0 && write(w->pfd, "r", 1) != 1)
				_exit(11);
		}
	}
	return NULL;
}

/*
 * A thread writes lines without pause while another ends the history: the
 * file must be whole sequenced lines, then exactly one end line counting them
 * all. The child process _exits like the watchdog does (the writer stays
 * blocked on the lock).
 */
static void test_emergency_end_while_writing(void **state)
{
	static const unsigned flush_every[] = {1, 7, 5000};
	(void)state;

	for (int round = 0; round < 6; round++) {
		char path[64], ready;
		int pfd[2], status;
		size_t len, count;
		char *got, *last, want[64];
		pid_t pid;

		temp_path(path);
		assert_int_equal(pipe(pfd), 0);
		fflush(stdout);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			char err[256];
			struct writer w = { history_open(path, err, sizeof err),
					    flush_every[round % 3], pfd[1] };
			pthread_t t;
			struct timespec delay = {0, 20000000 + round * 7000000};
			if (!w.h || pthread_create(&t, NULL, write_forever, &w) != 0)
				_exit(10);
			if (read(pfd[0], &ready, 1) != 1)
				_exit(12);
			nanosleep(&delay, NULL);
			_exit(history_emergency_end(w.h, 99.5, "error", "stuck \"here\"", 5.0) == 0
				      ? 0
				      : 13);
		}
		close(pfd[1]);
		close(pfd[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		got = read_file(path, &len);
		assert_true(len > 0 && got[len - 1] == '\n');
		got[len - 1] = 0;
		last = strrchr(got, '\n');
		assert_non_null(last); /* at least one sequenced line before the end */
		last++;
		count = check_lines(got, (size_t)(last - got), true, true);
		assert_true(count > 0);
		assert_non_null(strstr(last, "\"type\":\"end\",\"reason\":\"error\","
					     "\"error\":\"stuck \\\"here\\\"\""));
		snprintf(want, sizeof want, "\"lines\":%zu}", count + 1);
		assert_non_null(strstr(last, want));
		got[len - 1] = '\n';
		python_check(path);
		free(got);
		unlink(path);
	}
}

/* An end line already written is not written again. */
static void test_emergency_end_after_end(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	(void)state;

	seq_line(h, 0);
	history_begin(h, 1, "end");
	history_str(h, "reason", "duration");
	history_uint(h, "lines", 2);
	history_end(h);
	assert_int_equal(history_flush(h), 0); /* the child's flush must not write them again */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(history_emergency_end(h, 2, "error", "late", 1.0) == 0 ? 0 : 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close_expect(h, path,
	             "{\"t\":0.000000,\"type\":\"seq\",\"s\":\"quote\\\" backslash\\\\ tab\\t "
	             "caf\xc3\xa9\",\"answers\":[\"10.0.0.1\",\"10.0.0.2\"],\"n\":0}\n"
	             "{\"t\":1.000000,\"type\":\"end\",\"reason\":\"duration\",\"lines\":2}\n");
}

static void test_lines_counted(void **state)
{
	char path[64];
	struct history *h = open_temp(path);
	(void)state;

	assert_int_equal(history_lines(h), 0);
	history_begin(h, 0, "a");
	assert_int_equal(history_lines(h), 0); /* not until history_end */
	history_end(h);
	assert_int_equal(history_lines(h), 1);
	seq_line(h, 0);
	assert_int_equal(history_lines(h), 2);
	history_close(h);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_open_errors),
	        cmocka_unit_test(test_emergency_end_while_writing),
	        cmocka_unit_test(test_emergency_end_after_end),
	        cmocka_unit_test(test_open_mode),
	        cmocka_unit_test(test_open_symlink_refused),
	        cmocka_unit_test(test_misuse),
	        cmocka_unit_test(test_line_too_long),
	        cmocka_unit_test(test_escaping),
	        cmocka_unit_test(test_bad_utf8_is_replaced),
	        cmocka_unit_test(test_long_string_crosses_chunks),
	        cmocka_unit_test(test_integers),
	        cmocka_unit_test(test_doubles),
	        cmocka_unit_test(test_doubles_round_correctly),
	        cmocka_unit_test(test_arrays),
	        cmocka_unit_test(test_lines_counted),
	        cmocka_unit_test(test_lines_beyond_threshold_in_order),
	        cmocka_unit_test(test_flush_keeps_open_line),
	        cmocka_unit_test(test_flushed_prefix),
	        cmocka_unit_test(test_open_fd),
	        cmocka_unit_test(test_stdout),
	        cmocka_unit_test(test_write_error),
	        cmocka_unit_test(test_short_write_keeps_whole_lines),
	        cmocka_unit_test(test_partial_writes_and_eintr),
	        cmocka_unit_test(test_sigkill_leaves_whole_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
