/*
 * main.c - the dnschaos command line.
 */
#include "harness/runner.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: dnschaos run SCENARIO.lua [--seed N] [--history FILE] [-v]\n"
		"       dnschaos --help | --version\n"
		"\n"
		"Runs a chaos scenario: a farm of fake resolvers on loopback addresses, driven\n"
		"by the scenario's timeline of faults, with every query and event recorded.\n"
		"\n"
		"  --seed N        seed for every random choice (overrides the scenario's);\n"
		"                  the same seed gives the same fault decisions\n"
		"  --history FILE  write the run's history (JSON lines) to FILE ('-' = stdout)\n"
		"  -v, --verbose   print farm events on stderr as they happen\n"
		"\n"
		"Exit status: 0 the run completed, 2 interrupted (SIGINT/SIGTERM: faults are\n"
		"healed and the history is complete up to the stop), 3 bad input (arguments,\n"
		"scenario, zone file), 4 internal or runtime error (cannot bind, disk full).\n"
		"Exit 1 (fail) comes with expectations. See docs/scenario-api.md.\n");
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "history", required_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct runner_options o;
	char err[512];
	int c;

	memset(&o, 0, sizeof o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:H:vh", opts, NULL)) != -1) {
		switch (c) {
		case 's': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-') {
				fprintf(stderr, "dnschaos: --seed: '%s' is not a whole number\n",
					optarg);
				return DNSCHAOS_EXIT_BAD_INPUT;
			}
			o.seed = v;
			o.seed_set = true;
			break;
		}
		case 'H':
			o.history = optarg;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			usage(stdout);
			return DNSCHAOS_EXIT_PASS;
		default:
			usage(stderr);
			return DNSCHAOS_EXIT_BAD_INPUT;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "dnschaos run: give exactly one scenario file (see --help)\n");
		return DNSCHAOS_EXIT_BAD_INPUT;
	}
	o.scenario = argv[optind];

	struct runner *r = runner_create(&o, err, sizeof err);
	if (!r) {
		fprintf(stderr, "dnschaos: %s\n", err);
		return DNSCHAOS_EXIT_INTERNAL;
	}
	enum runner_outcome out = runner_load(r);
	if (out == RUNNER_COMPLETED)
		out = runner_run(r);
	if (out != RUNNER_COMPLETED)
		fprintf(stderr, "dnschaos: %s\n", runner_error(r));
	runner_destroy(r);
	return runner_exit_code(out);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return DNSCHAOS_EXIT_PASS;
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("dnschaos %s\n", DNSCHAOS_VERSION);
		return DNSCHAOS_EXIT_PASS;
	}
	if (argc >= 2)
		fprintf(stderr, "dnschaos: unknown command '%s' (see --help)\n", argv[1]);
	else
		usage(stderr);
	return DNSCHAOS_EXIT_BAD_INPUT;
}
