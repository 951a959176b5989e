/*
 * main.c - the dnschaos command line: `run` plays a scenario and judges its
 * history; `check` judges a recorded history again without running.
 */
#include "harness/ctl.h"
#include "harness/lua/bind.h"
#include "harness/record/checker.h"
#include "harness/record/classify.h"
#include "harness/record/hist.h"
#include "harness/record/outfile.h"
#include "harness/record/rederive.h"
#include "harness/record/report.h"
#include "harness/replay.h"
#include "harness/runner.h"
#include "harness/run/watch.h"
#include "harness/run/ctl.h"
#include "harness/run/watchdog.h"
#include "fakeresolver/addr.h"
#include "harness/sandbox.h"
#include "harness/suite.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: dnschaos run SCENARIO.lua [--seed N] [--history FILE] [-v] [--sandbox |\n"
		"                    --no-sandbox] [--allow-non-loopback] [--live]\n"
		"                    [--metrics ADDR] [REPORTS]\n"
		"       dnschaos check HISTORY.jsonl SCENARIO.lua [REPORTS]\n"
		"       dnschaos ctl SOCKET COMMAND...   (a run's --control socket; see ctl --help)\n"
		"       dnschaos --help | --version\n"
		"\n"
		"run plays a chaos scenario: a farm of fake resolvers, a VIP and real client\n"
		"stacks on loopback addresses, driven by the scenario's timeline, with every\n"
		"query and lookup recorded; then it checks the scenario's expectations on the\n"
		"history and prints the verdict. check does the judging again on a recorded\n"
		"history, without running anything.\n"
		"\n"
		"  --seed N         seed for every random choice (overrides the scenario's)\n"
		"  --history FILE   write the history (JSON lines) to FILE ('-' = stdout; a\n"
		"                   scenario with expectations needs a file, or none: then a\n"
		"                   temporary file is used and removed)\n"
		"  -v, --verbose    print farm events on stderr as they happen\n"
		"  --sandbox        run in private user, network, mount and pid namespaces:\n"
		"                   loopback only, a private /etc/resolv.conf and\n"
		"                   /etc/nsswitch.conf, each exec client with a resolv.conf\n"
		"                   naming its targets, nothing left behind however the run\n"
		"                   ends (docs/sandbox.md). The default where the kernel allows\n"
		"                   it; given explicitly, a run that cannot have it fails (exit 4)\n"
		"  --no-sandbox     run on the host's loopback (exec commands must then use\n"
		"                   {server}/{port}); without either flag this is what happens,\n"
		"                   with one line on stderr saying why, where namespaces are\n"
		"                   not allowed\n"
		"  --allow-non-loopback\n"
		"                   let remote daemons (s:remote) be on other hosts: their\n"
		"                   DNS and control addresses may then be off loopback, and\n"
		"                   VIPs, clients and s:query send to them there; everything\n"
		"                   else stays on loopback. Needs --no-sandbox (the sandbox\n"
		"                   has only lo). Without it such an s:remote is refused\n"
		"                   (exit 3; docs/gameday.md, \"Daemons on other hosts\")\n"
		"  --live           watch the run: a dashboard on stderr redrawn every second\n"
		"                   (a terminal), or one status line a second (a pipe or a\n"
		"                   file); the summary still follows at the end (docs/gameday.md)\n"
		"  --metrics ADDR   serve Prometheus metrics at http://ADDR/metrics while the\n"
		"                   run plays; ADDR is 127.0.0.1:PORT or [::1]:PORT (loopback\n"
		"                   only; PORT 0: a free one), bound before the sandbox, so it\n"
		"                   is reachable from the host; the address is printed at start\n"
		"  --control PATH   a game day: serve commands (inject, heal, publish, pause,\n"
		"                   extend, status, abort) on a Unix socket at PATH, mode 0600,\n"
		"                   for this user only, removed at the end; `dnschaos ctl`\n"
		"                   sends them (docs/gameday.md). Without it: no socket\n"
		"REPORTS:\n"
		"  --junit FILE     JUnit XML, one testcase per expectation\n"
		"  --tap            TAP on stdout (the summary then goes to stderr)\n"
		"  --json FILE      a JSON summary\n"
		"  --report DIR     DIR/index.html: the run's timeline and the expectations\n"
		"  -q, --quiet      no summary table and no progress line\n"
		"  --umask MASK     the mask of the files and directories written (history,\n"
		"                   reports), in octal; default 077: files 0600, directories\n"
		"                   0700, whatever the process umask\n"
		"Every output path is checked before the run starts (exit 3 if one cannot be\n"
		"written); every report that can be written is, even if another fails (exit 4).\n"
		"\n"
		"Exit status: 0 pass (or, without expectations, the run completed), 1 fail,\n"
		"2 inconclusive (the run was interrupted or killed, a fault never met a query,\n"
		"a window held no lookups), 3 bad input (arguments, scenario, zone file,\n"
		"history), 4 internal or runtime error (cannot bind, disk full, --sandbox\n"
		"where namespaces are not allowed).\n"
		"A run stuck in scenario code the deadline cannot stop (a __gc finalizer\n"
		"that loops) is ended by a watchdog 2 s past its deadline (exit 3), or\n"
		"within a second of SIGINT/SIGTERM (exit 2), its history ended, no report.\n"
		"Colours follow NO_COLOR. See docs/checks.md and docs/scenario-api.md.\n\n");
	suite_usage(out);
	replay_usage(out);
}

struct report_opts {
	const char *junit, *json, *report_dir;
	bool tap, quiet;
	unsigned file_mode; /* of the files created (outfile.h) */
};

/* Parses --seed as a whole number. */
static int parse_seed(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || end == s || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

/* A zone file a version line names, found as the scenario found it. */
static void scenario_path(void *arg, const char *file, char *out, size_t cap)
{
	runner_path(arg, file, out, cap);
}

/* Judges a loaded history and writes every report; returns the exit code. */
static int judge_hist(struct hist *h, const char *path, const char *shown, const char *scenario,
                      struct runner *run, const struct report_opts *ro, bool history_on_stdout)
{
	char err[1024];
	size_t n;
	/* The classes the verdict rests on must be the ones the recorded zone versions give. */
	int rd = rederive_classes(h, path, classify_grace(runner_classify(run)), scenario_path, run,
				  err, sizeof err);
	if (rd != 0) {
		fprintf(stderr, "dnschaos: %s\n", err);
		return rd == -1 ? DNSCHAOS_EXIT_BAD_INPUT : DNSCHAOS_EXIT_INTERNAL;
	}
	const struct expectation *ex = scenario_expectations(runner_scenario(run), &n);
	struct expect_result *res = calloc(n ? n : 1, sizeof *res);
	if (!res) {
		fprintf(stderr, "dnschaos: out of memory\n");
		return DNSCHAOS_EXIT_INTERNAL;
	}
	struct verdict_info v;
	checker_verdict(h, ex, n, res, &v);
	struct causes *causes = causes_find(h);
	if (!causes) {
		fprintf(stderr, "dnschaos: out of memory\n");
		free(res);
		return DNSCHAOS_EXIT_INTERNAL;
	}
	size_t nclients;
	int oom;
	double clients_from = perclient_from(h);
	struct perclient_row *clients = perclient_rows(h, clients_from, &nclients, &oom);
	if (oom) {
		fprintf(stderr, "dnschaos: out of memory\n");
		causes_free(causes);
		free(res);
		return DNSCHAOS_EXIT_INTERNAL;
	}
	struct report rep = { .hist = h, .history_path = shown, .scenario_path = scenario,
			      .expect = ex, .results = res, .n = n, .verdict = &v,
			      .causes = causes, .clients = clients, .nclients = nclients, .clients_from = clients_from,
			      .file_mode = ro->file_mode };
	FILE *con = ro->tap || history_on_stdout ? stderr : stdout;
	const char *nc = getenv("NO_COLOR");
	bool color = isatty(fileno(con)) && !(nc && nc[0]);
	if (!ro->quiet)
		report_console(con, &rep, color);
	if (ro->tap)
		report_tap(stdout, &rep);
	fflush(stdout);
	int code = v.verdict == VERDICT_PASS   ? DNSCHAOS_EXIT_PASS
		   : v.verdict == VERDICT_FAIL ? DNSCHAOS_EXIT_FAIL
		   : v.verdict == VERDICT_NONE ? DNSCHAOS_EXIT_PASS
					       : DNSCHAOS_EXIT_INCONCLUSIVE;
	/* Every report that can be written is: one that fails stops no other. */
	if (ro->junit && report_junit(ro->junit, &rep, err, sizeof err) != 0) {
		fprintf(stderr, "dnschaos: --junit: %s\n", err);
		code = DNSCHAOS_EXIT_INTERNAL;
	}
	if (ro->json && report_json(ro->json, &rep, err, sizeof err) != 0) {
		fprintf(stderr, "dnschaos: --json: %s\n", err);
		code = DNSCHAOS_EXIT_INTERNAL;
	}
	if (ro->report_dir && report_html(ro->report_dir, &rep, err, sizeof err) != 0) {
		fprintf(stderr, "dnschaos: --report: %s\n", err);
		code = DNSCHAOS_EXIT_INTERNAL;
	}
	free(clients);
	causes_free(causes);
	free(res);
	return code;
}

/* Reads the history at path and judges it. */
static int judge(const char *history, const char *shown, const char *scenario, struct runner *run,
		 const struct report_opts *ro, bool history_on_stdout)
{
	char err[1024];
	struct hist *h = hist_load(history, err, sizeof err);
	if (!h) {
		fprintf(stderr, "dnschaos: %s\n", err);
		return DNSCHAOS_EXIT_BAD_INPUT;
	}
	int code = judge_hist(h, history, shown, scenario, run, ro, history_on_stdout);
	hist_free(h);
	return code;
}

/* Parses --umask: octal, at most 0777. */
static int parse_umask(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 8);
	if (errno || *end || end == s || s[0] == '-' || s[0] == '+' || v > 0777)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Report options shared by run and check; returns 1 if c was one, -1 on a bad value. */
static int report_opt(int c, struct report_opts *ro)
{
	unsigned mask;

	switch (c) {
	case 'U':
		if (parse_umask(optarg, &mask) != 0) {
			fprintf(stderr, "dnschaos: --umask: '%s' is not an octal mask (000 to 777, "
					"e.g. 077 or 022)\n",
				optarg);
			return -1;
		}
		ro->file_mode = outfile_mode_from_umask(mask);
		return 1;
	case 'J':
		ro->junit = optarg;
		return 1;
	case 'T':
		ro->tap = true;
		return 1;
	case 'O':
		ro->json = optarg;
		return 1;
	case 'R':
		ro->report_dir = optarg;
		return 1;
	case 'q':
		ro->quiet = true;
		return 1;
	}
	return 0;
}

#define REPORT_OPTIONS                                            \
	{ "junit", required_argument, NULL, 'J' },               \
	{ "tap", no_argument, NULL, 'T' },                       \
	{ "json", required_argument, NULL, 'O' },                \
	{ "report", required_argument, NULL, 'R' },              \
	{ "quiet", no_argument, NULL, 'q' },                     \
	{ "umask", required_argument, NULL, 'U' }

static bool reports_wanted(const struct report_opts *ro)
{
	return ro->junit || ro->json || ro->report_dir || ro->tap;
}

/*
 * Checks every report path before anything runs: a path that cannot be
 * written is found now, not after the whole run. Creates the report
 * directory (it is needed anyway). Returns 0, or prints every bad path and
 * returns -1.
 */
static int reports_check(const struct report_opts *ro)
{
	char err[1024];
	int bad = 0;

	if (ro->junit && outfile_check(ro->junit, err, sizeof err) != 0) {
		fprintf(stderr, "dnschaos: --junit: %s\n", err);
		bad++;
	}
	if (ro->json && outfile_check(ro->json, err, sizeof err) != 0) {
		fprintf(stderr, "dnschaos: --json: %s\n", err);
		bad++;
	}
	if (ro->report_dir) {
		if (!ro->report_dir[0]) {
			fprintf(stderr, "dnschaos: --report: give a directory\n");
			bad++;
		} else if (outfile_mkdirs(ro->report_dir, outfile_dir_mode(ro->file_mode), err,
					  sizeof err) != 0) {
			fprintf(stderr, "dnschaos: --report: %s\n", err);
			bad++;
		} else if (access(ro->report_dir, W_OK | X_OK) != 0) {
			fprintf(stderr, "dnschaos: --report: %s: cannot write in it: %s\n",
				ro->report_dir, strerror(errno));
			bad++;
		}
	}
	return bad ? -1 : 0;
}

/* ---- --live and --metrics (run/watch.h) ---- */

/*
 * Binds the --metrics listening socket: a loopback address only (the
 * endpoint has no authentication), before the sandbox is entered, so that
 * the socket stays in the host's network namespace (a socket keeps the
 * namespace it was made in) and the run inside serves it on its loop.
 * Prints the bound address. Returns the socket, or -1 after saying why.
 */
static int metrics_listen(const char *text, char *url, size_t urlcap)
{
	struct addr a;
	char err[256], shown[64];
	int fd = -1, one = 1;

	if (addr_parse(text, 0, &a, err, sizeof err) != 0) {
		fprintf(stderr, "dnschaos: --metrics %s: %s (give 127.0.0.1:PORT)\n", text, err);
		return -1;
	}
	if (!addr_is_loopback(&a)) {
		fprintf(stderr,
			"dnschaos: --metrics %s: only a loopback address is served (127.0.0.0/8 "
			"or [::1]): the endpoint has no authentication; reach it from elsewhere "
			"through an SSH tunnel or a proxy of your own\n",
			text);
		return -1;
	}
	fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (struct sockaddr *)&a.ss, a.len) != 0 || listen(fd, 64) != 0) {
		fprintf(stderr, "dnschaos: --metrics %s: cannot listen: %s\n", text,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	a.len = sizeof a.ss;
	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) != 0) {
		fprintf(stderr, "dnschaos: --metrics %s: %s\n", text, strerror(errno));
		close(fd);
		return -1;
	}
	snprintf(url, urlcap, "http://%s/metrics", addr_str(&a, shown, sizeof shown));
	fprintf(stderr, "dnschaos: metrics at %s\n", url);
	return fd;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "history", required_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "sandbox", no_argument, NULL, 'X' },
		{ "no-sandbox", no_argument, NULL, 'N' },
		{ "live", no_argument, NULL, 'L' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "control", required_argument, NULL, 'C' },
		{ "allow-non-loopback", no_argument, NULL, 'A' },
		REPORT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct runner_options o;
	struct report_opts ro = { 0 };
	enum sandbox_mode sbx = SANDBOX_AUTO;
	bool sbx_given = false;
	char err[512], tmp[] = "/tmp/dnschaos-history-XXXXXX";
	bool tmp_used = false;
	const char *control = NULL; /* --control PATH */
	int c, code;
	/* --live, --metrics */
	struct watch_options wo = { .live = WATCH_LIVE_OFF, .out = stderr, .metrics_fd = -1 };
	const char *metrics = NULL;
	char metrics_url[128];

	memset(&o, 0, sizeof o);
	ro.file_mode = OUTFILE_MODE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:H:vhq", opts, NULL)) != -1) {
		int rc = report_opt(c, &ro);
		if (rc < 0)
			return DNSCHAOS_EXIT_BAD_INPUT;
		if (rc)
			continue;
		switch (c) {
		case 's':
			if (parse_seed(optarg, &o.seed) != 0) {
				fprintf(stderr, "dnschaos: --seed: '%s' is not a whole number\n",
					optarg);
				return DNSCHAOS_EXIT_BAD_INPUT;
			}
			o.seed_set = true;
			break;
		case 'H':
			o.history = optarg;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'X':
		case 'N':
			if (sbx_given && sbx != (c == 'X' ? SANDBOX_ON : SANDBOX_OFF)) {
				fprintf(stderr, "dnschaos: give --sandbox or --no-sandbox, not both\n");
				return DNSCHAOS_EXIT_BAD_INPUT;
			}
			sbx = c == 'X' ? SANDBOX_ON : SANDBOX_OFF;
			sbx_given = true;
			break;
		case 'L':
			wo.live = WATCH_LIVE_LINES; /* a terminal's screen: decided below */
			break;
		case 'M':
			metrics = optarg;
			break;
		case 'C':
			control = optarg;
			break;
		case 'A':
			o.allow_non_loopback = true;
			break;
		case 'h':
			usage(stdout);
			return DNSCHAOS_EXIT_PASS;
		default:
			usage(stderr);
			return DNSCHAOS_EXIT_BAD_INPUT;
		}
	}
	/* Said now, before any namespace is made: in the sandbox only lo exists,
	 * so no daemon off loopback could be reached (the s:remote line would
	 * refuse it; without the flag it says which flag is missing). */
	if (o.allow_non_loopback && sbx == SANDBOX_ON) {
		fprintf(stderr,
		        "dnschaos: --allow-non-loopback reaches remote daemons on other hosts, "
		        "and --sandbox runs in a network namespace with only lo: give "
		        "--no-sandbox with it (docs/sandbox.md)\n");
		return DNSCHAOS_EXIT_BAD_INPUT;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "dnschaos run: give a scenario file, or several, or a directory (see --help)\n");
		return DNSCHAOS_EXIT_BAD_INPUT;
	}
	/*
	 * Before any thread (the watchdog's, the spawner's): a user namespace
	 * cannot be entered by a threaded process. This process then either
	 * runs the scenario (inside, or on the host) or waits for it outside.
	 */
	if (metrics && (wo.metrics_fd = metrics_listen(metrics, metrics_url,
							 sizeof metrics_url)) < 0)
		return DNSCHAOS_EXIT_BAD_INPUT;
	wo.metrics_url = metrics ? metrics_url : NULL;
	int sbx_code;
	enum sandbox_result sr = sandbox_ns_enter(sbx, &sbx_code);
	if (sr == SANDBOX_EXIT) {
		if (wo.metrics_fd >= 0)
			close(wo.metrics_fd);
		return sbx_code;
	}
	o.scenario = argv[optind];
	if (reports_check(&ro) != 0)
		return DNSCHAOS_EXIT_BAD_INPUT;
	const char *ci = getenv("CI");
	o.progress = !ro.quiet && !o.verbose && isatty(STDERR_FILENO) && !(ci && ci[0]) &&
		     wo.live == WATCH_LIVE_OFF;
	if (wo.live != WATCH_LIVE_OFF && isatty(STDERR_FILENO))
		wo.live = WATCH_LIVE_SCREEN;
	if (wo.live != WATCH_LIVE_OFF || wo.metrics_fd >= 0)
		o.watch = &wo;

	/* The control socket: bound here, inside the sandbox (the host's file
	 * system), before any thread, since its mode is set by the umask. */
	int ctl_fd = -1;
	if (control) {
		ctl_fd = ctl_listen(control, err, sizeof err);
		if (ctl_fd < 0) {
			fprintf(stderr, "dnschaos: %s\n", err);
			return ctl_fd == -1 ? DNSCHAOS_EXIT_BAD_INPUT : DNSCHAOS_EXIT_INTERNAL;
		}
	}
	struct runner *r = runner_create(&o, err, sizeof err);
	if (!r) {
		fprintf(stderr, "dnschaos: %s\n", err);
		if (ctl_fd >= 0) {
			close(ctl_fd);
			unlink(control);
		}
		return DNSCHAOS_EXIT_INTERNAL;
	}
	if (ctl_fd >= 0) { /* served while the run plays */
		struct runner_service svc;
		if (ctl_service(ctl_fd, control, &svc) != 0) {
			fprintf(stderr, "dnschaos: --control: out of memory\n");
			runner_destroy(r);
			return DNSCHAOS_EXIT_INTERNAL;
		}
		runner_set_service(r, &svc);
	}
	enum runner_outcome out = runner_load(r);
	if (out != RUNNER_COMPLETED) {
		fprintf(stderr, "dnschaos: %s\n", runner_error(r));
		code = runner_exit_code(out);
		goto done;
	}
	size_t nexp;
	scenario_expectations(runner_scenario(r), &nexp);
	bool judging = nexp > 0 || reports_wanted(&ro);
	bool on_stdout = o.history && strcmp(o.history, "-") == 0;
	if (judging && on_stdout) {
		fprintf(stderr, "dnschaos: --history - cannot be read back to check expectations or "
				"write reports: give a file\n");
		code = DNSCHAOS_EXIT_BAD_INPUT;
		goto done;
	}
	if (o.history && !on_stdout) {
		/*
		 * Created now with the mode asked for (the runner truncates it and keeps
		 * that mode), so that a history that cannot be written stops the run here.
		 */
		int fd = outfile_open(o.history, ro.file_mode);
		if (fd < 0) {
			fprintf(stderr, "dnschaos: --history %s: cannot create the file: %s%s\n",
				o.history, strerror(-fd),
				fd == -ELOOP ? " (a symbolic link is not followed)" : "");
			code = DNSCHAOS_EXIT_BAD_INPUT;
			goto done;
		}
		close(fd);
	}
	bool watching = o.watch != NULL;
	if (watching) /* the run holds &wo: filled in before it plays */
		wo.expect = scenario_expectations(runner_scenario(r), &wo.nexp);
	if ((judging || watching) && !o.history) {
		int fd = mkstemp(tmp);
		if (fd < 0) {
			fprintf(stderr, "dnschaos: cannot create a temporary history: %s\n",
				strerror(errno));
			code = DNSCHAOS_EXIT_INTERNAL;
			goto done;
		}
		close(fd);
		tmp_used = true;
		runner_set_history(r, tmp);
		watchdog_remove_on_end(tmp);
	}
	out = runner_run(r);
	if (out != RUNNER_COMPLETED)
		fprintf(stderr, "dnschaos: %s\n", runner_error(r));
	code = runner_exit_code(out);
	/* A run that wrote its history is judged, interrupted or not (then inconclusive). */
	if (judging && (out == RUNNER_COMPLETED || out == RUNNER_INTERRUPTED)) {
		int j = judge(tmp_used ? tmp : o.history,
			      tmp_used ? "not kept (give --history FILE to keep it)" : o.history,
			      o.scenario, r, &ro, on_stdout);
		code = out == RUNNER_INTERRUPTED && j == DNSCHAOS_EXIT_PASS ? code : j;
	}
done:
	runner_destroy(r);
	if (wo.metrics_fd >= 0)
		close(wo.metrics_fd);
	if (tmp_used) {
		watchdog_remove_on_end(NULL);
		unlink(tmp);
	}
	return code;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		REPORT_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct runner_options o;
	struct report_opts ro = { 0 };
	char err[512];
	int c, code;

	memset(&o, 0, sizeof o);
	ro.file_mode = OUTFILE_MODE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		int rc = report_opt(c, &ro);
		if (rc < 0)
			return DNSCHAOS_EXIT_BAD_INPUT;
		if (rc)
			continue;
		if (c == 'h') {
			usage(stdout);
			return DNSCHAOS_EXIT_PASS;
		}
		usage(stderr);
		return DNSCHAOS_EXIT_BAD_INPUT;
	}
	if (optind + 2 != argc) {
		fprintf(stderr, "dnschaos check: give a history file and its scenario file (see "
				"--help)\n");
		return DNSCHAOS_EXIT_BAD_INPUT;
	}
	const char *history = argv[optind];
	o.scenario = argv[optind + 1];
	o.describe_only = true; /* s:process needs no capture rights to be judged */
	if (reports_check(&ro) != 0)
		return DNSCHAOS_EXIT_BAD_INPUT;
	struct runner *r = runner_create(&o, err, sizeof err);
	if (!r) {
		fprintf(stderr, "dnschaos: %s\n", err);
		return DNSCHAOS_EXIT_INTERNAL;
	}
	enum runner_outcome out = runner_load(r);
	if (out != RUNNER_COMPLETED) {
		fprintf(stderr, "dnschaos: %s\n", runner_error(r));
		code = runner_exit_code(out);
		goto done;
	}
	/* The history must be a run of this scenario; read once, judged as read. */
	struct hist *h = hist_load(history, err, sizeof err);
	if (!h) {
		fprintf(stderr, "dnschaos: %s\n", err);
		code = DNSCHAOS_EXIT_BAD_INPUT;
		goto done;
	}
	const char *recorded = hist_meta(h)->name;
	const char *declared = scenario_name(runner_scenario(r));
	if (!recorded || strcmp(recorded, declared) != 0) {
		fprintf(stderr, "dnschaos: %s is a run of scenario '%s', not of %s ('%s')\n", history,
			recorded ? recorded : "?", o.scenario, declared);
		code = DNSCHAOS_EXIT_BAD_INPUT;
	} else {
		code = judge_hist(h, history, history, o.scenario, r, &ro, false);
	}
	hist_free(h);
done:
	runner_destroy(r);
	return code;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "run") == 0 && suite_wanted(argc - 1, argv + 1))
		return suite_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "list") == 0)
		return suite_list(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return sandbox_ns_exit(cmd_run(argc - 1, argv + 1));
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "ctl") == 0)
		return ctl_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "replay") == 0)
		return replay_main(argc - 1, argv + 1);
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
