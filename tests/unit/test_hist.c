/*
 * test_hist.c - the history reader (harness/record/hist.c) against hostile
 * files: what docs/history.md forbids is refused with FILE:LINE, a file that
 * is not a regular one is refused without blocking, and a huge line is
 * refused before it takes more memory than the line cap.
 *
 * The hostile histories are the seed corpus of the reader's fuzz target
 * (tests/fuzz/corpus/hist): every bad-* file there has its message below,
 * and every good-* file must load. test_checker.c covers what the reader
 * gives the checker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/record/hist.h"
#include "harness/record/history.h"

#define META_LINE                                                                                  \
	"{\"t\":0.000000,\"type\":\"meta\",\"schema\":1,\"dnschaos\":\"0.1.0\","                   \
	"\"scenario\":\"s.lua\",\"name\":\"t\",\"seed\":1,\"duration\":10.000}\n"

/* Each hostile history of the corpus and what hist_load says of it, after "PATH". */
static const struct {
	const char *file, *error;
} refusals[] = {
        {"bad-end-not-last.jsonl",
         ":4: a line after the end line (line 3): the end line is the last"},
        {"bad-end-twice.jsonl", ":3: a line after the end line (line 2): the end line is the last"},
        {"bad-duplicate-key.jsonl",
         ":2: key 'resolver' appears twice (a key appears at most once in a line)"},
        {"bad-duplicate-t.jsonl",
         ":1: key 't' appears twice (a key appears at most once in a line)"},
        {"bad-negative-latency.jsonl",
         ":3: 'latency_ms' is negative (-5): a duration is never negative"},
        {"bad-negative-probe-latency.jsonl",
         ":2: 'latency_ms' is negative (-0.001): a duration is never negative"},
        {"bad-negative-queue-ms.jsonl",
         ":2: 'queue_ms' is negative (-1.5): a duration is never negative"},
        {"bad-infinite-t.jsonl", ":3: not a history line: a number too large to be finite"},
        {"bad-infinite-duration.jsonl", ":1: not a history line: a number too large to be finite"},
        {"bad-negative-infinity.jsonl", ":3: not a history line: a number too large to be finite"},
        {"bad-huge-integer.jsonl", ":2: not a history line: a number too large to be finite"},
        {"bad-number-too-long.jsonl",
         ":2: not a history line: a number longer than any finite one"},
        {"bad-nul-in-name.jsonl", ":2: not a history line: \\u0000 (NUL) in a string"},
        {"bad-nul-in-key.jsonl", ":2: not a history line: \\u0000 (NUL) in a string"},
        {"bad-nul-in-answers.jsonl", ":3: not a history line: \\u0000 (NUL) in a string"},
        {"bad-t-backwards.jsonl", ":3: t goes backwards (1.000000 after 2.000000)"},
        {"bad-first-not-meta.jsonl",
         ":1: not a dnschaos history: the first line is not a meta line"},
        {"bad-lone-high-surrogate.jsonl",
         ":2: not a history line: a lone high surrogate (\\uD800 to \\uDBFF) in a string"},
        {"bad-lone-low-surrogate.jsonl",
         ":2: not a history line: a lone low surrogate (\\uDC00 to \\uDFFF) in a string"},
        {"bad-reversed-surrogates.jsonl",
         ":2: not a history line: a lone low surrogate (\\uDC00 to \\uDFFF) in a string"},
        {"bad-high-surrogate-twice.jsonl",
         ":2: not a history line: a lone high surrogate (\\uD800 to \\uDBFF) in a string"},
        {"bad-high-surrogate-at-end.jsonl",
         ":2: not a history line: a lone high surrogate (\\uD800 to \\uDBFF) in a string"},
        {"bad-high-surrogate-cut-pair.jsonl", ":2: not a history line: bad \\u escape"},
        {"bad-dnsdist-poll.jsonl", ":2: poll_ms must be between 0 and 3600000"},
};
#define NREFUSALS (sizeof refusals / sizeof refusals[0])

/* ---- a temporary directory per test ---- */

struct fx {
	char dir[64];
	char path[128]; /* dir/history.jsonl */
	struct hist *h;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "%s/test_hist.XXXXXX",
	         tmp && tmp[0] && strlen(tmp) < 30 ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/history.jsonl", f->dir);
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

/* Writes text (n bytes) to f->path. */
static void write_file(const struct fx *f, const char *text, size_t n)
{
	FILE *fp = fopen(f->path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* A history of the meta line, then a log line of exactly len bytes (without its "\n"), then
 * nl: whether that line ends (else it is the file's cut last line). */
static void write_long_line(const struct fx *f, size_t len, bool nl)
{
	static const char head[] = "{\"t\":1.000000,\"type\":\"log\",\"message\":\"";
	size_t meta = strlen(META_LINE), n = meta + len + 1;
	char *text = malloc(n);

	assert_non_null(text);
	assert_true(len > sizeof head + 2);
	memcpy(text, META_LINE, meta);
	memcpy(text + meta, head, sizeof head - 1);
	memset(text + meta + sizeof head - 1, 'a', len - (sizeof head - 1) - 2);
	memcpy(text + meta + len - 2, "\"}\n", 3);
	write_file(f, text, nl ? n : n - 1);
	free(text);
}

/* Whether path is refused with exactly "PATH" + want; says what happened if not. */
static bool refuses(const char *path, const char *want)
{
	char err[1024], full[1024];
	struct hist *h;

	err[0] = '\0';
	h = hist_load(path, err, sizeof err);
	snprintf(full, sizeof full, "%s%s", path, want);
	if (!h && strcmp(err, full) == 0)
		return true;
	print_error("%s: %s\n     want \"%s\"\n", path, h ? "loaded" : err, want);
	hist_free(h);
	return false;
}

/* path must be refused with exactly "PATH" + want. */
static void refused(const char *path, const char *want)
{
	if (!refuses(path, want))
		fail();
}

/* ---- the corpus: every hostile history refused at its line, every good one read ---- */

static void test_corpus_refusals(void **state)
{
	char path[512];
	size_t wrong = 0;

	(void)state;
	for (size_t i = 0; i < NREFUSALS; i++) {
		snprintf(path, sizeof path, "%s/%s", HIST_CORPUS, refusals[i].file);
		wrong += !refuses(path, refusals[i].error);
	}
	assert_int_equal(wrong, 0);
}

/* No hostile file without its message, and every good one loads. */
static void test_corpus_complete(void **state)
{
	struct fx *f = *state;
	DIR *d = opendir(HIST_CORPUS);
	struct dirent *e;
	size_t good = 0, bad = 0;
	char path[512], err[1024];

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		snprintf(path, sizeof path, "%s/%s", HIST_CORPUS, e->d_name);
		if (strncmp(e->d_name, "bad-", 4) == 0) {
			size_t i = 0;
			while (i < NREFUSALS && strcmp(refusals[i].file, e->d_name) != 0)
				i++;
			if (i == NREFUSALS)
				fail_msg("%s has no expected message in test_hist.c", e->d_name);
			bad++;
		} else if (strncmp(e->d_name, "good-", 5) == 0) {
			f->h = hist_load(path, err, sizeof err);
			if (!f->h)
				fail_msg("%s", err);
			assert_true(hist_line_count(f->h) > 1);
			hist_free(f->h);
			f->h = NULL;
			good++;
		} else if (e->d_name[0] != '.') {
			fail_msg("%s: corpus files are named good-* or bad-*", e->d_name);
		}
	}
	closedir(d);
	assert_int_equal(bad, NREFUSALS);
	assert_true(good >= 4);
}

/* ---- each rule on its own, beside what stays allowed ---- */

static void test_end_last(void **state)
{
	struct fx *f = *state;
	char err[256];
	const char *ok =
	        META_LINE "{\"t\":1.0,\"type\":\"end\",\"reason\":\"duration\",\"lines\":2}\n"
	                  "{\"t\":2.0,\"type\":\"lo";
	const char *bad =
	        META_LINE "{\"t\":1.0,\"type\":\"end\",\"reason\":\"duration\",\"lines\":2}\n"
	                  "{\"t\":2.0,\"type\":\"log\",\"message\":\"x\"}\n";

	/* a cut line after the end is no line (a killed run can leave one only before it) */
	write_file(f, ok, strlen(ok));
	f->h = hist_load(f->path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	assert_string_equal(hist_end_reason(f->h), "duration");
	hist_free(f->h);
	f->h = NULL;
	write_file(f, bad, strlen(bad));
	refused(f->path, ":3: a line after the end line (line 2): the end line is the last");
}

static void test_numbers(void **state)
{
	struct fx *f = *state;
	char err[256];
	const struct hist_lookup *ls;
	size_t n;
	const char *fine = META_LINE
	        "{\"t\":1.0,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"a\",\"stack\":"
	        "\"glibc\","
	        "\"id\":1,\"name\":\"db\",\"family\":\"A\",\"target\":\"r1\"}\n"
	        "{\"t\":1.0,\"type\":\"lookup\",\"event\":\"ok\",\"client\":\"a\",\"stack\":"
	        "\"glibc\","
	        "\"id\":1,\"name\":\"db\",\"latency_ms\":-0.000,\"answers\":[],\"wire\":0,"
	        "\"exit\":-1,\"tiny\":1e-999,\"delay\":-3}\n";

	/* -0.000 is no negative latency; other negative numbers (exit -1) and underflow are fine */
	write_file(f, fine, strlen(fine));
	f->h = hist_load(f->path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	ls = hist_lookups(f->h, &n);
	assert_int_equal(n, 1);
	assert_true(ls[0].latency_ms == 0);
	hist_free(f->h);
	f->h = NULL;

	/* the longest fixed-point double the writer can write is read */
	{
		char line[1024];
		int k = snprintf(line, sizeof line, "%s{\"t\":1.0,\"type\":\"log\",\"v\":%.9f}\n",
		                 META_LINE, 1.7976931348623157e308);
		assert_true(k > 0 && (size_t)k < sizeof line);
		write_file(f, line, (size_t)k);
		f->h = hist_load(f->path, err, sizeof err);
		if (!f->h)
			fail_msg("%s", err);
		hist_free(f->h);
		f->h = NULL;
	}
	static const char *const infinite[] = {"1e999", "-1e999", "1E+400", "2e308"};
	for (size_t i = 0; i < sizeof infinite / sizeof infinite[0]; i++) {
		char line[512];
		int k = snprintf(line, sizeof line, "%s{\"t\":%s,\"type\":\"log\"}\n", META_LINE,
		                 infinite[i]);
		write_file(f, line, (size_t)k);
		refused(f->path, ":2: not a history line: a number too large to be finite");
	}
}

/* t may wobble by 1e-9 (rounding), but not step down by that much line after line. */
static void test_t_no_drift(void **state)
{
	struct fx *f = *state;
	char err[256];
	const char *wobble =
	        META_LINE "{\"t\":1.0,\"type\":\"a\"}\n{\"t\":0.9999999995,\"type\":\"b\"}\n"
	                  "{\"t\":1.0,\"type\":\"c\"}\n";
	const char *drift =
	        META_LINE "{\"t\":1.0,\"type\":\"a\"}\n{\"t\":0.9999999994,\"type\":\"b\"}\n"
	                  "{\"t\":0.9999999988,\"type\":\"c\"}\n"
	                  "{\"t\":0.9999999982,\"type\":\"d\"}\n";

	write_file(f, wobble, strlen(wobble));
	f->h = hist_load(f->path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	hist_free(f->h);
	f->h = NULL;
	write_file(f, drift, strlen(drift));
	refused(f->path, ":4: t goes backwards (0.999999998800 after 1.000000000000)");
}

static void test_strings(void **state)
{
	struct fx *f = *state;
	char err[256];
	uint32_t id;
	const char *ok = META_LINE "{\"t\":1.0,\"type\":\"state\",\"resolver\":\"r\\u0001\\u00e9\","
	                           "\"state\":\"up\"}\n";
	const char *nul = META_LINE "{\"t\":1.0,\"type\":\"state\",\"resolver\":\"r1\\u0000x\","
	                            "\"state\":\"up\"}\n";

	/* other escaped control characters stay allowed: the writer escapes them */
	write_file(f, ok, strlen(ok));
	f->h = hist_load(f->path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	id = hist_find(f->h, "r\x01\xc3\xa9");
	assert_int_not_equal(id, HIST_NONE);
	hist_free(f->h);
	f->h = NULL;
	/* before: "r1\0x" was interned, and read back as "r1", another resolver's name */
	write_file(f, nul, strlen(nul));
	refused(f->path, ":2: not a history line: \\u0000 (NUL) in a string");
}

/*
 * A code point above U+FFFF escaped as RFC 8259 says, a surrogate pair, is
 * read as its 4-byte UTF-8 (before: each half as 3 bytes, CESU-8, which is
 * not UTF-8); a surrogate on its own is refused (docs/history.md).
 */
static void test_surrogate_pairs(void **state)
{
	struct fx *f = *state;
	char err[512], path[512];
	const char *pair = META_LINE "{\"t\":1.0,\"type\":\"state\",\"resolver\":"
	                             "\"r\\uD83D\\uDE00\\udbff\\udfff\\uD800\\uDC00\",\"state\":\"up\"}\n";

	write_file(f, pair, strlen(pair));
	f->h = hist_load(f->path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	assert_int_not_equal(hist_find(f->h, "r\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xF0\x90\x80\x80"),
			     HIST_NONE);
	assert_int_equal(hist_find(f->h, "r\xED\xA0\xBD\xED\xB8\x80\xED\xAF\xBF\xED\xBF\xBF"
				       "\xED\xA0\x80\xED\xB0\x80"),
			 HIST_NONE);
	hist_free(f->h);
	f->h = NULL;

	/* the corpus's seed, and its meta name, also read as UTF-8 */
	snprintf(path, sizeof path, "%s/good-surrogate-pair.jsonl", HIST_CORPUS);
	f->h = hist_load(path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	assert_string_equal(hist_meta(f->h)->name, "pair \xF0\x9F\x98\x80 \xF0\x9F\x98\x80 "
						  "\xF4\x8F\xBF\xBF \xF0\x90\x80\x80");
	assert_int_not_equal(hist_find(f->h, "db-\xF0\x9F\x98\x80.internal"), HIST_NONE);
}

/* A dnsdist VIP's lines (vip kind, backend_stats) read into their arrays. */
static void test_dnsdist_lines(void **state)
{
	struct fx *f = *state;
	char path[512], err[256];
	size_t n;
	double poll = 0;
	snprintf(path, sizeof path, "%s/good-dnsdist.jsonl", HIST_CORPUS);
	f->h = hist_load(path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	const struct hist_vip *v = hist_vips(f->h, &n);
	assert_int_equal(n, 2);
	assert_true(v[0].dnsdist);
	assert_true(hist_vip_dnsdist(f->h, hist_find(f->h, "dd"), &poll));
	assert_true(poll > 0.099 && poll < 0.101);
	assert_false(hist_vip_dnsdist(f->h, hist_find(f->h, "r1"), NULL));
	assert_false(hist_vip_dnsdist(f->h, HIST_NONE, NULL));
	const struct hist_bstat *b = hist_backend_stats(f->h, &n);
	assert_int_equal(n, 2);
	assert_string_equal(hist_str(f->h, b[1].backend), "r2");
	assert_int_equal(b[1].queries, 2);
	assert_int_equal(b[1].new_queries, 2);
	assert_int_equal(b[1].drops, 1);
	assert_int_equal(hist_line_type(f->h, 1), HIST_VIP);
	assert_int_equal(hist_line_type(f->h, 4), HIST_BACKEND_STATS);
	size_t nh;
	hist_healths(f->h, &nh);
	assert_int_equal(nh, 3);
}

static void test_duplicate_keys(void **state)
{
	struct fx *f = *state;
	char err[256];
	const char *nested = META_LINE "{\"t\":1.0,\"type\":\"novel\",\"o\":{\"k\":1,\"k\":2},"
	                               "\"k\":3}\n";
	const char *twice = META_LINE "{\"t\":1.0,\"type\":\"state\",\"resolver\":\"r1\","
	                              "\"state\":\"up\",\"state\":\"down\"}\n";
	const char *control = META_LINE "{\"t\":1.0,\"type\":\"x\",\"a\\nb\":1,\"a\\nb\":2}\n";

	/* keys of a nested object (not read) are that object's business */
	write_file(f, nested, strlen(nested));
	f->h = hist_load(f->path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	hist_free(f->h);
	f->h = NULL;
	write_file(f, twice, strlen(twice));
	refused(f->path, ":2: key 'state' appears twice (a key appears at most once in a line)");
	/* a key is shown without its control characters */
	write_file(f, control, strlen(control));
	refused(f->path, ":2: key 'a?b' appears twice (a key appears at most once in a line)");
}

/* A history whose lookup 1 completes ok with n answers (a line of about 12 bytes an answer). */
static void write_answers(const struct fx *f, size_t n)
{
	static const char inv[] =
	        "{\"t\":1.0,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"a\","
	        "\"stack\":\"glibc\",\"id\":1,\"name\":\"db\",\"family\":\"A\",\"target\":\"r1\"}\n"
	        "{\"t\":1.0,\"type\":\"lookup\",\"event\":\"ok\",\"client\":\"a\","
	        "\"stack\":\"glibc\",\"id\":1,\"name\":\"db\",\"latency_ms\":1.000,\"answers\":[";
	size_t cap = strlen(META_LINE) + sizeof inv + n * 16 + 64, len = 0;
	char *text = malloc(cap);

	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "%s%s", META_LINE, inv);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s\"10.%zu.%zu.%zu\"", i ? "," : "",
		                        i >> 16 & 255, i >> 8 & 255, i & 255);
	len += (size_t)snprintf(text + len, cap - len, "],\"wire\":1}\n");
	write_file(f, text, len);
	free(text);
}

/* The answers of a lookup are counted in 16 bits: more is refused, not wrapped to none. */
static void test_many_answers(void **state)
{
	struct fx *f = *state;
	char err[256];
	const struct hist_lookup *ls;
	const struct hist_addr *a;
	size_t n, na;

	write_answers(f, UINT16_MAX);
	f->h = hist_load(f->path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	ls = hist_lookups(f->h, &n);
	assert_int_equal(n, 1);
	a = hist_lookup_addrs(f->h, &ls[0], &na);
	assert_int_equal(na, UINT16_MAX);
	assert_int_equal(a[na - 1].a[3], (UINT16_MAX - 1) & 255);
	hist_free(f->h);
	f->h = NULL;
	write_answers(f, UINT16_MAX + 1);
	refused(f->path, ":3: 65536 answers: more than a lookup has (a stack returns a few dozen)");
}

/* ---- what is not a regular file ---- */

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "hist_load blocked on a FIFO\n";
	(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
	_exit(1);
}

static void test_not_regular(void **state)
{
	struct fx *f = *state;
	char fifo[160];

	/* before: open() waited for a writer that never comes; the alarm fails the test */
	snprintf(fifo, sizeof fifo, "%s/fifo", f->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	signal(SIGALRM, on_alarm);
	alarm(20);
	refused(fifo, ": not a regular file (a history is a file, not a FIFO)");
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	unlink(fifo);
	refused("/dev/zero", ": not a regular file (a history is a file, not a device)");
	refused(f->dir, ": not a regular file (a history is a file, not a directory)");
}

/* ---- the line cap ---- */

static void test_line_cap(void **state)
{
	struct fx *f = *state;
	char err[256], want[160];
	const char *line;
	size_t len;

	/* a line of exactly HIST_LINE_MAX is read */
	write_long_line(f, HIST_LINE_MAX, true);
	f->h = hist_load(f->path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	line = hist_line(f->h, 1, &len);
	assert_non_null(line);
	assert_int_equal(len, HIST_LINE_MAX);
	hist_free(f->h);
	f->h = NULL;

	/* one byte more is refused at its line, whole or cut */
	snprintf(want, sizeof want,
	         ":2: a line longer than 16 MiB: no history holds one (the longest line dnschaos "
	         "writes is 16 MiB)");
	write_long_line(f, HIST_LINE_MAX + 1, true);
	refused(f->path, want);
	write_long_line(f, HIST_LINE_MAX + 1, false);
	refused(f->path, want);
}

/* The longest line the writer writes (a log message near HISTORY_LINE_MAX) reads back. */
static void test_writer_longest_line(void **state)
{
	struct fx *f = *state;
	char err[256];
	size_t n = HISTORY_LINE_MAX - 64 * 1024, len;
	char *msg = malloc(n + 1);
	struct history *w;

	assert_non_null(msg);
	memset(msg, 'x', n);
	msg[n] = '\0';
	w = history_open(f->path, err, sizeof err);
	assert_non_null(w);
	history_begin(w, 0, "meta");
	history_uint(w, "schema", 1);
	history_str(w, "name", "t");
	history_end(w);
	history_begin(w, 1.0, "log");
	history_str(w, "message", msg);
	history_end(w);
	history_begin(w, 1.0, "log");
	history_str(w, "message", "short: pads the long line before it to a page");
	history_end(w);
	assert_int_equal(history_flush(w), 0);
	history_close(w);
	free(msg);

	f->h = hist_load(f->path, err, sizeof err);
	if (!f->h)
		fail_msg("%s", err);
	assert_int_equal(hist_line_count(f->h), 3);
	assert_non_null(hist_line(f->h, 1, &len));
	assert_true(len > n && len <= HIST_LINE_MAX);
}

/*
 * A 512 MiB line (a sparse file: no disk) costs about the cap, not the line:
 * the peak resident size of a child that loads it grows by less than 160 MiB
 * (the reader holds at most HIST_LINE_MAX and a read chunk of it: 17 MiB,
 * 45 under valgrind, 56 under ASan, which keeps what realloc freed; before,
 * it read the whole file first).
 */
static void test_huge_line_memory(void **state)
{
	struct fx *f = *state;
	int fd;
	pid_t pid;
	int status;

	fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, META_LINE, strlen(META_LINE)), (ssize_t)strlen(META_LINE));
	assert_int_equal(ftruncate(fd, 512L * 1024 * 1024), 0);
	assert_int_equal(close(fd), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rusage before, after;
		char err[256];
		struct hist *h;
		long grew;

		getrusage(RUSAGE_SELF, &before);
		h = hist_load(f->path, err, sizeof err);
		getrusage(RUSAGE_SELF, &after);
		grew = (after.ru_maxrss - before.ru_maxrss) / 1024; /* MiB */
		if (grew >= 160) {
			fprintf(stderr, "peak resident size grew by %ld MiB\n", grew);
			_exit(3);
		}
		if (h || !strstr(err, ":2: a line longer than 16 MiB")) {
			fprintf(stderr, "not refused: %s\n", h ? "loaded" : err);
			_exit(2);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_corpus_refusals, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_corpus_complete, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_end_last, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_t_no_drift, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_surrogate_pairs, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_duplicate_keys, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_many_answers, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_huge_line_memory, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_line_cap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dnsdist_lines, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_writer_longest_line, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
