/*
 * test_report.c - the reports (harness/record/report.c): the console table,
 * JUnit XML checked against tests/unit/data/junit.xsd by xmllint, TAP read
 * by prove (and its YAML by TAP::Parser), the JSON summary read by python3.
 *
 * The results are made by hand (a pass, a failure with moments, an
 * inconclusive, a failure that is "never", names full of quotes, ampersands,
 * newlines, control characters, bytes that are not UTF-8 and non-ASCII text);
 * the history is a real one, written here and read with hist_load. A test
 * that needs a missing tool (xmllint, prove, python3) is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/record/hist.h"
#include "harness/record/report.h"
#include "harness/record/report_assets.h"

#define NEXP 5

/* Names that every format must carry through (or repair) exactly. */
#define NAME_PASS    "success rate of app \xe2\x89\xa5 99 %"
#define NAME_FAIL    "p99 <latency> & \"quotes\" 'apos'"
#define NAME_INCONCL "stale answers\nafter publish #2 \\ back"
#define NAME_NEVER                                                                                 \
	"d\xc3\xa9tection \xe2\x80\x94 \xc3\xbcn\xc3\xaf"                                          \
	"c\xc3\xb6"                                                                                \
	"d\xc3\xa9 \xe5\x90\x8d\xe5\x89\x8d, a name long enough to be cut in the table"
#define NAME_CONTROL                                                                               \
	"ctl\x01"                                                                                  \
	"char bad\xff"                                                                             \
	"byte"
/* ... and as a reader sees NAME_CONTROL: the control gone (XML) and U+FFFD for \xff. */
#define NAME_CONTROL_XML                                                                           \
	"ctlchar bad\xef\xbf\xbd"                                                                  \
	"byte"

#define MOMENT0 "lookup 17 of app: timeout EAI_AGAIN"
#define MOMENT1 "lookup 18 of app: <servfail> & \"more\"\tafter a tab"

static const char history_text[] =
        "{\"t\":0.000000,\"type\":\"meta\",\"schema\":1,\"dnschaos\":\"0.1.0\","
        "\"scenario\":\"scenarios/t.lua\",\"name\":\"stale & <zone> \\\"reboot\\\"\",\"seed\":7,"
        "\"duration\":12.000,\"ldns\":\"1.8.3\",\"libevent\":\"2.1.12-stable\","
        "\"lua\":\"Lua 5.4.4\",\"c-ares\":\"1.18.1\",\"libunbound\":\"1.17.1\","
        "\"glibc\":\"2.36\",\"started_unix\":\"1795000000\"}\n"
        "{\"t\":0.001210,\"type\":\"publish\",\"source\":\"truth\",\"zone\":\"internal.\","
        "\"serial\":2026112502,\"file\":\"zones/internal.v2.zone\"}\n"
        "{\"t\":0.004877,\"type\":\"state\",\"resolver\":\"r1\",\"state\":\"up\","
        "\"why\":\"booted\",\"address\":\"127.0.0.11:40233\"}\n"
        "{\"t\":3.000113,\"type\":\"fault\",\"target\":\"r2\",\"fault\":\"hang\",\"id\":4,"
        "\"action\":\"inject\",\"duration\":2.000}\n"
        "{\"t\":3.100000,\"type\":\"lookup\",\"event\":\"invoke\",\"client\":\"app\","
        "\"stack\":\"glibc\",\"id\":17,\"name\":\"db.internal\",\"family\":\"A\","
        "\"target\":\"r1\"}\n"
        "{\"t\":3.412000,\"type\":\"lookup\",\"event\":\"timeout\",\"client\":\"app\","
        "\"stack\":\"glibc\",\"id\":17,\"name\":\"db.internal\",\"latency_ms\":312.000,"
        "\"reason\":\"timeout\",\"error\":\"EAI_AGAIN\",\"wire\":2}\n"
        "{\"t\":5.000200,\"type\":\"fault\",\"target\":\"r2\",\"fault\":\"hang\",\"id\":4,"
        "\"action\":\"heal\"}\n"
        "{\"t\":12.000420,\"type\":\"end\",\"reason\":\"duration\",\"lines\":8}\n";

struct fixture {
	char dir[64];
	char history[128];
	struct hist *h;
	struct expectation e[NEXP];
	struct expect_result res[NEXP];
	struct verdict_info v;
	struct report r;
	/* checker.c's wording of each observed value and bound ("812 ms", "<= 250 ms") */
	char obs[NEXP][64], bnd[NEXP][64];
};

/* ---- helpers ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The whole file, NUL-terminated (free it). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		fail_msg("cannot read %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* Runs a shell command; its exit status (-1 if it did not exit). */
static int run(const char *cmd)
{
	int st = system(cmd);

	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
	return run(cmd) == 0;
}

static void need(const char *tool)
{
	if (!have(tool)) {
		print_message("%s not installed (ci/install.sh installs it): skipped\n", tool);
		skip();
	}
}

static void path_in(const struct fixture *f, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", f->dir, name);
}

/* The console report as a string (free it). */
static char *console(const struct report *r, bool color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	report_console(out, r, color);
	assert_int_equal(fclose(out), 0);
	return buf;
}

/* Code points on the line starting at s (up to '\n'). */
static size_t line_cols(const char *s)
{
	size_t cols = 0;

	for (; *s && *s != '\n'; s++)
		cols += ((unsigned char)*s & 0xC0) != 0x80;
	return cols;
}

/* The code-point column at which needle starts on the line at s, or -1. */
static long col_of(const char *line, const char *needle)
{
	const char *end = strchr(line, '\n'), *p = strstr(line, needle);
	long cols = 0;

	if (!p || (end && p > end))
		return -1;
	for (const char *q = line; q < p; q++)
		cols += ((unsigned char)*q & 0xC0) != 0x80;
	return cols;
}

/* Whether s starts with the literal lit. */
#define STARTS(s, lit) (strncmp((s), (lit), strlen(lit)) == 0)

/* The line of text that starts with prefix, or NULL. */
static const char *line_starting(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, prefix, n) == 0)
			return l;
	return NULL;
}

/* ---- the fixture: five results, a FAIL verdict, a real history ---- */

static void set_text(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s);
}

static void make_results(struct fixture *f)
{
	struct expectation *e = f->e;
	struct expect_result *res = f->res;

	memset(res, 0, sizeof f->res);
	for (size_t i = 0; i < NEXP; i++) {
		expectation_init(&e[i]);
		snprintf(e[i].where, sizeof e[i].where, "scenarios/t.lua:%zu", 10 + i);
	}

	set_text(e[0].name, sizeof e[0].name, NAME_PASS);
	e[0].metric = EXPECT_SUCCESS_RATE, e[0].op = EXPECT_AT_LEAST, e[0].bound = 0.99;
	res[0].outcome = OUTCOME_PASS, res[0].has_value = true, res[0].observed = 0.9931;
	set_text(res[0].detail, sizeof res[0].detail, "412 of 415 lookups ok");

	set_text(e[1].name, sizeof e[1].name, NAME_FAIL);
	e[1].metric = EXPECT_LATENCY, e[1].op = EXPECT_AT_MOST, e[1].bound = 250, e[1].p = 99;
	res[1].outcome = OUTCOME_FAIL, res[1].has_value = true, res[1].observed = 812;
	set_text(res[1].unit, sizeof res[1].unit, "ms");
	set_text(res[1].detail, sizeof res[1].detail, "p99 of 415 lookups");
	set_text(res[1].why, sizeof res[1].why, "observed 812 ms, expected <= 250 ms");
	res[1].nmoments = 2;
	res[1].moments[0] = (struct expect_moment){.t = 3.412, .line = 6};
	set_text(res[1].moments[0].what, sizeof res[1].moments[0].what, MOMENT0);
	res[1].moments[1] = (struct expect_moment){.t = 4.5, .line = 0};
	set_text(res[1].moments[1].what, sizeof res[1].moments[1].what, MOMENT1);

	set_text(e[2].name, sizeof e[2].name, NAME_INCONCL);
	e[2].metric = EXPECT_STALE, e[2].op = EXPECT_AT_MOST, e[2].bound = 0;
	res[2].outcome = OUTCOME_INCONCLUSIVE, res[2].has_value = false;
	set_text(res[2].why, sizeof res[2].why, "no lookup in the window 5.000-8.000 s");

	set_text(e[3].name, sizeof e[3].name, NAME_NEVER);
	e[3].metric = EXPECT_DETECTION, e[3].op = EXPECT_AT_MOST, e[3].bound = 5;
	res[3].outcome = OUTCOME_FAIL, res[3].has_value = true, res[3].observed = INFINITY;
	set_text(res[3].unit, sizeof res[3].unit, "s");
	set_text(res[3].why, sizeof res[3].why,
	         "the VIP never stopped sending new flows to r2, and this reason is long enough "
	         "that the console has to wrap it onto a second line to stay in 100 columns");

	set_text(e[4].name, sizeof e[4].name, NAME_CONTROL);
	e[4].metric = EXPECT_AMPLIFICATION, e[4].op = EXPECT_AT_MOST, e[4].bound = 3;
	res[4].outcome = OUTCOME_PASS, res[4].has_value = true, res[4].observed = 1.25;
	set_text(res[4].unit, sizeof res[4].unit, "x");

	memset(&f->v, 0, sizeof f->v);
	f->v.verdict = VERDICT_FAIL;
	f->v.passed = 2, f->v.failed = 2, f->v.inconclusive = 1;
	set_text(f->v.why, sizeof f->v.why, "2 of 5 expectations failed");
	set_text(f->v.untouched[0], sizeof f->v.untouched[0], "hang on r2 (fault 4) at 3.000 s");
	f->v.nuntouched = 1;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	char err[512];

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_report.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	path_in(f, "history.jsonl", f->history, sizeof f->history);
	write_file(f->history, history_text);
	f->h = hist_load(f->history, err, sizeof err);
	if (!f->h)
		fail_msg("hist_load: %s", err);
	make_results(f);
	for (size_t i = 0; i < NEXP; i++) {
		expect_format_value(&f->res[i], f->obs[i], sizeof f->obs[i]);
		expect_format_bound(&f->e[i], &f->res[i], f->bnd[i], sizeof f->bnd[i]);
	}
	f->r = (struct report){.hist = f->h,
	                       .history_path = f->history,
	                       .scenario_path = "scenarios/t.lua",
	                       .expect = f->e,
	                       .results = f->res,
	                       .n = NEXP,
	                       .verdict = &f->v};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	hist_free(f->h);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(run(cmd), 0);
	free(f);
	return 0;
}

/* Keeps only the passing and inconclusive results (a run prove must accept). */
static void no_failures(struct fixture *f)
{
	f->e[1] = f->e[0];
	f->res[1] = f->res[0];
	f->e[3] = f->e[4];
	f->res[3] = f->res[4];
	f->v.verdict = VERDICT_INCONCLUSIVE;
	f->v.passed = 4, f->v.failed = 0;
	set_text(f->v.why, sizeof f->v.why, "1 of 5 expectations could not be measured");
}

/* A plain run: no expectations. */
static void plain_run(struct fixture *f)
{
	f->r.n = 0;
	memset(&f->v, 0, sizeof f->v);
	f->v.verdict = VERDICT_NONE;
}

/* ---- bad parameters ---- */

static void test_bad_params(void **state)
{
	struct fixture *f = *state;
	char err[256], path[128];

	err[0] = 0;
	assert_int_equal(report_junit(NULL, &f->r, err, sizeof err), -1);
	assert_non_null(strstr(err, "report_junit"));
	err[0] = 0;
	assert_int_equal(report_json("x.json", NULL, err, sizeof err), -1);
	assert_non_null(strstr(err, "report_json"));
	report_console(NULL, &f->r, false); /* no crash, nothing written */
	report_tap(stdout, NULL);

	/* A directory that does not exist: the message names the file and the cause. */
	assert_int_equal(report_junit("/nonexistent-dnschaos/r.xml", &f->r, err, sizeof err), -1);
	assert_string_equal(err, "cannot write the JUnit report /nonexistent-dnschaos/r.xml: "
	                         "No such file or directory");
	assert_int_equal(report_json("/nonexistent-dnschaos/r.json", &f->r, err, sizeof err), -1);
	assert_non_null(strstr(err, "JSON report /nonexistent-dnschaos/r.json"));

	/* A full disk: reported, and the device is left alone. */
	if (access("/dev/full", W_OK) == 0) {
		assert_int_equal(report_json("/dev/full", &f->r, err, sizeof err), -1);
		assert_string_equal(err, "cannot write the JSON report /dev/full: "
		                         "No space left on device");
		assert_int_equal(access("/dev/full", F_OK), 0);
		assert_int_equal(report_junit("/dev/full", &f->r, err, sizeof err), -1);
		assert_int_equal(access("/dev/full", F_OK), 0);
	}

	/* Without a history or a verdict: still whole reports, the verdict from the results. */
	f->r.hist = NULL;
	f->r.verdict = NULL;
	path_in(f, "nohist.json", path, sizeof path);
	assert_int_equal(report_json(path, &f->r, err, sizeof err), 0);
	char *text = console(&f->r, false);
	assert_non_null(strstr(text, "verdict: FAIL (2 failed, 2 passed, 1 inconclusive)\n"));
	assert_null(strstr(text, "seed"));
	free(text);
}

/* ---- files: modes and symbolic links ---- */

static mode_t mode_of(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		fail_msg("cannot stat %s", path);
	return st.st_mode & 07777;
}

/* New report files are 0600 (directories 0700) whatever the umask, or the mode asked for. */
static void test_file_modes(void **state)
{
	struct fixture *f = *state;
	char err[256], path[128], dir[128], index[160];
	mode_t old = umask(022);

	path_in(f, "r.xml", path, sizeof path);
	assert_int_equal(report_junit(path, &f->r, err, sizeof err), 0);
	assert_int_equal(mode_of(path), 0600); /* 0644 before */
	path_in(f, "r.json", path, sizeof path);
	assert_int_equal(report_json(path, &f->r, err, sizeof err), 0);
	assert_int_equal(mode_of(path), 0600);
	path_in(f, "html/sub", dir, sizeof dir);
	assert_int_equal(report_html(dir, &f->r, err, sizeof err), 0);
	snprintf(index, sizeof index, "%s/index.html", dir);
	assert_int_equal(mode_of(index), 0600);
	assert_int_equal(mode_of(dir), 0700);

	/* --umask 022: 0644 and 0755, even under a process umask of 077. */
	umask(077);
	f->r.file_mode = 0644;
	path_in(f, "r2.json", path, sizeof path);
	assert_int_equal(report_json(path, &f->r, err, sizeof err), 0);
	assert_int_equal(mode_of(path), 0644);
	path_in(f, "html2", dir, sizeof dir);
	assert_int_equal(report_html(dir, &f->r, err, sizeof err), 0);
	snprintf(index, sizeof index, "%s/index.html", dir);
	assert_int_equal(mode_of(index), 0644);
	assert_int_equal(mode_of(dir), 0755);
	umask(old);
}

/* A symbolic link planted at a report's path is refused, never followed. */
static void test_symlinks_not_followed(void **state)
{
	struct fixture *f = *state;
	char err[256], path[128], victim[128];

	path_in(f, "victim", victim, sizeof victim);
	write_file(victim, "precious\n");
	path_in(f, "link.json", path, sizeof path);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(report_json(path, &f->r, err, sizeof err), -1);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(report_junit(path, &f->r, err, sizeof err), -1);
	char *text = slurp(victim);
	assert_string_equal(text, "precious\n");
	free(text);
}

/* Whether page holds before, the asset's bytes (as in its source file), then after. */
static void embedded(const char *page, const char *file, const unsigned char *bytes, size_t len,
		     const char *before, const char *after)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", RECORD_DIR, file);
	char *src = slurp(path), *want;
	size_t n = strlen(src);

	/* the array is the file, byte for byte: not missing, not empty, not stale */
	if (len != n || memcmp(bytes, src, n) != 0 || bytes[len] != 0)
		fail_msg("%s: the embedded copy (%zu bytes) is not the file (%zu bytes)", file, len, n);
	assert_true(n > 1000);
	want = malloc(strlen(before) + n + strlen(after) + 1);
	assert_non_null(want);
	sprintf(want, "%s%s%s", before, src, after);
	if (!strstr(page, want))
		fail_msg("the page does not hold %s where it belongs", file);
	free(want);
	free(src);
}

/* The page's style sheet, fill patterns and script are the files in harness/record, inline. */
static void test_html_assets(void **state)
{
	struct fixture *f = *state;
	char err[256], dir[128], index[160];

	path_in(f, "assets", dir, sizeof dir);
	assert_int_equal(report_html(dir, &f->r, err, sizeof err), 0);
	snprintf(index, sizeof index, "%s/index.html", dir);
	char *page = slurp(index);
	embedded(page, "report.css", report_css, report_css_len, "<style>\n", "\n</style>");
	embedded(page, "report_defs.svg", report_defs_svg, report_defs_svg_len, "\">\n",
		 "\n<header");
	embedded(page, "report.js", report_js, report_js_len, "<script>\n", "\n</script>");
	free(page);
}

/* The HTML page's temporary file was DIR/.index.html.PID: predictable, and followed. */
static void test_html_temp_not_followed(void **state)
{
	struct fixture *f = *state;
	char err[256], victim[128], dir[128], tmp[192], index[192];

	path_in(f, "victim", victim, sizeof victim);
	write_file(victim, "precious\n");
	path_in(f, "html", dir, sizeof dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(tmp, sizeof tmp, "%s/.index.html.%ld", dir, (long)getpid());
	assert_int_equal(symlink(victim, tmp), 0);
	/* A link at index.html itself is replaced by the page, not written through. */
	snprintf(index, sizeof index, "%s/index.html", dir);
	assert_int_equal(symlink(victim, index), 0);
	assert_int_equal(report_html(dir, &f->r, err, sizeof err), 0);
	char *text = slurp(victim);
	assert_string_equal(text, "precious\n");
	free(text);
	struct stat st;
	assert_int_equal(lstat(index, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(lstat(tmp, &st), 0);
	assert_true(S_ISLNK(st.st_mode)); /* left alone */
	/* No temporary file left beside. */
	char cmd[256];
	snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 2", dir);
	assert_int_equal(run(cmd), 0);
}

/* ---- console ---- */

static void test_console(void **state)
{
	struct fixture *f = *state;
	char *text = console(&f->r, false);
	const char *l;

	/* Every line fits 100 columns; nothing but text without colour. */
	for (l = text; *l; l = strchr(l, '\n') + 1) {
		if (line_cols(l) > 100)
			fail_msg("line over 100 columns: %.*s", (int)(strchr(l, '\n') - l), l);
		assert_non_null(strchr(l, '\n'));
	}
	assert_null(strchr(text, '\033'));

	/* The header and every row: columns aligned, result at column 86. */
	l = line_starting(text, "expectation ");
	assert_non_null(l);
	assert_int_equal(col_of(l, "observed"), 50);
	assert_int_equal(col_of(l, "bound"), 66);
	assert_int_equal(col_of(l, "result"), 86);
	l = line_starting(text, NAME_PASS);
	assert_non_null(l);
	assert_int_equal(col_of(l, f->obs[0]), 50);
	assert_int_equal(col_of(l, f->bnd[0]), 66);
	assert_int_equal(col_of(l, "PASS"), 86);
	l = line_starting(text, NAME_FAIL);
	assert_non_null(l);
	assert_non_null(strstr(f->obs[1], "812"));
	assert_int_equal(col_of(l, f->obs[1]), 50);
	assert_int_equal(col_of(l, f->bnd[1]), 66);
	assert_int_equal(col_of(l, "FAIL"), 86);

	/* The failure's moments right under it, in order. */
	l = strchr(l, '\n') + 1;
	assert_true(STARTS(l, "  at 3.412 s (line 6): " MOMENT0 "\n"));
	l = strchr(l, '\n') + 1;
	assert_true(
	        STARTS(l, "  at 4.500 s: lookup 18 of app: <servfail> & \"more\" after a tab\n"));

	/* The newline in a name is a space; the inconclusive row is followed by its why. */
	l = line_starting(text, "stale answers after publish #2 \\ back ");
	assert_non_null(l);
	assert_int_equal(col_of(l, "-"), 50);
	assert_int_equal(col_of(l, "INCONCLUSIVE"), 86);
	assert_null(line_starting(text, "after publish"));
	assert_non_null(strstr(l, "\n  no lookup in the window 5.000-8.000 s\n"));

	/* A long name is cut with an ellipsis at 48 columns; "never" is the observed value. */
	l = line_starting(text, "d\xc3\xa9tection");
	assert_non_null(l);
	assert_int_equal(col_of(l, "\xe2\x80\xa6"), 47);
	assert_int_equal(col_of(l, f->obs[3]), 50);
	/* ... and its reason is wrapped at a space, the rest indented further. */
	assert_non_null(strstr(l, "\n  the VIP never stopped sending new flows to r2, and this "));
	assert_non_null(strstr(l, "\n    "));

	/* Control characters and bad bytes never reach the terminal raw. */
	assert_null(strchr(text, '\x01'));
	assert_null(strchr(text, '\xff'));
	assert_non_null(line_starting(text, "ctl char bad\xef\xbf\xbd"
	                                    "byte "));

	/* The verdict, its reasons, the untouched fault, the stacks and the history. */
	assert_non_null(strstr(text,
	                       "\nverdict: FAIL (2 failed, 2 passed, 1 inconclusive) "
	                       "\xe2\x80\x94 seed 7, dnschaos 0.1.0\n"
	                       "  2 of 5 expectations failed\n"
	                       "untouched faults (injected, never met by a client's lookup):\n"
	                       "  hang on r2 (fault 4) at 3.000 s\n"
	                       "stacks: ldns 1.8.3, libevent 2.1.12-stable, Lua 5.4.4, "
	                       "c-ares 1.18.1, libunbound 1.17.1, glibc 2.36\n"
	                       "history: "));
	free(text);
}

static void test_console_color(void **state)
{
	struct fixture *f = *state;
	char *text = console(&f->r, true);

	assert_non_null(strstr(text, "\033[32mPASS\033[0m\n"));
	assert_non_null(strstr(text, "\033[31mFAIL\033[0m\n"));
	assert_non_null(strstr(text, "\033[33mINCONCLUSIVE\033[0m\n"));
	assert_non_null(strstr(text, "verdict: \033[1m\033[31mFAIL\033[0m (2 failed"));
	/* The colour codes come after the padding: the result column stays at 86. */
	assert_int_equal(col_of(line_starting(text, NAME_PASS), "\033[32mPASS"), 86);
	free(text);
}

static void test_console_plain_run(void **state)
{
	struct fixture *f = *state;
	char *text;

	plain_run(f);
	text = console(&f->r, false);
	assert_null(line_starting(text, "expectation "));
	assert_true(strncmp(text,
	                    "no expectations: a plain run (exit 0 when it completed) "
	                    "\xe2\x80\x94 seed 7, dnschaos 0.1.0\nstacks: ldns 1.8.3, ",
	                    strlen("no expectations: a plain run (exit 0 when it completed) "
	                           "\xe2\x80\x94 seed 7, dnschaos 0.1.0\nstacks: ldns 1.8.3, ")) ==
	            0);
	assert_null(strstr(text, "verdict:"));
	free(text);
}

/* ---- JUnit ---- */

/* xmllint's answer to an XPath expression on file. */
static char *xpath(const struct fixture *f, const char *file, const char *expr)
{
	char cmd[1024], out[128];

	char *text;
	size_t len;

	path_in(f, "xpath.out", out, sizeof out);
	snprintf(cmd, sizeof cmd, "xmllint --xpath '%s' '%s' > '%s'", expr, file, out);
	if (run(cmd) != 0)
		fail_msg("failed: %s", cmd);
	/* xmllint ends its answer with a newline of its own. */
	text = slurp(out);
	len = strlen(text);
	if (len > 0 && text[len - 1] == '\n')
		text[len - 1] = 0;
	return text;
}

static void assert_xpath(const struct fixture *f, const char *file, const char *expr,
                         const char *want)
{
	char *got = xpath(f, file, expr);

	if (strcmp(got, want) != 0)
		fail_msg("%s: got [%s], want [%s]", expr, got, want);
	free(got);
}

static void validate_junit(const struct fixture *f, const char *file)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "xmllint --noout --schema '%s' '%s' 2>/dev/null", JUNIT_XSD,
	         file);
	if (run(cmd) == 0)
		return;
	/* Again, with xmllint's reasons on stderr. */
	snprintf(cmd, sizeof cmd, "xmllint --noout --schema '%s' '%s'", JUNIT_XSD, file);
	(void)run(cmd);
	(void)f;
	fail_msg("%s is not valid against junit.xsd", file);
}

static void test_junit(void **state)
{
	struct fixture *f = *state;
	char path[128], err[256], want[1024], *xpath_text;

	need("xmllint");
	path_in(f, "junit.xml", path, sizeof path);
	assert_int_equal(report_junit(path, &f->r, err, sizeof err), 0);
	validate_junit(f, path);

	/* The suite: counts, the run's duration, the start time (UTC) from the meta line. */
	assert_xpath(f, path, "string(/testsuites/testsuite/@name)", "stale & <zone> \"reboot\"");
	assert_xpath(f, path, "string(/testsuites/testsuite/@tests)", "5");
	assert_xpath(f, path, "string(/testsuites/testsuite/@failures)", "2");
	/* The inconclusive one is an error, never skipped (CI shows skipped as green). */
	assert_xpath(f, path, "string(/testsuites/testsuite/@skipped)", "0");
	assert_xpath(f, path, "string(/testsuites/testsuite/@errors)", "1");
	assert_xpath(f, path, "string(/testsuites/@errors)", "1");
	assert_xpath(f, path, "count(//skipped)", "0");
	assert_xpath(f, path, "string(/testsuites/testsuite/@time)", "12.000");
	assert_xpath(f, path, "string(/testsuites/testsuite/@timestamp)", "2026-11-18T11:06:40");
	assert_xpath(f, path, "string(/testsuites/@tests)", "5");

	/* Properties: seed, versions, verdict, history. */
	assert_xpath(f, path, "string(//property[@name=\"seed\"]/@value)", "7");
	assert_xpath(f, path, "string(//property[@name=\"dnschaos\"]/@value)", "0.1.0");
	assert_xpath(f, path, "string(//property[@name=\"c-ares\"]/@value)", "1.18.1");
	assert_xpath(f, path, "string(//property[@name=\"lua\"]/@value)", "Lua 5.4.4");
	assert_xpath(f, path, "string(//property[@name=\"verdict\"]/@value)", "fail");
	assert_xpath(f, path, "string(//property[@name=\"untouched_fault\"]/@value)",
	             "hang on r2 (fault 4) at 3.000 s");
	assert_xpath(f, path, "string(//property[@name=\"end\"]/@value)", "duration");
	assert_xpath(f, path, "count(//property[@name=\"history\"])", "1");

	/* One case per expectation; names come back exactly (a newline too). */
	assert_xpath(f, path, "count(//testcase)", "5");
	assert_xpath(f, path, "string(//testcase[1]/@classname)",
	             "dnschaos.stale & <zone> \"reboot\"");
	assert_xpath(f, path, "string(//testcase[1]/@name)", NAME_PASS);
	assert_xpath(f, path, "string(//testcase[2]/@name)", NAME_FAIL);
	assert_xpath(f, path, "string(//testcase[3]/@name)", NAME_INCONCL);
	assert_xpath(f, path, "string(//testcase[4]/@name)", NAME_NEVER);
	assert_xpath(f, path, "string(//testcase[5]/@name)", NAME_CONTROL_XML);
	assert_xpath(f, path, "string(//testcase[1]/@time)", "0");

	/* A pass has neither failure nor skipped; a failure says observed and bound. */
	assert_xpath(f, path, "count(//testcase[1]/*[name()!=\"system-out\"])", "0");
	snprintf(want, sizeof want, "observed %s, bound %s", f->obs[1], f->bnd[1]);
	assert_xpath(f, path, "string(//testcase[2]/failure/@message)", want);
	assert_xpath(f, path, "string(//testcase[2]/failure/@type)",
	             expect_metric_name(EXPECT_LATENCY));
	assert_xpath(f, path, "string(//testcase[2]/failure)",
	             "p99 of 415 lookups\n"
	             "observed 812 ms, expected <= 250 ms\n"
	             "at 3.412 s (line 6): " MOMENT0 "\n"
	             "at 4.500 s: " MOMENT1 "\n"
	             "declared at scenarios/t.lua:11\n");
	snprintf(want, sizeof want, "observed %s, bound %s", f->obs[3], f->bnd[3]);
	assert_xpath(f, path, "string(//testcase[4]/failure/@message)", want);
	/* Inconclusive is an error of type inconclusive, with the reason. */
	assert_xpath(f, path, "string(//testcase[3]/error/@message)",
	             "inconclusive: no lookup in the window 5.000-8.000 s");
	assert_xpath(f, path, "string(//testcase[3]/error/@type)", "inconclusive");
	assert_xpath(f, path, "count(//testcase[3]/failure)", "0");
	assert_xpath(f, path, "count(//testcase[3]/skipped)", "0");
	assert_non_null(strstr(xpath_text = xpath(f, path, "string(//testcase[3]/error)"),
	                       "no lookup in the window 5.000-8.000 s\n"));
	free(xpath_text);
	snprintf(want, sizeof want,
	         "observed %s, bound %s\n412 of 415 lookups ok\ndeclared at scenarios/t.lua:10\n",
	         f->obs[0], f->bnd[0]);
	assert_xpath(f, path, "string(//testcase[1]/system-out)", want);
}

static void test_junit_plain_and_passing(void **state)
{
	struct fixture *f = *state;
	char path[128], err[256];

	need("xmllint");
	path_in(f, "pass.xml", path, sizeof path);
	no_failures(f);
	assert_int_equal(report_junit(path, &f->r, err, sizeof err), 0);
	validate_junit(f, path);
	assert_xpath(f, path, "string(/testsuites/testsuite/@failures)", "0");
	assert_xpath(f, path, "string(/testsuites/testsuite/@errors)", "1");
	assert_xpath(f, path, "string(/testsuites/testsuite/@skipped)", "0");

	path_in(f, "plain.xml", path, sizeof path);
	plain_run(f);
	assert_int_equal(report_junit(path, &f->r, err, sizeof err), 0);
	validate_junit(f, path);
	assert_xpath(f, path, "string(/testsuites/testsuite/@tests)", "0");
	assert_xpath(f, path, "string(//property[@name=\"verdict\"]/@value)", "none");
}

/* ---- TAP ---- */

static void write_tap(const struct fixture *f, const char *name, char *path, size_t cap)
{
	FILE *out;

	path_in(f, name, path, cap);
	out = fopen(path, "w");
	assert_non_null(out);
	report_tap(out, &f->r);
	assert_int_equal(fclose(out), 0);
}

static int prove(const char *tap)
{
	char cmd[512];

	snprintf(cmd, sizeof cmd, "prove -e cat '%s' >/dev/null 2>&1", tap);
	return run(cmd);
}

/* TAP::Parser's view of test 2: description, then each YAML field it read. */
static const char tap_reader[] =
        "use strict; use TAP::Parser;\n"
        "my $p = TAP::Parser->new({ exec => ['cat', $ARGV[0]] });\n"
        "my ($n, $want) = (0, $ARGV[1]); my $yaml_next = 0;\n"
        "binmode STDOUT;\n"
        "while (my $r = $p->next) {\n"
        "  if ($r->is_test) { $n = $r->number; $yaml_next = ($n == $want);\n"
        "    print 'desc=', $r->description, \"\\n\" if $yaml_next;\n"
        "    print 'skip=', $r->explanation, \"\\n\" if $yaml_next && $r->has_skip; }\n"
        "  elsif ($r->is_yaml && $yaml_next) { my $d = $r->data;\n"
        "    print \"$_=$d->{$_}\\n\" for grep { !ref $d->{$_} } sort keys %$d;\n"
        "    print \"moment=$_->{t}|$_->{line}|$_->{what}\\n\" for @{ $d->{moments} || [] }; }\n"
        "}\n"
        "print 'errors=', scalar($p->parse_errors), \"\\n\";\n";

static char *tap_view(const struct fixture *f, const char *tap, int test)
{
	char script[128], out[128], cmd[512];

	path_in(f, "reader.pl", script, sizeof script);
	path_in(f, "reader.out", out, sizeof out);
	write_file(script, tap_reader);
	snprintf(cmd, sizeof cmd, "perl '%s' '%s' %d > '%s'", script, tap, test, out);
	assert_int_equal(run(cmd), 0);
	return slurp(out);
}

static void test_tap(void **state)
{
	struct fixture *f = *state;
	char path[128], want[1024];
	char *text, *view;

	write_tap(f, "fail.tap", path, sizeof path);
	text = slurp(path);
	snprintf(want, sizeof want,
	         "TAP version 13\n1..5\nok 1 - %s # observed %s, bound %s\n  ---\n", NAME_PASS,
	         f->obs[0], f->bnd[0]);
	assert_true(strncmp(text, want, strlen(want)) == 0);
	snprintf(want, sizeof want, "\nnot ok 2 - " NAME_FAIL " # observed %s, bound %s\n",
	         f->obs[1], f->bnd[1]);
	assert_non_null(strstr(text, want));
	/* '#' and '\' escaped in a description, the newline a space; inconclusive is
	 * "not ok", never a SKIP (which TAP consumers count as passed). */
	assert_non_null(strstr(text,
	                       "\nnot ok 3 - stale answers after publish \\#2 \\\\ back"
	                       " # inconclusive: no lookup in the window 5.000-8.000 s\n"));
	assert_null(strstr(text, "SKIP"));
	assert_non_null(strstr(text, "\nnot ok 4 - d\xc3\xa9tection"));
	assert_non_null(strstr(text, "\nok 5 - ctl char bad\xef\xbf\xbd"
	                             "byte # observed"));
	assert_non_null(strstr(text, "\n# verdict: FAIL (2 failed, 2 passed, 1 inconclusive) "
	                             "\xe2\x80\x94 seed 7, dnschaos 0.1.0\n"
	                             "# why: 2 of 5 expectations failed\n"
	                             "# untouched fault: hang on r2 (fault 4) at 3.000 s\n"
	                             "# stacks: ldns 1.8.3, "));
	free(text);

	if (have("prove")) {
		assert_int_not_equal(prove(path), 0);

		/* The YAML blocks read back exactly, escapes and all, without parse errors. */
		view = tap_view(f, path, 2);
		/* TAP::Parser keeps a "# ..." that is not a directive in the description. */
		snprintf(want, sizeof want,
		         "desc=- " NAME_FAIL " # observed %s, bound %s\n"
		         "bound=%s\n"
		         "detail=p99 of 415 lookups\n"
		         "metric=%s\n"
		         "observed=%s\n"
		         "outcome=fail\n"
		         "where=scenarios/t.lua:11\n"
		         "why=observed 812 ms, expected <= 250 ms\n"
		         "moment=3.412000|6|" MOMENT0 "\n"
		         "moment=4.500000|0|" MOMENT1 "\n"
		         "errors=0\n",
		         f->obs[1], f->bnd[1], f->bnd[1], expect_metric_name(EXPECT_LATENCY),
		         f->obs[1]);
		assert_string_equal(view, want);
		free(view);
		view = tap_view(f, path, 3);
		/* A TAP reader sees no skip (it would count it as passed): the reason stays
		 * in the description of a "not ok". */
		assert_null(strstr(view, "skip="));
		assert_non_null(strstr(view, "# inconclusive: no lookup in the window"));
		assert_non_null(strstr(view, "outcome=inconclusive\n"));
		assert_non_null(strstr(view, "errors=0\n"));
		free(view);

		/* No failure, one inconclusive: prove must not read it as green. */
		no_failures(f);
		write_tap(f, "inconclusive.tap", path, sizeof path);
		assert_int_not_equal(prove(path), 0);
		/* Every expectation passed: green. */
		f->e[2] = f->e[0];
		f->res[2] = f->res[0];
		f->v.verdict = VERDICT_PASS;
		f->v.passed = 5;
		f->v.why[0] = '\0';
		write_tap(f, "pass.tap", path, sizeof path);
		assert_int_equal(prove(path), 0);
	} else {
		print_message("prove not installed: the TAP is not read back\n");
	}
}

static void test_tap_plain_run(void **state)
{
	struct fixture *f = *state;
	char path[128];
	char *text;

	plain_run(f);
	write_tap(f, "plain.tap", path, sizeof path);
	text = slurp(path);
	assert_true(strncmp(text,
	                    "TAP version 13\n1..0 # SKIP no expectations: a plain run\n"
	                    "# no expectations: a plain run (exit 0 when it completed) "
	                    "\xe2\x80\x94 seed 7",
	                    strlen("TAP version 13\n1..0 # SKIP no expectations: a plain run\n"
	                           "# no expectations: a plain run (exit 0 when it completed) "
	                           "\xe2\x80\x94 seed 7")) == 0);
	free(text);
	if (have("prove"))
		assert_int_equal(prove(path), 0);
}

/* ---- JSON ---- */

static const char json_checks[] =
        "import json, math, sys\n"
        "d = json.load(open(sys.argv[1], encoding='utf-8'))\n"
        "def eq(a, b):\n"
        "    assert a == b, (a, b)\n"
        "eq(d['schema'], 1)\n"
        "eq(d['scenario'], 'scenarios/t.lua')\n"
        "eq(d['name'], 'stale & <zone> \"reboot\"')\n"
        "eq(d['seed'], 7)\n"
        "eq(d['history'], sys.argv[2])\n"
        "eq(d['versions'], {'dnschaos': '0.1.0', 'ldns': '1.8.3', 'libevent': '2.1.12-stable',\n"
        "    'lua': 'Lua 5.4.4', 'c-ares': '1.18.1', 'libunbound': '1.17.1', 'glibc': '2.36'})\n"
        "eq(d['duration'], 12)\n"
        "eq(d['elapsed'], 12.00042)\n"
        "eq(d['end'], 'duration')\n"
        "eq(d['verdict'], 'fail')\n"
        "eq(d['why'], '2 of 5 expectations failed')\n"
        "eq(d['counts'], {'passed': 2, 'failed': 2, 'inconclusive': 1})\n"
        "eq(d['untouched_faults'], ['hang on r2 (fault 4) at 3.000 s'])\n"
        "x = d['expectations']\n"
        "eq(len(x), 5)\n"
        "eq([e['name'] for e in x], ['success rate of app \\u2265 99 %',\n"
        "    'p99 <latency> & \"quotes\" \\'apos\\'', 'stale answers\\nafter publish #2 \\\\ "
        "back',\n"
        "    'd\\u00e9tection \\u2014 \\u00fcn\\u00efc\\u00f6d\\u00e9 \\u540d\\u524d, a name long "
        "'\n"
        "    'enough to be cut in the table', 'ctl\\u0001char bad\\ufffdbyte'])\n"
        "eq([e['outcome'] for e in x], ['pass', 'fail', 'inconclusive', 'fail', 'pass'])\n"
        "eq([e['metric'] for e in x], sys.argv[3].split(','))\n"
        "eq([e['op'] for e in x], ['at_least', 'at_most', 'at_most', 'at_most', 'at_most'])\n"
        "eq([e['observed'] for e in x], [0.9931, 812, None, None, 1.25])\n"
        "eq([e['never'] for e in x], [False, False, False, True, False])\n"
        "eq([e['unit'] for e in x], ['', 'ms', '', 's', 'x'])\n"
        "eq([e['bound'] for e in x], [0.99, 250, 0, 5, 3])\n"
        "eq([e['observed_text'] for e in x], sys.argv[4].split('|'))\n"
        "eq([e['bound_text'] for e in x], sys.argv[5].split('|'))\n"
        "eq(x[0]['where'], 'scenarios/t.lua:10')\n"
        "eq(x[0]['detail'], '412 of 415 lookups ok')\n"
        "eq(x[2]['why'], 'no lookup in the window 5.000-8.000 s')\n"
        "eq(x[1]['moments'], [{'t': 3.412, 'line': 6, 'what': '" MOMENT0 "'},\n"
        "    {'t': 4.5, 'line': 0, 'what': 'lookup 18 of app: <servfail> & \"more\"\\tafter a "
        "tab'}])\n"
        "eq(x[0]['moments'], [])\n";

static void run_json_checks(const struct fixture *f, const char *json)
{
	char script[128], metrics[256] = "", obs[512] = "", bnd[512] = "", cmd[2048];

	/* Metric names and formatted values are checker.c's: handed over, not repeated. */
	for (size_t i = 0; i < NEXP; i++) {
		snprintf(metrics + strlen(metrics), sizeof metrics - strlen(metrics), "%s%s",
		         i ? "," : "", expect_metric_name(f->e[i].metric));
		snprintf(obs + strlen(obs), sizeof obs - strlen(obs), "%s%s", i ? "|" : "",
		         f->obs[i]);
		snprintf(bnd + strlen(bnd), sizeof bnd - strlen(bnd), "%s%s", i ? "|" : "",
		         f->bnd[i]);
	}
	path_in(f, "checks.py", script, sizeof script);
	write_file(script, json_checks);
	snprintf(cmd, sizeof cmd, "python3 '%s' '%s' '%s' '%s' '%s' '%s'", script, json, f->history,
	         metrics, obs, bnd);
	if (run(cmd) != 0)
		fail_msg("the JSON summary failed its checks: %s", cmd);
}

static void test_json(void **state)
{
	struct fixture *f = *state;
	char path[128], err[256], cmd[512];

	need("python3");
	path_in(f, "summary.json", path, sizeof path);
	assert_int_equal(report_json(path, &f->r, err, sizeof err), 0);
	run_json_checks(f, path);

	/* A plain run and a report without a history are valid JSON too. */
	plain_run(f);
	assert_int_equal(report_json(path, &f->r, err, sizeof err), 0);
	snprintf(cmd, sizeof cmd,
	         "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
	         "assert d[\"verdict\"]==\"none\" and d[\"expectations\"]==[], d' '%s'",
	         path);
	assert_int_equal(run(cmd), 0);
	f->r.hist = NULL;
	assert_int_equal(report_json(path, &f->r, err, sizeof err), 0);
	snprintf(cmd, sizeof cmd,
	         "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
	         "assert d[\"seed\"] is None and d[\"end\"] is None, d' '%s'",
	         path);
	assert_int_equal(run(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_bad_params, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_console, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_console_color, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_console_plain_run, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_junit, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_junit_plain_and_passing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tap, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_tap_plain_run, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_file_modes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_symlinks_not_followed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_html_temp_not_followed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_html_assets, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
