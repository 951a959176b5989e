/*
 * replay.h - `dnschaos replay HISTORY.jsonl`: a recorded run (a game day,
 * scripted and manual actions alike) written back as a Lua scenario that
 * repeats its farm, its clients, its timeline and its expectations, so that
 * running it gives the same fault timeline and the same verdict
 * (docs/gameday.md, "Afterwards: a game day as a regression test").
 *
 * What it reads: the history's meta line, its declare lines (what the
 * scenario declared, as it declared it), and the lines of what happened on
 * the timeline (fault, publish, boot, state of a zone source, health
 * removed/member, rate; docs/history.md). No I/O besides reading the
 * history and writing the scenario.
 */
#ifndef HARNESS_REPLAY_H
#define HARNESS_REPLAY_H

#include <stddef.h>
#include <stdio.h>

/*
 * Reads the history at path and writes the scenario to out_path (created
 * 0600 like every output file, never through a symbolic link), or to stdout
 * when out_path is NULL or "-". Paths to zone and configuration files are
 * written relative to the folder of out_path (stdout: the current folder).
 * Each thing the history cannot repeat is named in a comment at the top of
 * the scenario and in one line on warn (may be NULL). Returns 0 (written),
 * 3 (not a history, or one without declare lines: err holds "FILE:LINE:
 * reason" or "FILE: reason"), or 4 (out of memory, cannot write out_path:
 * err says why). Nothing is written to out_path unless it returns 0.
 */
int replay_write(const char *path, const char *out_path, FILE *warn, char *err, size_t errlen);

/* `dnschaos replay [--output FILE] HISTORY.jsonl` (argv[0] is "replay"): the exit code. */
int replay_main(int argc, char **argv);

/* The subcommand's part of --help. */
void replay_usage(FILE *out);

#endif
