/*
 * report.h - the verdict and the expectations, written for people and for
 * CI: the console summary, JUnit XML, TAP, a JSON summary, and a
 * self-contained HTML page with the run's timeline (report_html.c).
 *
 * Every report carries the seed and the versions of dnschaos and of every
 * client stack, from the history's meta line.
 */
#ifndef HARNESS_RECORD_REPORT_H
#define HARNESS_RECORD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "harness/record/cause.h"
#include "harness/record/checker.h"
#include "harness/record/perclient.h"

struct hist;

/* Everything a report needs (all borrowed). */
struct report {
	const struct hist *hist;        /* the history the verdict is from */
	const char *history_path;       /* as given */
	const char *scenario_path;
	const struct expectation *expect;
	const struct expect_result *results;
	size_t n;
	const struct verdict_info *verdict;
	const struct causes *causes;    /* what went wrong (cause.h); NULL: not worked out */
	const struct perclient_row *clients; /* how each client fared (perclient.h), nclients rows */
	size_t nclients;
	double clients_from;            /* the table's lookups are those invoked from then */
	unsigned file_mode; /* of the files created (0: OUTFILE_MODE, 0600; see outfile.h) */
};

/*
 * The console summary: a table (expectation, observed, bound, result), the
 * first moments of each failure, the clients table (at most
 * REPORT_CONSOLE_CLIENTS rows; the JSON has them all), then the verdict line
 * with the seed and what went wrong.
 * color: ANSI colours (callers pass isatty && !NO_COLOR).
 */
#define REPORT_CONSOLE_CLIENTS 16
void report_console(FILE *out, const struct report *r, bool color);

/*
 * JUnit XML: one <testsuite> named after the scenario, one <testcase> per
 * expectation (<failure> with the moments, <skipped> for inconclusive), the
 * seed and versions as <properties>. path: "-" is stdout; a new file gets
 * r->file_mode, an existing one keeps its mode, a symbolic link is refused
 * (outfile_open). Returns 0 or -1 with err set.
 */
int report_junit(const char *path, const struct report *r, char *err, size_t errlen);

/* TAP version 13: "1..N", "ok 1 - name # observed ..." ; inconclusive as "# SKIP". */
void report_tap(FILE *out, const struct report *r);

/*
 * A JSON summary (docs/checks.md, "JSON summary"), at path as report_junit
 * writes its file. Returns 0 or -1 with err set.
 */
int report_json(const char *path, const struct report *r, char *err, size_t errlen);

/*
 * DIR/index.html, self-contained (no network, no files beside it): the
 * timeline (success rate, latency percentiles and per-backend load over time,
 * faults, publishes and health states as bands) and the expectations table.
 * Creates DIR if needed (directories of outfile_dir_mode(r->file_mode)). The
 * page is written to a temporary file made by mkstemp in DIR with mode
 * r->file_mode, then renamed over DIR/index.html (a symbolic link there is
 * replaced, not followed). Returns 0 or -1 with err set.
 */
int report_html(const char *dir, const struct report *r, char *err, size_t errlen);

/*
 * The escapers the reports use, for writers of other reports in these
 * formats (the suite's combined JUnit and TAP, harness/suite.c). Each
 * decodes s as UTF-8 (a byte that is not is U+FFFD), so the output is valid
 * whatever s holds.
 *
 * report_xml_text: s as XML character data (attr false) or inside an
 * attribute value (attr true): & < > (and " ' in attributes) as entities;
 * tab, newline and carriage return as character references in attributes;
 * other C0 controls, U+FFFE and U+FFFF dropped (XML 1.0 cannot hold them).
 */
void report_xml_text(FILE *f, const char *s, bool attr);

/* s as a TAP test description: # and \ escaped, control characters as spaces. */
void report_tap_description(FILE *f, const char *s);

/*
 * A line of a TAP YAMLish block, `  key: "value"`: value as a YAML
 * double-quoted scalar (" and \ escaped, \t \n \r, other C0 controls and
 * DEL as \xHH, C1 controls dropped).
 */
void report_yaml_field(FILE *f, const char *key, const char *value);

#endif
