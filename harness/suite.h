/*
 * suite.h - many scenarios in one command: `dnschaos run FILE|DIR ...` with
 * more than one scenario (or a directory, or --jobs/--shard/--timeout) runs a
 * suite, and `dnschaos list [DIR]` prints the scenarios of a directory.
 *
 * Each scenario of a suite runs as a child process (this binary, re-executed
 * as `dnschaos run FILE` with its reports in a private temporary directory),
 * so runs share no state; the suite combines their reports (one JUnit, TAP and
 * JSON for the whole run), prints one summary table and exits with the worst
 * exit code (docs/ci.md). Single-threaded; not reentrant (a signal handler
 * sets a flag the suite's loop reads).
 */
#ifndef HARNESS_SUITE_H
#define HARNESS_SUITE_H

#include <stdbool.h>
#include <stdio.h>

/*
 * Whether `dnschaos run` with these arguments (argv[0] is "run") is a suite:
 * more than one scenario operand, a directory operand, or a suite-only option
 * (--jobs, --shard, --timeout). Reads argv only; prints nothing.
 */
bool suite_wanted(int argc, char **argv);

/* `dnschaos run` as a suite (argv[0] is "run"); returns the exit code. */
int suite_main(int argc, char **argv);

/* `dnschaos list [DIR]` (argv[0] is "list"); returns the exit code. */
int suite_list(int argc, char **argv);

/* The suite's and list's part of `dnschaos --help`. */
void suite_usage(FILE *out);

#endif
