/*
 * report.c - the verdict and the expectations as text: the console summary,
 * JUnit XML, TAP version 13 and the JSON summary (docs/checks.md, "Reports").
 *
 * Each format escapes with its own rules and writes straight to a stdio
 * stream: nothing is built in memory, so the only errors are the file's.
 * Text from the scenario (expectation names) and from the history (stack
 * versions, error words) may hold any byte: one loop (escape_to) decodes
 * UTF-8 (fakeresolver/json.h's utf8_next) and turns bytes that are not
 * UTF-8 into U+FFFD, and each text format says per code point what to
 * escape or drop (con_esc, xml_esc, tap_esc, yaml_esc); JSON strings go
 * through json_escape, the escaper the history writer uses. So a report is
 * always valid UTF-8 and valid in its format whatever the names hold.
 */
#include "harness/record/report.h"
#include "fakeresolver/json.h"
#include "harness/record/hist.h"
#include "harness/record/outfile.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The console table: columns in code points, two spaces between; 98 in all. */
#define CON_WIDTH    100
#define COL_NAME     48
#define COL_OBSERVED 14
#define COL_BOUND    18

#define ANSI_GREEN  "\033[32m"
#define ANSI_RED    "\033[31m"
#define ANSI_YELLOW "\033[33m"
#define ANSI_BOLD   "\033[1m"
#define ANSI_RESET  "\033[0m"

#define REPLACEMENT UTF8_REPLACEMENT

/* ---- what every report shares ---- */

/* Outcome counts, from the results themselves so that they always match the rows. */
struct counts {
	size_t passed, failed, inconclusive;
};

static struct counts count_results(const struct report *r)
{
	struct counts c = {0, 0, 0};

	for (size_t i = 0; i < r->n; i++) {
		if (r->results[i].outcome == OUTCOME_PASS)
			c.passed++;
		else if (r->results[i].outcome == OUTCOME_FAIL)
			c.failed++;
		else
			c.inconclusive++;
	}
	return c;
}

/*
 * The verdict: the caller's, or (without one) the verdict the results alone
 * give. The names are ours, not checker.c's, because they are part of the
 * formats.
 */
static enum verdict verdict_of(const struct report *r)
{
	struct counts c;

	if (r->verdict)
		return r->verdict->verdict;
	c = count_results(r);
	if (r->n == 0)
		return VERDICT_NONE;
	return c.failed ? VERDICT_FAIL : c.inconclusive ? VERDICT_INCONCLUSIVE : VERDICT_PASS;
}

static const char *verdict_word(enum verdict v, bool upper)
{
	switch (v) {
	case VERDICT_PASS:
		return upper ? "PASS" : "pass";
	case VERDICT_FAIL:
		return upper ? "FAIL" : "fail";
	case VERDICT_INCONCLUSIVE:
		return upper ? "INCONCLUSIVE" : "inconclusive";
	case VERDICT_NONE:
		break;
	}
	return upper ? "NONE" : "none";
}

static const char *outcome_word(enum expect_outcome o, bool upper)
{
	switch (o) {
	case OUTCOME_PASS:
		return upper ? "PASS" : "pass";
	case OUTCOME_FAIL:
		return upper ? "FAIL" : "fail";
	case OUTCOME_INCONCLUSIVE:
		break;
	}
	return upper ? "INCONCLUSIVE" : "inconclusive";
}

static const char *str_or(const char *s, const char *dflt)
{
	return s && s[0] ? s : dflt;
}

/* The meta line's fields, or all empty without a history. */
static const struct hist_meta *meta_of(const struct report *r)
{
	static const struct hist_meta none;
	const struct hist_meta *m = r->hist ? hist_meta(r->hist) : NULL;

	return m ? m : &none;
}

static const char *verdict_why(const struct report *r)
{
	return r->verdict ? r->verdict->why : "";
}

static size_t untouched_count(const struct report *r)
{
	if (!r->verdict)
		return 0;
	return r->verdict->nuntouched < 4 ? r->verdict->nuntouched : 4;
}

static size_t moment_count(const struct expect_result *res)
{
	return res->nmoments < EXPECT_MOMENTS ? res->nmoments : EXPECT_MOMENTS;
}

/* " (1 failed, 2 passed, 0 inconclusive)": the counts after the verdict word. */
static void put_counts(FILE *f, struct counts c)
{
	fprintf(f, " (%zu failed, %zu passed, %zu inconclusive)", c.failed, c.passed,
	        c.inconclusive);
}

/* C0, DEL and C1: nothing a person should see raw on a terminal or in a TAP line. */
static bool is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

/*
 * Where escaped text goes: a stream, or (f NULL) a buffer of cap bytes.
 * A buffer takes a code point only while the larger of its bytes as read
 * and as written fits with room for the NUL, then takes nothing more.
 */
struct sink {
	FILE *f;
	char *buf;
	size_t cap, len;
};

static bool sink_put(struct sink *o, const void *b, size_t n, size_t read)
{
	if (o->f) {
		fwrite(b, 1, n, o->f);
		return true;
	}
	if (o->len + (n > read ? n : read) + 1 > o->cap)
		return false;
	memcpy(o->buf + o->len, b, n);
	o->len += n;
	return true;
}

/*
 * A format's rule for one code point c: NULL to write it as it is, "" to
 * drop it, or its escape (built in buf when it holds digits). alt picks the
 * format's variant: an XML attribute, a TAP description.
 */
#define ESC_MAX 16
typedef const char *escape_fn(uint32_t c, bool alt, char buf[ESC_MAX]);

/* s through esc, decoded as UTF-8: a byte that is not UTF-8 is U+FFFD. */
static void escape_to(struct sink *o, const char *s, escape_fn *esc, bool alt)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	while (n > 0) {
		char buf[ESC_MAX];
		uint32_t c;
		size_t k = utf8_next(p, n, &c);
		const char *e = esc(c, alt, buf);
		bool ok;

		if (e)
			ok = sink_put(o, e, strlen(e), k);
		else if (c == REPLACEMENT && k == 1)
			ok = sink_put(o, "\xEF\xBF\xBD", 3, k);
		else
			ok = sink_put(o, p, k, k);
		if (!ok)
			break;
		p += k;
		n -= k;
	}
}

static void put_escaped(FILE *f, const char *s, escape_fn *esc, bool alt)
{
	struct sink o = { f, NULL, 0, 0 };

	escape_to(&o, s, esc, alt);
}

/* Opens path for a report ("-": stdout; see outfile_open). Returns NULL with err set. */
static FILE *report_open(const char *path, unsigned mode, const char *what, char *err,
                         size_t errlen)
{
	FILE *f = NULL;
	int fd;

	if (strcmp(path, "-") == 0) {
		errno = 0;
		return stdout;
	}
	fd = outfile_open(path, mode);
	if (fd >= 0 && !(f = fdopen(fd, "w"))) {
		int e = errno;
		close(fd);
		fd = -e;
	}
	if (!f)
		snprintf(err, errlen, "cannot write the %s report %s: %s%s", what, path,
		         strerror(-fd), fd == -ELOOP ? " (a symbolic link is not followed)" : "");
	errno = 0;
	return f;
}

/*
 * Closes (or flushes stdout). A failed write removes the half-written file
 * when it is a regular file (never a device such as /dev/full or a FIFO).
 */
static int report_close(FILE *f, const char *path, const char *what, char *err, size_t errlen)
{
	bool is_stdout = f == stdout;
	bool failed = ferror(f) != 0;
	/* errno was cleared at the open: what a failed write left there, if anything. */
	int saved = failed ? (errno ? errno : EIO) : 0;
	struct stat st;
	bool regular = !is_stdout && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);

	if ((is_stdout ? fflush(f) : fclose(f)) != 0 && !failed) {
		failed = true;
		saved = errno;
	}
	if (!failed)
		return 0;
	snprintf(err, errlen, "cannot write the %s report %s: %s", what, path, strerror(saved));
	if (regular)
		unlink(path);
	return -1;
}

static int bad_call(const char *fn, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "internal error: %s called without a report or a path", fn);
	return -1;
}

/* ---- console ---- */

/*
 * Copies s into out (cap bytes) as a terminal should show it: UTF-8 repaired,
 * control characters (a newline in a name) as spaces. Returns the length;
 * the copy is cut at a code point boundary when it does not fit.
 */
static const char *con_esc(uint32_t c, bool alt, char buf[ESC_MAX])
{
	(void)alt, (void)buf;
	return is_control(c) ? " " : NULL;
}

static size_t con_clean(const char *s, char *out, size_t cap)
{
	struct sink o = { NULL, out, cap, 0 };

	escape_to(&o, s, con_esc, false);
	out[o.len] = 0;
	return o.len;
}

/* Code points in valid UTF-8 (a terminal column each: wide characters are not measured). */
static size_t con_cols(const char *s, size_t len)
{
	size_t cols = 0;

	for (size_t i = 0; i < len; i++)
		cols += ((unsigned char)s[i] & 0xC0) != 0x80;
	return cols;
}

/* Bytes of the first `cols` code points of valid UTF-8 s (len bytes). */
static size_t con_prefix(const char *s, size_t len, size_t cols)
{
	size_t i = 0;

	while (i < len) {
		if (((unsigned char)s[i] & 0xC0) != 0x80) {
			if (cols == 0)
				break;
			cols--;
		}
		i++;
	}
	return i;
}

/* s in a column `width` code points wide: cut with "…" when longer, padded unless last. */
static void con_cell(FILE *out, const char *s, size_t width, bool last)
{
	char clean[3 * EXPECT_TEXT_MAX + 4];
	size_t len = con_clean(s, clean, sizeof clean), cols = con_cols(clean, len);

	if (cols > width) {
		fwrite(clean, 1, con_prefix(clean, len, width - 1), out);
		fputs("\xE2\x80\xA6", out); /* … */
		cols = width;
	} else {
		fwrite(clean, 1, len, out);
	}
	if (!last)
		for (size_t i = cols; i < width + 2; i++)
			putc(' ', out);
}

/*
 * text on lines of at most CON_WIDTH columns, the first after `indent`
 * spaces, the rest after indent + 2, broken at spaces (inside a word only
 * when the word alone is too long).
 */
static void con_wrapped(FILE *out, size_t indent, const char *text)
{
	char clean[2048];
	size_t len = con_clean(text, clean, sizeof clean), pos = 0;

	if (indent > CON_WIDTH / 2)
		indent = CON_WIDTH / 2;
	while (pos < len) {
		size_t avail = CON_WIDTH - indent, rest = len - pos, cut, next;

		for (size_t i = 0; i < indent; i++)
			putc(' ', out);
		if (con_cols(clean + pos, rest) <= avail) {
			cut = next = rest;
		} else {
			/* The longest prefix of avail columns, then back to its last space. */
			size_t fit = con_prefix(clean + pos, rest, avail);
			cut = fit;
			if (clean[pos + fit] != ' ')
				while (cut > 0 && clean[pos + cut - 1] != ' ')
					cut--;
			if (cut == 0)
				cut = fit;
			next = cut;
			while (cut > 0 && clean[pos + cut - 1] == ' ')
				cut--;
			while (pos + next < len && clean[pos + next] == ' ')
				next++;
		}
		fwrite(clean + pos, 1, cut, out);
		putc('\n', out);
		if (pos == 0)
			indent += 2; /* continuation lines */
		pos += next;
	}
}

static const char *outcome_color(enum expect_outcome o)
{
	return o == OUTCOME_PASS ? ANSI_GREEN : o == OUTCOME_FAIL ? ANSI_RED : ANSI_YELLOW;
}

static const char *verdict_color(enum verdict v)
{
	return v == VERDICT_PASS ? ANSI_GREEN : v == VERDICT_FAIL ? ANSI_RED : ANSI_YELLOW;
}

/* "at 3.412 s (line 1234): what" */
static void moment_text(const struct expect_moment *m, char *buf, size_t cap)
{
	if (m->line)
		snprintf(buf, cap, "at %.3f s (line %" PRIu32 "): %s", m->t, m->line, m->what);
	else
		snprintf(buf, cap, "at %.3f s: %s", m->t, m->what);
}

/* "name version" each, the name left out when the version already starts with it. */
static void versions_text(const struct hist_meta *m, char *buf, size_t cap)
{
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < m->nversions && i < 8 && o < cap; i++) {
		const char *name = str_or(m->versions[i][0], "?");
		const char *ver = str_or(m->versions[i][1], "?");
		bool named = strncasecmp(ver, name, strlen(name)) == 0;
		int k = snprintf(buf + o, cap - o, "%s%s%s%s", o ? ", " : "", named ? "" : name,
		                 named ? "" : " ", ver);
		if (k < 0)
			break;
		o += (size_t)k;
	}
}

static void con_row(FILE *out, const struct expectation *e, const struct expect_result *res,
                    bool color)
{
	char observed[64], bound[64], line[512];
	size_t nm = moment_count(res);

	expect_format_value(res, observed, sizeof observed);
	expect_format_bound(e, res, bound, sizeof bound);
	con_cell(out, e->name[0] ? e->name : "(unnamed)", COL_NAME, false);
	con_cell(out, observed, COL_OBSERVED, false);
	con_cell(out, bound, COL_BOUND, false);
	if (color)
		fputs(outcome_color(res->outcome), out);
	fputs(outcome_word(res->outcome, true), out);
	if (color)
		fputs(ANSI_RESET, out);
	putc('\n', out);

	if (res->outcome == OUTCOME_FAIL) {
		for (size_t i = 0; i < nm; i++) {
			moment_text(&res->moments[i], line, sizeof line);
			con_wrapped(out, 2, line);
		}
		if (nm == 0 && (res->why[0] || res->detail[0]))
			con_wrapped(out, 2, res->why[0] ? res->why : res->detail);
	} else if (res->outcome == OUTCOME_INCONCLUSIVE && res->why[0]) {
		con_wrapped(out, 2, res->why);
	}
}

/* "0.4 ms", "812 ms", "-" */
static void ms_text(double ms, char *buf, size_t cap)
{
	if (!isfinite(ms))
		snprintf(buf, cap, "-");
	else if (ms < 10)
		snprintf(buf, cap, "%.1f ms", ms);
	else
		snprintf(buf, cap, "%.0f ms", ms);
}

/* How each client fared over the run (perclient.h). */
static void con_clients(FILE *out, const struct report *r)
{
	char a[32], b[32], c[32];

	if (!r->clients || r->nclients == 0)
		return;
	if (r->clients_from > 0)
		fprintf(out, "clients, lookups invoked from the first fault (%.3f s) on:\n",
		        r->clients_from);
	else
		fputs("clients, every lookup (no fault injected):\n", out);
	con_cell(out, "client", 20, false);
	con_cell(out, "stack", 10, false);
	fprintf(out, "%7s %8s %9s %9s %6s %6s %6s\n", "lookups", "success", "p50", "p99", "wire",
	        "stale", "wrong");
	for (size_t i = 0; i < r->nclients && i < REPORT_CONSOLE_CLIENTS; i++) {
		const struct perclient_row *row = &r->clients[i];
		con_cell(out, str_or(row->client, "?"), 20, false);
		con_cell(out, str_or(row->stack, "?"), 10, false);
		ms_text(row->p50, a, sizeof a);
		ms_text(row->p99, b, sizeof b);
		if (row->lookups)
			snprintf(c, sizeof c, "%.4f", row->success);
		else
			snprintf(c, sizeof c, "-");
		fprintf(out, "%7zu %8s %9s %9s ", row->lookups, c, a, b);
		if (isfinite(row->wire))
			fprintf(out, "%5.2fx", row->wire);
		else
			fprintf(out, "%6s", "-");
		fprintf(out, " %6zu %6zu\n", row->stale, row->wrong);
	}
	if (r->nclients > REPORT_CONSOLE_CLIENTS)
		fprintf(out, "... and %zu more clients (all of them in the JSON summary)\n",
		        r->nclients - REPORT_CONSOLE_CLIENTS);
	putc('\n', out);
}

void report_console(FILE *out, const struct report *r, bool color)
{
	const struct hist_meta *m;
	struct counts c;
	enum verdict v;
	char line[1536], versions[512];

	if (!out || !r)
		return;
	m = meta_of(r);
	c = count_results(r);
	v = verdict_of(r);

	if (r->n > 0) {
		con_cell(out, "expectation", COL_NAME, false);
		con_cell(out, "observed", COL_OBSERVED, false);
		con_cell(out, "bound", COL_BOUND, false);
		fputs("result\n", out);
		for (size_t i = 0; i < r->n; i++)
			con_row(out, &r->expect[i], &r->results[i], color);
		putc('\n', out);
	}

	con_clients(out, r);

	if (v == VERDICT_NONE) {
		fputs("no expectations: a plain run (exit 0 when it completed)", out);
	} else {
		fputs("verdict: ", out);
		if (color)
			fprintf(out, "%s%s", ANSI_BOLD, verdict_color(v));
		fputs(verdict_word(v, true), out);
		if (color)
			fputs(ANSI_RESET, out);
		put_counts(out, c);
	}
	if (r->hist) {
		/* The version comes from the history: cleaned of control bytes like any text. */
		char ver[64];
		con_clean(str_or(m->dnschaos, "?"), ver, sizeof ver);
		fprintf(out, " \xE2\x80\x94 seed %" PRIu64 ", dnschaos %s", m->seed, ver);
	}
	putc('\n', out);
	if (verdict_why(r)[0])
		con_wrapped(out, 2, verdict_why(r));
	if (r->causes) {
		/* What went wrong, from the history: a summary, then each cause. */
		snprintf(line, sizeof line, "%s%s", causes_bad(r->causes) ? "what went wrong: " : "",
		         causes_summary(r->causes));
		con_wrapped(out, 0, line);
		for (size_t i = 0; i < causes_count(r->causes); i++) {
			snprintf(line, sizeof line, "- %s", causes_get(r->causes, i)->text);
			con_wrapped(out, 2, line);
		}
	}
	if (untouched_count(r) > 0) {
		fputs("untouched faults (injected, never met by a client's lookup):\n", out);
		for (size_t i = 0; i < untouched_count(r); i++)
			con_wrapped(out, 2, r->verdict->untouched[i]);
	}
	if (m->nversions > 0) {
		versions_text(m, versions, sizeof versions);
		snprintf(line, sizeof line, "stacks: %s", versions);
		con_wrapped(out, 0, line);
	}
	if (r->history_path) {
		snprintf(line, sizeof line, "history: %s", r->history_path);
		con_wrapped(out, 0, line);
	}
}

/* ---- JUnit XML ---- */

/*
 * s as XML character data, or as an attribute value (attr): the five
 * special characters as entities, UTF-8 repaired, control characters
 * dropped (XML 1.0 cannot hold them even as references) except tab,
 * newline and carriage return, which attributes write as references so
 * that attribute normalisation keeps them.
 */
static const char *xml_esc(uint32_t c, bool attr, char buf[ESC_MAX])
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return attr ? "&quot;" : NULL;
	case '\'':
		return attr ? "&apos;" : NULL;
	case '\t':
	case '\n':
	case '\r':
		if (!attr)
			return NULL;
		snprintf(buf, ESC_MAX, "&#%u;", (unsigned)c);
		return buf;
	default:
		/* Not an XML character. */
		return c < 0x20 || c == 0xFFFE || c == 0xFFFF ? "" : NULL;
	}
}

void report_xml_text(FILE *f, const char *s, bool attr)
{
	put_escaped(f, s, xml_esc, attr);
}

static void xml_property(FILE *f, const char *name, const char *value)
{
	fputs("      <property name=\"", f);
	report_xml_text(f, name, true);
	fputs("\" value=\"", f);
	report_xml_text(f, value, true);
	fputs("\"/>\n", f);
}

/* The meta line's started_unix as "2026-11-25T10:00:00" (UTC), or false. */
static bool started_iso(const struct report *r, char *buf, size_t cap)
{
	static const char key[] = "\"started_unix\":\"";
	const char *line, *p;
	size_t len;
	char *end;
	struct tm tm;
	time_t t;
	unsigned long long v;

	if (!r->hist || hist_line_count(r->hist) == 0)
		return false;
	line = hist_line(r->hist, 0, &len);
	if (!line)
		return false;
	/* The line is not NUL-terminated for certain: search within len. */
	for (p = line; (size_t)(p - line) + sizeof key - 1 <= len; p++)
		if (memcmp(p, key, sizeof key - 1) == 0)
			break;
	if ((size_t)(p - line) + sizeof key - 1 > len)
		return false;
	p += sizeof key - 1;
	if (p >= line + len || *p < '0' || *p > '9')
		return false;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || end > line + len || *end != '"' || v > (unsigned long long)INT64_MAX)
		return false;
	t = (time_t)v;
	if (!gmtime_r(&t, &tm))
		return false;
	return strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm) > 0;
}

/* A failure's or error's text: what was counted, why, the moments, where declared. */
static void junit_failure_text(FILE *f, const struct expectation *e,
                               const struct expect_result *res)
{
	char line[512];

	if (res->detail[0]) {
		report_xml_text(f, res->detail, false);
		putc('\n', f);
	}
	if (res->why[0]) {
		report_xml_text(f, res->why, false);
		putc('\n', f);
	}
	for (size_t i = 0; i < moment_count(res); i++) {
		moment_text(&res->moments[i], line, sizeof line);
		report_xml_text(f, line, false);
		putc('\n', f);
	}
	if (e->where[0]) {
		fputs("declared at ", f);
		report_xml_text(f, e->where, false);
		putc('\n', f);
	}
}

static void junit_testcase(FILE *f, const char *classname, const struct expectation *e,
                           const struct expect_result *res)
{
	char observed[64], bound[64], message[160];
	const char *metric = expect_metric_name(e->metric);

	expect_format_value(res, observed, sizeof observed);
	expect_format_bound(e, res, bound, sizeof bound);
	fputs("    <testcase classname=\"", f);
	report_xml_text(f, classname, true);
	fputs("\" name=\"", f);
	report_xml_text(f, e->name[0] ? e->name : "(unnamed)", true);
	fputs("\" time=\"0\">\n", f);
	snprintf(message, sizeof message, "observed %s, bound %s", observed, bound);
	if (res->outcome == OUTCOME_FAIL) {
		fputs("      <failure message=\"", f);
		report_xml_text(f, message, true);
		fputs("\" type=\"", f);
		report_xml_text(f, str_or(metric, "expectation"), true);
		fputs("\">", f);
		junit_failure_text(f, e, res);
		fputs("</failure>\n", f);
	} else if (res->outcome == OUTCOME_INCONCLUSIVE) {
		/*
		 * An error, not skipped: CI pages show a skipped case as green, and
		 * an expectation the run could not judge is not a pass.
		 */
		fputs("      <error message=\"inconclusive: ", f);
		report_xml_text(f, str_or(res->why, "the history cannot tell"), true);
		fputs("\" type=\"inconclusive\">", f);
		junit_failure_text(f, e, res);
		fputs("</error>\n", f);
	}
	/* Every case says what it measured, passed ones too: CI shows it beside the case. */
	fputs("      <system-out>", f);
	report_xml_text(f, message, false);
	putc('\n', f);
	if (res->outcome == OUTCOME_PASS) { /* the others said it in failure or error */
		if (res->detail[0]) {
			report_xml_text(f, res->detail, false);
			putc('\n', f);
		}
		if (e->where[0]) {
			fputs("declared at ", f);
			report_xml_text(f, e->where, false);
			putc('\n', f);
		}
	}
	fputs("</system-out>\n", f);
	fputs("    </testcase>\n", f);
}

int report_junit(const char *path, const struct report *r, char *err, size_t errlen)
{
	const struct hist_meta *m;
	const char *suite, *end;
	char classname[EXPECT_TEXT_MAX + 16], when[32], seed[24], duration[32];
	struct counts c;
	enum verdict v;
	double elapsed;
	FILE *f;

	if (!path || !r)
		return bad_call("report_junit", err, errlen);
	f = report_open(path, r->file_mode, "JUnit", err, errlen);
	if (!f)
		return -1;
	m = meta_of(r);
	c = count_results(r);
	v = verdict_of(r);
	suite = str_or(m->name, str_or(r->scenario_path, str_or(m->scenario, "dnschaos")));
	snprintf(classname, sizeof classname, "dnschaos.%s", suite);
	elapsed = r->hist ? hist_last_t(r->hist) : 0;
	if (!isfinite(elapsed) || elapsed < 0)
		elapsed = 0;
	snprintf(duration, sizeof duration, "%.3f", elapsed);

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f,
	        "<testsuites name=\"dnschaos\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
	        "time=\"%s\">\n",
	        r->n, c.failed, c.inconclusive, duration);
	fputs("  <testsuite name=\"", f);
	report_xml_text(f, suite, true);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"0\" time=\"%s\"",
	        r->n, c.failed, c.inconclusive, duration);
	if (started_iso(r, when, sizeof when))
		fprintf(f, " timestamp=\"%s\"", when);
	fputs(">\n", f);

	fputs("    <properties>\n", f);
	if (r->hist) {
		snprintf(seed, sizeof seed, "%" PRIu64, m->seed);
		xml_property(f, "seed", seed);
	}
	xml_property(f, "dnschaos", str_or(m->dnschaos, "unknown"));
	for (size_t i = 0; i < m->nversions && i < 8; i++)
		xml_property(f, str_or(m->versions[i][0], "?"), str_or(m->versions[i][1], ""));
	xml_property(f, "verdict", verdict_word(v, false));
	if (verdict_why(r)[0])
		xml_property(f, "verdict_why", verdict_why(r));
	for (size_t i = 0; i < untouched_count(r); i++)
		xml_property(f, "untouched_fault", r->verdict->untouched[i]);
	if (r->scenario_path || m->scenario)
		xml_property(f, "scenario", str_or(r->scenario_path, m->scenario));
	if (r->history_path)
		xml_property(f, "history", r->history_path);
	end = r->hist ? hist_end_reason(r->hist) : NULL;
	if (r->hist)
		xml_property(f, "end", str_or(end, "cut (no end line: the run was killed)"));
	fputs("    </properties>\n", f);

	for (size_t i = 0; i < r->n; i++)
		junit_testcase(f, classname, &r->expect[i], &r->results[i]);

	/* The verdict as the console says it, for people reading the suite's output. */
	fputs("    <system-out>verdict: ", f);
	fputs(verdict_word(v, false), f);
	put_counts(f, c);
	putc('\n', f);
	if (verdict_why(r)[0]) {
		report_xml_text(f, verdict_why(r), false);
		putc('\n', f);
	}
	for (size_t i = 0; i < untouched_count(r); i++) {
		fputs("untouched fault: ", f);
		report_xml_text(f, r->verdict->untouched[i], false);
		putc('\n', f);
	}
	fputs("</system-out>\n", f);
	fputs("  </testsuite>\n</testsuites>\n", f);
	return report_close(f, path, "JUnit", err, errlen);
}

/* ---- TAP ---- */

/*
 * s on a TAP line: controls as spaces (a line is a line), UTF-8 repaired,
 * and in a description `#` and `\` escaped, since an unescaped `#` starts a
 * directive.
 */
static const char *tap_esc(uint32_t c, bool description, char buf[ESC_MAX])
{
	(void)buf;
	if (is_control(c))
		return " ";
	if (description && c == '#')
		return "\\#";
	if (description && c == '\\')
		return "\\\\";
	return NULL;
}

static void tap_text(FILE *f, const char *s, bool description)
{
	put_escaped(f, s, tap_esc, description);
}

void report_tap_description(FILE *f, const char *s)
{
	tap_text(f, s, true);
}

/*
 * s as a YAML double-quoted scalar that TAP::Parser's YAMLish reader
 * reads back the same: `"` and `\` escaped, tab, newline and carriage
 * return as \t \n \r, other C0 controls and DEL as \xHH, C1 controls
 * dropped (YAML calls them not printable), UTF-8 repaired.
 */
static const char *yaml_esc(uint32_t c, bool alt, char buf[ESC_MAX])
{
	(void)alt;
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\t':
		return "\\t";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	default:
		if (c < 0x20 || c == 0x7F) {
			snprintf(buf, ESC_MAX, "\\x%02X", (unsigned)c);
			return buf;
		}
		return c >= 0x80 && c <= 0x9F ? "" : NULL; /* C1: dropped */
	}
}

static void yaml_string(FILE *f, const char *s)
{
	putc('"', f);
	put_escaped(f, s, yaml_esc, false);
	putc('"', f);
}

void report_yaml_field(FILE *f, const char *key, const char *value)
{
	fprintf(f, "  %s: ", key);
	yaml_string(f, value);
	putc('\n', f);
}

static void tap_case(FILE *f, size_t num, const struct expectation *e,
                     const struct expect_result *res)
{
	char observed[64], bound[64];
	const char *metric = expect_metric_name(e->metric);

	expect_format_value(res, observed, sizeof observed);
	expect_format_bound(e, res, bound, sizeof bound);
	/* Inconclusive is "not ok", never a SKIP: TAP consumers show a skip as green. */
	fprintf(f, "%s %zu - ", res->outcome == OUTCOME_PASS ? "ok" : "not ok", num);
	tap_text(f, e->name[0] ? e->name : "(unnamed)", true);
	if (res->outcome == OUTCOME_INCONCLUSIVE) {
		fputs(" # inconclusive: ", f);
		tap_text(f, str_or(res->why, "the history cannot tell"), false);
	} else {
		fputs(" # observed ", f);
		tap_text(f, observed, false);
		fputs(", bound ", f);
		tap_text(f, bound, false);
	}
	putc('\n', f);

	fputs("  ---\n", f);
	report_yaml_field(f, "outcome", outcome_word(res->outcome, false));
	report_yaml_field(f, "metric", str_or(metric, "unknown"));
	report_yaml_field(f, "observed", observed);
	report_yaml_field(f, "bound", bound);
	if (res->detail[0])
		report_yaml_field(f, "detail", res->detail);
	if (res->why[0])
		report_yaml_field(f, "why", res->why);
	if (e->where[0])
		report_yaml_field(f, "where", e->where);
	if (moment_count(res) > 0) {
		fputs("  moments:\n", f);
		for (size_t i = 0; i < moment_count(res); i++) {
			const struct expect_moment *mo = &res->moments[i];
			fprintf(f, "    - t: %.6f\n      line: %" PRIu32 "\n      what: ",
			        isfinite(mo->t) ? mo->t : 0.0, mo->line);
			yaml_string(f, mo->what);
			putc('\n', f);
		}
	}
	fputs("  ...\n", f);
}

void report_tap(FILE *out, const struct report *r)
{
	const struct hist_meta *m;
	struct counts c;
	enum verdict v;
	char versions[512];

	if (!out || !r)
		return;
	m = meta_of(r);
	c = count_results(r);
	v = verdict_of(r);

	fputs("TAP version 13\n", out);
	if (r->n == 0)
		fputs("1..0 # SKIP no expectations: a plain run\n", out);
	else
		fprintf(out, "1..%zu\n", r->n);
	for (size_t i = 0; i < r->n; i++)
		tap_case(out, i + 1, &r->expect[i], &r->results[i]);

	if (v == VERDICT_NONE) {
		fputs("# no expectations: a plain run (exit 0 when it completed)", out);
	} else {
		fprintf(out, "# verdict: %s", verdict_word(v, true));
		put_counts(out, c);
	}
	if (r->hist) {
		fprintf(out, " \xE2\x80\x94 seed %" PRIu64 ", dnschaos ", m->seed);
		tap_text(out, str_or(m->dnschaos, "?"), false);
	}
	putc('\n', out);
	if (verdict_why(r)[0]) {
		fputs("# why: ", out);
		tap_text(out, verdict_why(r), false);
		putc('\n', out);
	}
	for (size_t i = 0; i < untouched_count(r); i++) {
		fputs("# untouched fault: ", out);
		tap_text(out, r->verdict->untouched[i], false);
		putc('\n', out);
	}
	if (m->nversions > 0) {
		versions_text(m, versions, sizeof versions);
		fputs("# stacks: ", out);
		tap_text(out, versions, false);
		putc('\n', out);
	}
}

/* ---- JSON ---- */

/* s as a JSON string (RFC 8259), escaped by json_escape: UTF-8 repaired, controls escaped. */
static void json_string(FILE *f, const char *s)
{
	char buf[JSON_ESCAPE_ROOM(1024)];
	size_t n, used;

	if (!s) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	for (n = strlen(s); n > 0; s += used, n -= used)
		fwrite(buf, 1, json_escape(buf, s, n, 1024, JSON_ESC_PLAIN, &used), f);
	putc('"', f);
}

/* The shortest decimal that reads back as v; null for NaN and infinities. */
static void json_number(FILE *f, double v)
{
	char buf[40];

	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, f);
}

/* sep (what comes before the member: "" for the first), then "key": */
static void json_key(FILE *f, const char *sep, const char *key)
{
	fputs(sep, f);
	json_string(f, key);
	putc(':', f);
}

static void json_str_field(FILE *f, const char *sep, const char *key, const char *value)
{
	json_key(f, sep, key);
	json_string(f, value);
}

/* NaN (nothing measured) and infinities as null. */
static void json_num_field(FILE *f, const char *sep, const char *key, double value)
{
	json_key(f, sep, key);
	json_number(f, value);
}

static void json_expectation(FILE *f, const struct expectation *e, const struct expect_result *res)
{
	char observed[64], bound[64];
	bool never = res->has_value && isinf(res->observed) && res->observed > 0;

	expect_format_value(res, observed, sizeof observed);
	expect_format_bound(e, res, bound, sizeof bound);
	fputs("    {", f);
	json_str_field(f, "", "name", e->name);
	json_str_field(f, ",", "where", e->where);
	json_str_field(f, ",", "metric", expect_metric_name(e->metric));
	json_str_field(f, ",", "outcome", outcome_word(res->outcome, false));
	json_num_field(f, ",", "observed", res->has_value ? res->observed : NAN);
	json_key(f, ",", "never");
	fputs(never ? "true" : "false", f);
	json_str_field(f, ",", "unit", res->unit);
	json_num_field(f, ",", "bound", e->bound);
	json_str_field(f, ",", "op", e->op == EXPECT_AT_LEAST ? "at_least" : "at_most");
	json_str_field(f, ",", "observed_text", observed);
	json_str_field(f, ",", "bound_text", bound);
	json_str_field(f, ",", "detail", res->detail);
	json_str_field(f, ",", "why", res->why);
	json_key(f, ",", "moments");
	putc('[', f);
	for (size_t i = 0; i < moment_count(res); i++) {
		const struct expect_moment *mo = &res->moments[i];
		fputs(i ? "," : "", f);
		putc('{', f);
		json_num_field(f, "", "t", mo->t);
		json_key(f, ",", "line");
		fprintf(f, "%" PRIu32, mo->line);
		json_str_field(f, ",", "what", mo->what);
		putc('}', f);
	}
	fputs("]}", f);
}

int report_json(const char *path, const struct report *r, char *err, size_t errlen)
{
	static const char next[] = ",\n  "; /* between the top-level members */
	const struct hist_meta *m;
	struct counts c;
	FILE *f;

	if (!path || !r)
		return bad_call("report_json", err, errlen);
	f = report_open(path, r->file_mode, "JSON", err, errlen);
	if (!f)
		return -1;
	m = meta_of(r);
	c = count_results(r);

	fputs("{\n  \"schema\":1", f);
	json_str_field(f, next, "scenario", r->scenario_path ? r->scenario_path : m->scenario);
	json_str_field(f, next, "name", m->name);
	json_key(f, next, "seed");
	if (r->hist)
		fprintf(f, "%" PRIu64, m->seed);
	else
		fputs("null", f);
	json_str_field(f, next, "history", r->history_path);
	json_key(f, next, "versions");
	putc('{', f);
	json_str_field(f, "", "dnschaos", m->dnschaos);
	for (size_t i = 0; i < m->nversions && i < 8; i++)
		json_str_field(f, ",", str_or(m->versions[i][0], "?"), m->versions[i][1]);
	putc('}', f);
	json_num_field(f, next, "duration", r->hist ? m->duration : NAN);
	json_num_field(f, next, "elapsed", r->hist ? hist_last_t(r->hist) : NAN);
	json_str_field(f, next, "end", r->hist ? hist_end_reason(r->hist) : NULL);
	json_str_field(f, next, "verdict", verdict_word(verdict_of(r), false));
	json_str_field(f, next, "why", verdict_why(r));
	json_key(f, next, "counts");
	fprintf(f, "{\"passed\":%zu,\"failed\":%zu,\"inconclusive\":%zu}", c.passed, c.failed,
	        c.inconclusive);
	json_key(f, next, "cause");
	if (r->causes)
		json_string(f, causes_summary(r->causes));
	else
		fputs("null", f);
	json_key(f, next, "causes");
	putc('[', f);
	for (size_t i = 0; i < causes_count(r->causes); i++) {
		const struct cause *k = causes_get(r->causes, i);
		fputs(i ? ",\n    {" : "\n    {", f);
		json_str_field(f, "", "text", k->text);
		json_str_field(f, ",", "kind", cause_kind_name(k->kind));
		json_str_field(f, ",", "who", k->who);
		json_str_field(f, ",", "vip", k->vip);
		json_num_field(f, ",", "from", k->from);
		json_num_field(f, ",", "to", k->to < 0 ? NAN : k->to); /* null: the end */
		fprintf(f, ",\"lookups\":%zu", k->lookups);
		json_num_field(f, ",", "share", k->share);
		putc('}', f);
	}
	fputs(causes_count(r->causes) ? "\n  ]" : "]", f);
	json_key(f, next, "lookups");
	if (r->causes)
		fprintf(f, "{\"completed\":%zu,\"bad\":%zu}", causes_lookups(r->causes),
		        causes_bad(r->causes));
	else
		fputs("null", f);
	json_num_field(f, next, "clients_from", r->clients ? r->clients_from : NAN);
	json_key(f, next, "clients");
	putc('[', f);
	for (size_t i = 0; r->clients && i < r->nclients; i++) {
		const struct perclient_row *row = &r->clients[i];
		fputs(i ? ",\n    {" : "\n    {", f);
		json_str_field(f, "", "client", row->client);
		json_str_field(f, ",", "stack", row->stack);
		fprintf(f, ",\"lookups\":%zu,\"ok\":%zu,\"failed\":%zu,\"timeouts\":%zu", row->lookups,
		        row->ok, row->failed, row->timeouts);
		fprintf(f, ",\"stale\":%zu,\"wrong\":%zu", row->stale, row->wrong);
		json_num_field(f, ",", "success", row->success);
		json_num_field(f, ",", "p50_ms", row->p50);
		json_num_field(f, ",", "p99_ms", row->p99);
		json_num_field(f, ",", "wire_per_lookup", row->wire);
		putc('}', f);
	}
	fputs(r->clients && r->nclients ? "\n  ]" : "]", f);
	json_key(f, next, "untouched_faults");
	putc('[', f);
	for (size_t i = 0; i < untouched_count(r); i++) {
		fputs(i ? "," : "", f);
		json_string(f, r->verdict->untouched[i]);
	}
	putc(']', f);
	json_key(f, next, "expectations");
	fputs(r->n ? "[\n" : "[", f);
	for (size_t i = 0; i < r->n; i++) {
		json_expectation(f, &r->expect[i], &r->results[i]);
		fputs(i + 1 < r->n ? ",\n" : "\n  ", f);
	}
	fputs("]\n}\n", f);
	return report_close(f, path, "JSON", err, errlen);
}
