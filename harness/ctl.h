/*
 * ctl.h - `dnschaos ctl PATH COMMAND...`: the client of a run's control
 * socket (harness/run/ctl.h, docs/gameday.md).
 */
#ifndef HARNESS_CTL_H
#define HARNESS_CTL_H

#include <stdio.h>

/* Prints the usage of dnschaos ctl to out. */
void ctl_usage(FILE *out);

/*
 * dnschaos ctl (argv[0] is "ctl"): sends one command, or each line of stdin
 * when the command is "-", and prints each reply on stdout. Returns 0 when
 * every reply was ok, 1 when one was an error, 3 on bad arguments, 4 when it
 * cannot connect or the run closed the connection before replying.
 */
int ctl_main(int argc, char **argv);

#endif
