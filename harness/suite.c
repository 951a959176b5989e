/*
 * suite.c - `dnschaos run FILE|DIR ...` as a suite, and `dnschaos list`.
 *
 * The list: every FILE as given, every DIR's *.lua files (not its
 * subdirectories, not hidden files), sorted by path (strcmp), duplicates
 * dropped; --shard K/N keeps the entries whose 0-based index i in that list
 * has i % N == K - 1 (round robin, so shards differ by one at most, and a
 * shard depends only on the list). Each kept scenario runs as a child: this
 * binary re-executed as `dnschaos run FILE -q --json TMP --junit TMP ...`,
 * its output in a log in a private temporary directory, up to --jobs at once,
 * each with its own loopback address block (DNSCHAOS_ADDRESS_BLOCK = its job
 * slot, so two runs at once never share an address). The loop polls: it
 * reaps children, enforces the per-scenario timeout (SIGTERM, then SIGKILL
 * 10 s later), and on SIGINT/SIGTERM stops the children and writes what it
 * has. Then the combined JUnit, TAP and JSON and the summary table.
 */
#define _GNU_SOURCE
#include "harness/suite.h"

#include "fakeresolver/json.h"
#include "harness/record/outfile.h"
#include "harness/record/report.h"
#include "harness/runner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SUITE_JOBS_MAX        64        /* also the address blocks 127.0-63.0.x */
#define SUITE_TIMEOUT_DEFAULT 300.0     /* seconds a scenario may take, by default */
#define SUITE_KILL_GRACE      10.0      /* seconds from SIGTERM to SIGKILL */
#define SUITE_POLL_NS         50000000L /* the loop's tick: 50 ms */

/* What became of one scenario. */
enum item_state { ITEM_WAITING, ITEM_RUNNING, ITEM_DONE };

struct item {
	char *path; /* as found: the operand, or DIR/NAME */
	char *stem; /* the file name without .lua: names its history and report */
	enum item_state state;
	pid_t pid;
	int slot;             /* address block while running */
	double started, wall; /* monotonic seconds */
	bool timed_out, killed, stopped;
	int code;         /* the scenario's exit code (0..4) */
	char status[96];  /* how the child ended: "exit 1", "killed by signal 9", ... */
	char *json;       /* the child's JSON report, or NULL */
	char *cause;      /* what went wrong: its first cause (or its summary), or NULL */
	char *junit;      /* the child's <testsuite> element(s), or NULL */
	char *name;       /* the scenario's name (from its JSON), or NULL */
	char verdict[24]; /* from its JSON: pass, fail, inconclusive, none; "" if none */
	long passed, failed, inconclusive; /* -1 when unknown */
	char message[512];                 /* the last line the child printed (bad input, errors) */
};

struct suite {
	struct item *items;
	size_t n, cap;
	/* options */
	int jobs, shard_k, shard_n;
	double timeout;
	char *seed, *umask;
	char *sandbox; /* "--sandbox", "--no-sandbox", or NULL: each run's default */
	bool allow_non_loopback; /* --allow-non-loopback, given to each run */
	unsigned long long seed_value;
	const char *history_dir, *junit, *json, *report_dir;
	bool tap, quiet;
	unsigned file_mode;
	/* state */
	char tmp[4096];
	bool slot_used[SUITE_JOBS_MAX];
	double started;
};

static volatile sig_atomic_t suite_stop;

static void on_stop_signal(int sig)
{
	suite_stop = sig;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Severity of an exit code for "the worst": 0 < 2 (inconclusive) < 1 < 3 < 4. */
static int severity(int code)
{
	static const int rank[] = {0, 2, 1, 3, 4};
	return code >= 0 && code <= 4 ? rank[code] : 4;
}

static const char *code_word(int code)
{
	static const char *const w[] = {"pass", "fail", "inconclusive", "bad_input", "error"};
	return code >= 0 && code <= 4 ? w[code] : "error";
}

/* ---- the list ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	char *p = NULL;
	if (asprintf(&p, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return p;
}

static bool ends_with_lua(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && strcmp(name + n - 4, ".lua") == 0;
}

/* Appends strdup'd paths to *v; returns 0 or -ENOMEM. */
static int vec_push(char ***v, size_t *n, size_t *cap, char *s)
{
	if (!s)
		return -ENOMEM;
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		char **nv = realloc(*v, c * sizeof *nv);
		if (!nv) {
			free(s);
			return -ENOMEM;
		}
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = s;
	return 0;
}

/*
 * The *.lua regular files of dir (not hidden, not in subdirectories), appended
 * to *v. Returns 0, -1 with a message printed.
 */
static int dir_scenarios(const char *dir, char ***v, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t before = *n;
	int rc = 0;

	if (!d) {
		fprintf(stderr, "dnschaos: %s: cannot read the directory: %s\n", dir,
		        strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] == '.' || !ends_with_lua(de->d_name))
			continue;
		char *p = path_join(dir, de->d_name);
		if (p && (stat(p, &st) != 0 || !S_ISREG(st.st_mode))) {
			free(p);
			continue;
		}
		if (vec_push(v, n, cap, p) != 0) {
			fprintf(stderr, "dnschaos: out of memory\n");
			rc = -1;
			goto out;
		}
	}
	if (*n == before) {
		fprintf(stderr,
		        "dnschaos: %s: no scenario (*.lua) in this directory (its "
		        "subdirectories are not searched: name them)\n",
		        dir);
		rc = -1;
	}
out:
	closedir(d);
	return rc;
}

/*
 * The sorted, deduplicated list of the operands' scenarios. Returns 0 and sets
 * *out and *nout (the caller frees each and the array), or -1 with a message.
 */
static int collect(char **ops, int nops, char ***out, size_t *nout)
{
	char **v = NULL;
	size_t n = 0, cap = 0;

	for (int i = 0; i < nops; i++) {
		struct stat st;
		if (stat(ops[i], &st) != 0) {
			fprintf(stderr, "dnschaos: %s: %s\n", ops[i], strerror(errno));
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			if (dir_scenarios(ops[i], &v, &n, &cap) != 0)
				goto fail;
		} else if (vec_push(&v, &n, &cap, strdup(ops[i])) != 0) {
			fprintf(stderr, "dnschaos: out of memory\n");
			goto fail;
		}
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_str);
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && strcmp(v[w - 1], v[i]) == 0)
			free(v[i]);
		else
			v[w++] = v[i];
	}
	*out = v;
	*nout = w;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return -1;
}

/* The stem of path: its file name without ".lua". */
static char *stem_of(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strlen(b);
	if (ends_with_lua(b))
		n -= 4;
	return strndup(b, n);
}

/* ---- arguments ---- */

/* Whether the long option name (without "--", up to '=') takes an argument. */
static bool long_takes_arg(const char *name, size_t n)
{
	static const char *const with[] = {"seed",  "history", "junit", "json",    "report",
	                                   "umask", "jobs",    "shard", "timeout", "metrics",
	                                   "control", NULL};
	for (int i = 0; with[i]; i++)
		if (strlen(with[i]) == n && strncmp(name, with[i], n) == 0)
			return true;
	return false;
}

static bool long_is_suite_only(const char *name, size_t n)
{
	return (n == 4 && strncmp(name, "jobs", 4) == 0) ||
	       (n == 5 && strncmp(name, "shard", 5) == 0) ||
	       (n == 7 && strncmp(name, "timeout", 7) == 0);
}

bool suite_wanted(int argc, char **argv)
{
	int operands = 0;
	bool dir = false, only = false, rest = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!rest && strcmp(a, "--") == 0) {
			rest = true;
			continue;
		}
		if (!rest && a[0] == '-' && a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			only = only || long_is_suite_only(a + 2, n);
			if (!eq && long_takes_arg(a + 2, n))
				i++;
			continue;
		}
		if (!rest && a[0] == '-' && a[1]) {
			/* A short cluster: -s and -H take the rest, or the next argument. */
			for (const char *c = a + 1; *c; c++)
				if (*c == 's' || *c == 'H') {
					if (!c[1])
						i++;
					break;
				}
			continue;
		}
		struct stat st;
		operands++;
		if (stat(a, &st) == 0 && S_ISDIR(st.st_mode))
			dir = true;
	}
	return operands > 1 || dir || only;
}

void suite_usage(FILE *out)
{
	fprintf(out,
	        "Suites:\n"
	        "       dnschaos run FILE|DIR ... [--jobs N] [--shard K/N] [--timeout S]\n"
	        "                    [--seed N] [--history DIR] [REPORTS]\n"
	        "       dnschaos list [DIR]\n"
	        "run with more than one scenario, or a directory (its *.lua files, sorted;\n"
	        "not its subdirectories), runs a suite: each scenario as its own process,\n"
	        "then one JUnit (a testsuite per scenario), TAP and JSON for the whole run\n"
	        "and a summary table. The exit code is the worst of the scenarios', in the\n"
	        "order 0 < 2 (inconclusive) < 1 (fail) < 3 (bad input) < 4 (error).\n"
	        "  --jobs N         run N scenarios at once (1 to %d; default 1)\n"
	        "  --shard K/N      run only the K-th of N slices (1 <= K <= N): the sorted\n"
	        "                   list's entries i (from 0) with i %% N == K-1\n"
	        "  --timeout S      seconds one scenario may take before it is stopped and\n"
	        "                   counted as an error (default %.0f)\n"
	        "  --history DIR    keep each scenario's history as DIR/NAME.jsonl\n"
	        "  --report DIR     each scenario's HTML report in DIR/NAME/index.html\n"
	        "  --junit, --json, --tap: the combined reports; --seed, --umask, -q,\n"
	        "                   --sandbox, --no-sandbox, --allow-non-loopback as for\n"
	        "                   one scenario (-v, --live, --control and --metrics are\n"
	        "                   refused: run one scenario to watch or steer it).\n"
	        "                   NAME is the file name without .lua.\n"
	        "list prints the *.lua files of DIR (default scenarios/) with the first\n"
	        "line of each one's header comment. See docs/ci.md.\n",
	        SUITE_JOBS_MAX, SUITE_TIMEOUT_DEFAULT);
}

/* "K/N" with 1 <= K <= N. */
static int parse_shard(const char *s, int *k, int *n)
{
	char *end;
	errno = 0;
	long a = strtol(s, &end, 10);
	if (errno || end == s || *end != '/' || s[0] == '-' || s[0] == '+')
		return -1;
	const char *t = end + 1;
	long b = strtol(t, &end, 10);
	if (errno || end == t || *end || t[0] == '-' || t[0] == '+' || b < 1 || b > 100000 ||
	    a < 1 || a > b)
		return -1;
	*k = (int)a;
	*n = (int)b;
	return 0;
}

static int parse_args(struct suite *s, int argc, char **argv, char ***ops, int *nops)
{
	static char sandbox_flag[] = "--sandbox", no_sandbox_flag[] = "--no-sandbox";
	static const struct option opts[] = {
	        {"seed", required_argument, NULL, 's'},
	        {"history", required_argument, NULL, 'H'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {"junit", required_argument, NULL, 'J'},
	        {"tap", no_argument, NULL, 'T'},
	        {"json", required_argument, NULL, 'O'},
	        {"report", required_argument, NULL, 'R'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"umask", required_argument, NULL, 'U'},
	        {"jobs", required_argument, NULL, 'j'},
	        {"shard", required_argument, NULL, 'k'},
	        {"timeout", required_argument, NULL, 't'},
	        {"sandbox", no_argument, NULL, 'X'},
	        {"no-sandbox", no_argument, NULL, 'N'},
	        {"live", no_argument, NULL, 'L'},
	        {"control", required_argument, NULL, 'C'},
	        {"metrics", required_argument, NULL, 'M'},
	        {"allow-non-loopback", no_argument, NULL, 'A'},
	        {NULL, 0, NULL, 0},
	};
	int c;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:H:vhq", opts, NULL)) != -1) {
		switch (c) {
		case 's': {
			errno = 0;
			s->seed_value = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-') {
				fprintf(stderr, "dnschaos: --seed: '%s' is not a whole number\n",
				        optarg);
				return -1;
			}
			s->seed = optarg;
			break;
		}
		case 'H':
			s->history_dir = optarg;
			break;
		case 'v':
			fprintf(stderr,
			        "dnschaos: -v: a suite keeps each scenario's output to itself; "
			        "run one scenario with -v to see its events\n");
			return -1;
		case 'h':
			return 1;
		case 'L':
		case 'C':
		case 'M':
			/* Each scenario runs as a child whose output goes to a log, several at once. */
			fprintf(stderr,
			        "dnschaos: %s: a game day plays one scenario; a suite runs each "
			        "scenario as its own process with its output kept in a log, so "
			        "there is no one run to watch or steer: run the scenario alone "
			        "with %s (docs/gameday.md)\n",
			        c == 'L' ? "--live" : c == 'C' ? "--control" : "--metrics",
			        c == 'L' ? "--live" : c == 'C' ? "--control" : "--metrics");
			return -1;
		case 'X':
		case 'N': {
			/* Each scenario's run enters (or not) a sandbox of its own. */
			char *want = c == 'X' ? sandbox_flag : no_sandbox_flag;
			if (s->sandbox && strcmp(s->sandbox, want) != 0) {
				fprintf(stderr, "dnschaos: give --sandbox or --no-sandbox, not both\n");
				return -1;
			}
			s->sandbox = want;
			break;
		}
		case 'A':
			s->allow_non_loopback = true;
			break;
		case 'J':
			s->junit = optarg;
			break;
		case 'T':
			s->tap = true;
			break;
		case 'O':
			s->json = optarg;
			break;
		case 'R':
			s->report_dir = optarg;
			break;
		case 'q':
			s->quiet = true;
			break;
		case 'U': {
			errno = 0;
			unsigned long m = strtoul(optarg, &end, 8);
			if (errno || *end || end == optarg || optarg[0] == '-' ||
			    optarg[0] == '+' || m > 0777) {
				fprintf(stderr,
				        "dnschaos: --umask: '%s' is not an octal mask (000 to "
				        "777, e.g. 077 or 022)\n",
				        optarg);
				return -1;
			}
			s->umask = optarg;
			s->file_mode = outfile_mode_from_umask((unsigned)m);
			break;
		}
		case 'j': {
			errno = 0;
			long j = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || j < 1 || j > SUITE_JOBS_MAX) {
				fprintf(stderr,
				        "dnschaos: --jobs: '%s' is not a number from 1 to %d\n",
				        optarg, SUITE_JOBS_MAX);
				return -1;
			}
			s->jobs = (int)j;
			break;
		}
		case 'k':
			if (parse_shard(optarg, &s->shard_k, &s->shard_n) != 0) {
				fprintf(stderr,
				        "dnschaos: --shard: '%s' is not K/N with 1 <= K <= N "
				        "(e.g. 2/4)\n",
				        optarg);
				return -1;
			}
			break;
		case 't': {
			errno = 0;
			double t = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(t > 0) || t > 86400) {
				fprintf(stderr,
				        "dnschaos: --timeout: '%s' is not a number of seconds "
				        "(more than 0, at most 86400)\n",
				        optarg);
				return -1;
			}
			s->timeout = t;
			break;
		}
		default:
			return -1;
		}
	}
	*ops = argv + optind;
	*nops = argc - optind;
	return 0;
}

/* ---- output paths ---- */

static int check_outputs(struct suite *s)
{
	char err[1024];
	int bad = 0;
	unsigned dmode = outfile_dir_mode(s->file_mode);

	if (s->junit && outfile_check(s->junit, err, sizeof err) != 0) {
		fprintf(stderr, "dnschaos: --junit: %s\n", err);
		bad++;
	}
	if (s->json && outfile_check(s->json, err, sizeof err) != 0) {
		fprintf(stderr, "dnschaos: --json: %s\n", err);
		bad++;
	}
	const char *dirs[2] = {s->history_dir, s->report_dir};
	const char *names[2] = {"--history", "--report"};
	for (int i = 0; i < 2; i++) {
		if (!dirs[i])
			continue;
		if (!dirs[i][0] || strcmp(dirs[i], "-") == 0) {
			fprintf(stderr,
			        "dnschaos: %s: a suite needs a directory (one file per "
			        "scenario in it)\n",
			        names[i]);
			bad++;
		} else if (outfile_mkdirs(dirs[i], dmode, err, sizeof err) != 0) {
			fprintf(stderr, "dnschaos: %s: %s\n", names[i], err);
			bad++;
		} else if (access(dirs[i], W_OK | X_OK) != 0) {
			fprintf(stderr, "dnschaos: %s: %s: cannot write in it: %s\n", names[i],
			        dirs[i], strerror(errno));
			bad++;
		}
	}
	/* Each scenario's history and report are named by its stem: two may not share one. */
	for (size_t i = 0; i < s->n && (s->history_dir || s->report_dir); i++)
		for (size_t j = i + 1; j < s->n; j++)
			if (strcmp(s->items[i].stem, s->items[j].stem) == 0) {
				fprintf(stderr,
				        "dnschaos: %s and %s would write the same %s "
				        "(%s): rename one, or run them apart\n",
				        s->items[i].path, s->items[j].path,
				        s->history_dir ? "history" : "report", s->items[i].stem);
				bad++;
			}
	return bad ? -1 : 0;
}

/* ---- children ---- */

static char *tmp_path(const struct suite *s, size_t i, const char *ext)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%zu.%s", s->tmp, i, ext) < 0)
		return NULL;
	return p;
}

/* Builds the child's argv (static strings and paths it owns in keep[]); returns argc. */
static int child_argv(const struct suite *s, size_t i, char **av, char **keep)
{
	int n = 0, k = 0;
	av[n++] = "dnschaos";
	av[n++] = "run";
	av[n++] = s->items[i].path;
	av[n++] = "-q";
	av[n++] = "--json";
	av[n++] = keep[k++] = tmp_path(s, i, "json");
	av[n++] = "--junit";
	av[n++] = keep[k++] = tmp_path(s, i, "xml");
	if (s->seed) {
		av[n++] = "--seed";
		av[n++] = s->seed;
	}
	if (s->umask) {
		av[n++] = "--umask";
		av[n++] = s->umask;
	}
	if (s->sandbox)
		av[n++] = s->sandbox;
	if (s->allow_non_loopback)
		av[n++] = "--allow-non-loopback";
	if (s->history_dir) {
		av[n++] = "--history";
		if (asprintf(&keep[k], "%s/%s.jsonl", s->history_dir, s->items[i].stem) < 0)
			keep[k] = NULL;
		av[n++] = keep[k++];
	}
	if (s->report_dir) {
		av[n++] = "--report";
		keep[k] = path_join(s->report_dir, s->items[i].stem);
		av[n++] = keep[k++];
	}
	av[n] = NULL;
	for (int j = 0; j < k; j++)
		if (!keep[j])
			return -1;
	return n;
}

static int start_child(struct suite *s, size_t i)
{
	struct item *it = &s->items[i];
	char *av[24], *keep[4] = {0};
	char *log = tmp_path(s, i, "log");
	int slot = 0, rc = 0;

	while (slot < SUITE_JOBS_MAX && s->slot_used[slot])
		slot++;
	if (!log || slot == SUITE_JOBS_MAX || child_argv(s, i, av, keep) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		char block[8];
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		snprintf(block, sizeof block, "%d", slot);
		setenv("DNSCHAOS_ADDRESS_BLOCK", block, 1);
		/* A suite killed outright (SIGKILL) still stops its scenarios. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(DNSCHAOS_EXIT_INTERNAL);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0 && devnull != STDIN_FILENO) {
			dup2(devnull, STDIN_FILENO);
			close(devnull);
		}
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv("/proc/self/exe", av);
		dprintf(STDERR_FILENO, "dnschaos: cannot re-execute itself (/proc/self/exe): %s\n",
		        strerror(errno));
		_exit(DNSCHAOS_EXIT_INTERNAL);
	}
	rc = pid < 0 ? -errno : 0;
	close(fd);
	if (rc)
		goto out;
	it->pid = pid;
	it->slot = slot;
	s->slot_used[slot] = true;
	it->state = ITEM_RUNNING;
	it->started = now_s();
out:
	free(log);
	for (int k = 0; k < 4; k++)
		free(keep[k]);
	return rc;
}

/* The whole of a small file (NUL-terminated), or NULL. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			char *nb = realloc(buf, cap ? 2 * cap : 8192);
			if (!nb) {
				free(buf);
				buf = NULL;
				goto out;
			}
			buf = nb;
			cap = cap ? 2 * cap : 8192;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	buf[n] = 0;
	if (len)
		*len = n;
out:
	fclose(f);
	return buf;
}

/* Decodes the JSON string that starts at p (after its opening quote); NULL if malformed. */
static char *json_unstring(const char *p)
{
	size_t cap = strlen(p) + 1, n = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	while (*p && *p != '"') {
		if (*p != '\\') {
			out[n++] = *p++;
			continue;
		}
		p++;
		char ch = *p++;
		switch (ch) {
		case 'n':
			out[n++] = '\n';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case '"':
		case '\\':
		case '/':
			out[n++] = ch;
			break;
		case 'u': {
			unsigned cp;
			if (sscanf(p, "%4x", &cp) != 1)
				goto bad;
			p += 4;
			char u[4];
			size_t k = utf8_encode(cp, u); /* a lone surrogate: dropped */
			memcpy(out + n, u, k);
			n += k;
			break;
		}
		default:
			goto bad;
		}
	}
	if (*p != '"')
		goto bad;
	out[n] = 0;
	return out;
bad:
	free(out);
	return NULL;
}

/* The value of the child's top-level "key":"string" (every top-level member starts a line). */
static char *json_top_string(const char *json, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\n  \"%s\":\"", key);
	const char *p = strstr(json, pat);
	return p ? json_unstring(p + strlen(pat)) : NULL;
}

/* Reads what the child wrote: its JSON and JUnit reports and its log's last line. */
static void read_child(struct suite *s, size_t i)
{
	struct item *it = &s->items[i];
	char *p;

	it->passed = it->failed = it->inconclusive = -1;
	if ((p = tmp_path(s, i, "json")) != NULL) {
		it->json = slurp(p, NULL);
		free(p);
	}
	if (it->json && (it->json[0] != '{' || !strstr(it->json, "\n}"))) {
		free(it->json); /* not a whole report */
		it->json = NULL;
	}
	if (it->json) {
		it->name = json_top_string(it->json, "name");
		char *v = json_top_string(it->json, "verdict");
		snprintf(it->verdict, sizeof it->verdict, "%s", v ? v : "");
		free(v);
		const char *c = strstr(it->json, "\n  \"counts\":{");
		if (!c ||
		    sscanf(c, "\n  \"counts\":{\"passed\":%ld,\"failed\":%ld,\"inconclusive\":%ld",
		           &it->passed, &it->failed, &it->inconclusive) != 3)
			it->passed = it->failed = it->inconclusive = -1;
		const char *k = strstr(it->json, "\n  \"causes\":[\n    {\"text\":\"");
		it->cause = k ? json_unstring(strchr(k, '{') + sizeof "{\"text\":\"" - 1)
		              : json_top_string(it->json, "cause");
		/* Names in it come from the scenario: no control character reaches the terminal. */
		for (char *q = it->cause; q && *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = ' ';
		/* The embedded copy: without its final newline. */
		size_t n = strlen(it->json);
		while (n && (it->json[n - 1] == '\n'))
			it->json[--n] = 0;
	}
	if ((p = tmp_path(s, i, "xml")) != NULL) {
		char *x = slurp(p, NULL);
		free(p);
		char *a = x ? strstr(x, "\n  <testsuite ") : NULL;
		char *b = a ? strstr(a, "</testsuites>") : NULL;
		if (a && b) {
			it->junit = strndup(a + 1, (size_t)(b - a - 1));
		}
		free(x);
	}
	if ((p = tmp_path(s, i, "log")) != NULL) {
		size_t n = 0;
		char *log = slurp(p, &n);
		free(p);
		if (log) {
			while (n && (log[n - 1] == '\n' || log[n - 1] == '\r'))
				log[--n] = 0;
			/* The child's own message (it names file:line), else its last line. */
			char *m = strncmp(log, "dnschaos: ", 10) == 0 ? log
			                                              : strstr(log, "\ndnschaos: ");
			char *last = strrchr(log, '\n');
			if (m && m != log)
				m++;
			if (!m)
				m = last ? last + 1 : log;
			snprintf(it->message, sizeof it->message, "%.*s", (int)strcspn(m, "\n"), m);
			free(log);
		}
	}
}

/* A child ended with wait status st. */
static void child_done(struct suite *s, size_t i, int st)
{
	struct item *it = &s->items[i];

	it->wall = now_s() - it->started;
	it->state = ITEM_DONE;
	s->slot_used[it->slot] = false;
	read_child(s, i);
	if (WIFEXITED(st)) {
		int c = WEXITSTATUS(st);
		snprintf(it->status, sizeof it->status, "exit %d", c);
		it->code = c <= DNSCHAOS_EXIT_INTERNAL ? c : DNSCHAOS_EXIT_INTERNAL;
	} else {
		snprintf(it->status, sizeof it->status, "killed by signal %d (%s)", WTERMSIG(st),
		         strsignal(WTERMSIG(st)));
		it->code = DNSCHAOS_EXIT_INTERNAL;
	}
	if (it->timed_out) {
		snprintf(it->status, sizeof it->status, "timed out after %.0f s (--timeout)",
		         s->timeout);
		it->code = DNSCHAOS_EXIT_INTERNAL;
	} else if (it->code <= DNSCHAOS_EXIT_FAIL && !it->json) {
		/* A pass or a fail the child did not write down is not one. */
		snprintf(it->status + strlen(it->status), sizeof it->status - strlen(it->status),
		         ", no report");
		it->code = DNSCHAOS_EXIT_INTERNAL;
	}
	if (!s->quiet) {
		fprintf(stderr, "dnschaos: %-12s %s (%.1f s)\n",
		        it->code == 0 && strcmp(it->verdict, "none") == 0 ? "none"
		                                                          : code_word(it->code),
		        it->path, it->wall);
	}
}

static size_t count_state(const struct suite *s, enum item_state st)
{
	size_t c = 0;
	for (size_t i = 0; i < s->n; i++)
		c += s->items[i].state == st;
	return c;
}

/* Runs every item, up to s->jobs at once, until all ended or a stop signal. */
static int run_all(struct suite *s)
{
	size_t next = 0;
	double stop_at = 0;

	for (;;) {
		/* Reap. */
		for (size_t i = 0; i < s->n; i++) {
			int st;
			struct item *it = &s->items[i];
			if (it->state == ITEM_RUNNING && waitpid(it->pid, &st, WNOHANG) == it->pid)
				child_done(s, i, st);
		}
		double t = now_s();
		/* Timeouts: SIGTERM at the timeout, SIGKILL SUITE_KILL_GRACE later. */
		for (size_t i = 0; i < s->n; i++) {
			struct item *it = &s->items[i];
			if (it->state != ITEM_RUNNING)
				continue;
			if (!it->timed_out && !it->stopped && t - it->started > s->timeout) {
				it->timed_out = true;
				fprintf(stderr,
				        "dnschaos: %s: still running after %.0f s: stopping it\n",
				        it->path, s->timeout);
				kill(it->pid, SIGTERM);
			} else if ((it->timed_out && !it->killed &&
			            t - it->started > s->timeout + SUITE_KILL_GRACE) ||
			           (it->stopped && !it->killed && t > stop_at + SUITE_KILL_GRACE)) {
				it->killed = true;
				kill(it->pid, SIGKILL);
			}
		}
		if (suite_stop && !stop_at) {
			stop_at = t;
			fprintf(stderr,
			        "dnschaos: %s: stopping the scenarios that run, writing what "
			        "there is\n",
			        strsignal(suite_stop));
			for (size_t i = 0; i < s->n; i++)
				if (s->items[i].state == ITEM_RUNNING) {
					s->items[i].stopped = true;
					kill(s->items[i].pid, SIGTERM);
				}
		}
		/* Start. */
		while (!suite_stop && next < s->n &&
		       count_state(s, ITEM_RUNNING) < (size_t)s->jobs) {
			int rc = start_child(s, next);
			if (rc != 0) {
				struct item *it = &s->items[next];
				it->state = ITEM_DONE;
				it->code = DNSCHAOS_EXIT_INTERNAL;
				snprintf(it->status, sizeof it->status, "not started: %s",
				         strerror(-rc));
			}
			next++;
		}
		if (count_state(s, ITEM_RUNNING) == 0 && (suite_stop || next == s->n))
			break;
		struct timespec tick = {0, SUITE_POLL_NS};
		nanosleep(&tick, NULL);
	}
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].state == ITEM_WAITING) {
			s->items[i].code = DNSCHAOS_EXIT_INCONCLUSIVE;
			snprintf(s->items[i].status, sizeof s->items[i].status,
			         "not run (the suite was stopped)");
		}
	return 0;
}

/* ---- reports ---- */

/* The verdict word of an item: pass, fail, inconclusive, none, bad_input, error, not_run. */
static const char *item_verdict(const struct item *it)
{
	if (it->state == ITEM_WAITING)
		return "not_run";
	if (it->code == DNSCHAOS_EXIT_PASS && strcmp(it->verdict, "none") == 0)
		return "none";
	return code_word(it->code);
}

/* The JUnit testsuite of a scenario that has no report of its own (bad input, error, not run). */
static void junit_synth(FILE *f, const struct item *it)
{
	const char *v = item_verdict(it);
	fputs("  <testsuite name=\"", f);
	report_xml_text(f, it->path, true);
	fprintf(f, "\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"%.3f\">\n",
	        it->wall);
	fputs("    <properties>\n      <property name=\"scenario\" value=\"", f);
	report_xml_text(f, it->path, true);
	fprintf(f, "\"/>\n      <property name=\"verdict\" value=\"%s\"/>\n", v);
	fprintf(f, "      <property name=\"exit\" value=\"%d\"/>\n    </properties>\n", it->code);
	fputs("    <testcase classname=\"dnschaos.", f);
	report_xml_text(f, it->path, true);
	fprintf(f, "\" name=\"the run\" time=\"%.3f\">\n      <error message=\"", it->wall);
	report_xml_text(f, it->status, true);
	fprintf(f, "\" type=\"%s\">", v);
	report_xml_text(f, it->message[0] ? it->message : it->status, false);
	fputs("</error>\n    </testcase>\n  </testsuite>\n", f);
}

/* Whether the child's own testsuite stands for the item (else a synthesized one). */
static bool use_child_junit(const struct item *it)
{
	return it->junit && it->code <= DNSCHAOS_EXIT_INCONCLUSIVE;
}

/* Writes a report with writer into path, through outfile_open; 0 or -1 with err. */
static int write_report(const char *path, unsigned mode, void (*writer)(FILE *, struct suite *),
                        struct suite *s, char *err, size_t errlen)
{
	FILE *f;
	bool out = strcmp(path, "-") == 0;
	if (out) {
		f = stdout;
	} else {
		int fd = outfile_open(path, mode);
		if (fd < 0) {
			snprintf(err, errlen, "%s: cannot create it: %s", path, strerror(-fd));
			return -1;
		}
		f = fdopen(fd, "w");
		if (!f) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
	}
	writer(f, s);
	int bad = ferror(f) || fflush(f) != 0;
	int e = errno;
	if (!out && fclose(f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		snprintf(err, errlen, "%s: cannot write it: %s", path, strerror(e));
		if (!out)
			unlink(path);
		return -1;
	}
	return 0;
}

static void junit_write(FILE *f, struct suite *s)
{
	long tests = 0, failures = 0, errors = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct item *it = &s->items[i];
		if (use_child_junit(it) && it->passed >= 0) {
			tests += it->passed + it->failed + it->inconclusive;
			failures += it->failed;
			errors += it->inconclusive;
		} else if (!use_child_junit(it)) {
			tests++;
			errors++;
		}
	}
	fprintf(f,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<testsuites name=\"dnschaos\" tests=\"%ld\" failures=\"%ld\" errors=\"%ld\" "
	        "time=\"%.3f\">\n",
	        tests, failures, errors, now_s() - s->started);
	for (size_t i = 0; i < s->n; i++) {
		if (use_child_junit(&s->items[i]))
			fputs(s->items[i].junit, f);
		else
			junit_synth(f, &s->items[i]);
	}
	fputs("</testsuites>\n", f);
}

static void json_put_string(FILE *f, const char *s)
{
	size_t n = strlen(s);
	char *buf = malloc(JSON_ESCAPE_ROOM(n));
	putc('"', f);
	if (buf) {
		fwrite(buf, 1, json_escape(buf, s, n, n, JSON_ESC_PLAIN, NULL), f);
		free(buf);
	}
	putc('"', f);
}

/* The worst exit code of the items. */
static int worst(const struct suite *s)
{
	int w = 0;
	for (size_t i = 0; i < s->n; i++)
		if (severity(s->items[i].code) > severity(w))
			w = s->items[i].code;
	return w;
}

static void json_write(FILE *f, struct suite *s)
{
	fprintf(f, "{\n  \"schema\":1,\n  \"suite\":true,\n  \"exit\":%d,\n  \"verdict\":\"%s\"",
	        worst(s), code_word(worst(s)));
	fprintf(f, ",\n  \"jobs\":%d,\n  \"shard\":", s->jobs);
	if (s->shard_n)
		fprintf(f, "{\"k\":%d,\"n\":%d}", s->shard_k, s->shard_n);
	else
		fputs("null", f);
	fputs(",\n  \"seed\":", f);
	if (s->seed)
		fprintf(f, "%llu", s->seed_value);
	else
		fputs("null", f);
	fprintf(f, ",\n  \"wall\":%.3f,\n  \"scenarios\":[", now_s() - s->started);
	for (size_t i = 0; i < s->n; i++) {
		const struct item *it = &s->items[i];
		fputs(i ? ",\n    {" : "\n    {", f);
		fputs("\"file\":", f);
		json_put_string(f, it->path);
		fputs(",\"name\":", f);
		if (it->name)
			json_put_string(f, it->name);
		else
			fputs("null", f);
		fprintf(f, ",\"exit\":%d,\"verdict\":\"%s\",\"status\":", it->code,
		        item_verdict(it));
		json_put_string(f, it->status);
		fprintf(f, ",\"wall\":%.3f,\"timed_out\":%s,\"counts\":", it->wall,
		        it->timed_out ? "true" : "false");
		if (it->passed >= 0)
			fprintf(f, "{\"passed\":%ld,\"failed\":%ld,\"inconclusive\":%ld}",
			        it->passed, it->failed, it->inconclusive);
		else
			fputs("null", f);
		fputs(",\"message\":", f);
		json_put_string(f, it->code >= DNSCHAOS_EXIT_BAD_INPUT ? it->message : "");
		fputs(",\"report\":", f);
		fputs(it->json ? it->json : "null", f);
		putc('}', f);
	}
	fputs(s->n ? "\n  ]\n}\n" : "]\n}\n", f);
}

static void tap_write(FILE *f, struct suite *s)
{
	char buf[128];
	fprintf(f, "TAP version 13\n1..%zu\n", s->n);
	for (size_t i = 0; i < s->n; i++) {
		const struct item *it = &s->items[i];
		const char *v = item_verdict(it);
		bool ok = it->code == DNSCHAOS_EXIT_PASS;
		fprintf(f, "%s %zu - ", ok ? "ok" : "not ok", i + 1);
		report_tap_description(f, it->path);
		fprintf(f, " # %s", v);
		if (it->passed >= 0)
			fprintf(f, ": %ld passed, %ld failed, %ld inconclusive", it->passed,
			        it->failed, it->inconclusive);
		fputs("\n  ---\n", f);
		report_yaml_field(f, "verdict", v);
		snprintf(buf, sizeof buf, "%d", it->code);
		report_yaml_field(f, "exit", buf);
		if (it->name)
			report_yaml_field(f, "name", it->name);
		report_yaml_field(f, "status", it->status);
		snprintf(buf, sizeof buf, "%.3f", it->wall);
		report_yaml_field(f, "wall", buf);
		if (it->code >= DNSCHAOS_EXIT_BAD_INPUT && it->message[0])
			report_yaml_field(f, "message", it->message);
		fputs("  ...\n", f);
	}
	fprintf(f, "# suite: %s (exit %d), %zu scenarios\n", code_word(worst(s)), worst(s), s->n);
}

/* The one-screen table. */
static void summary(FILE *out, struct suite *s)
{
	size_t w = 8, counts[8] = {0};
	static const char *const words[] = {"pass",  "fail", "inconclusive", "bad_input",
	                                    "error", "none", "not_run"};
	for (size_t i = 0; i < s->n; i++) {
		size_t l = strlen(s->items[i].path);
		w = l > w ? l : w;
	}
	w = w > 50 ? 50 : w;
	fprintf(out, "%-*s  %-12s %5s %5s %5s %8s\n", (int)w, "scenario", "verdict", "pass", "fail",
	        "inc", "wall");
	for (size_t i = 0; i < s->n; i++) {
		const struct item *it = &s->items[i];
		const char *v = item_verdict(it);
		char up[16];
		size_t k = 0;
		for (; v[k] && k < sizeof up - 1; k++)
			up[k] = v[k] == '_' ? ' '
			                    : (char)(v[k] - 32 * (v[k] >= 'a' && v[k] <= 'z'));
		up[k] = 0;
		for (int j = 0; j < 7; j++)
			counts[j] += strcmp(v, words[j]) == 0;
		size_t l = strlen(it->path);
		/* A path too long for the column keeps its end, where the file name is. */
		const char *p = l > w ? it->path + (l - w + 3) : it->path;
		fprintf(out, "%s%-*s  %-12s", l > w ? "..." : "", (int)(l > w ? w - 3 : w), p, up);
		if (it->passed >= 0)
			fprintf(out, " %5ld %5ld %5ld", it->passed, it->failed, it->inconclusive);
		else
			fprintf(out, " %5s %5s %5s", "-", "-", "-");
		fprintf(out, " %6.1f s\n", it->wall);
		if (it->code >= DNSCHAOS_EXIT_BAD_INPUT || it->state == ITEM_WAITING ||
		    it->timed_out)
			fprintf(out, "    %s%s%s\n", it->status, it->message[0] ? ": " : "",
			        it->message);
		else if (it->cause && (strcmp(v, "fail") == 0 || strcmp(v, "inconclusive") == 0))
			fprintf(out, "    what went wrong: %s\n", it->cause);
	}
	int wc = worst(s);
	fprintf(out, "suite: %s (exit %d): %zu scenario%s", code_word(wc), wc, s->n,
	        s->n == 1 ? "" : "s");
	for (int j = 0; j < 7; j++)
		if (counts[j])
			fprintf(out, ", %zu %s", counts[j], words[j]);
	fprintf(out, "; jobs %d", s->jobs);
	if (s->shard_n)
		fprintf(out, ", shard %d/%d", s->shard_k, s->shard_n);
	fprintf(out, ", %.1f s\n", now_s() - s->started);
}

/* Removes the private directory and what the children left in it. */
static void tmp_remove(struct suite *s)
{
	DIR *d;
	struct dirent *de;
	if (!s->tmp[0] || !(d = opendir(s->tmp)))
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *p = path_join(s->tmp, de->d_name);
		if (p)
			unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(s->tmp);
}

int suite_main(int argc, char **argv)
{
	struct suite s;
	char **ops, **list = NULL, err[1024];
	int nops, code = DNSCHAOS_EXIT_BAD_INPUT;
	size_t nlist = 0;
	struct sigaction sa, old_int, old_term;
	bool handlers = false;

	memset(&s, 0, sizeof s);
	s.jobs = 1;
	s.timeout = SUITE_TIMEOUT_DEFAULT;
	s.file_mode = OUTFILE_MODE;
	s.started = now_s();
	int rc = parse_args(&s, argc, argv, &ops, &nops);
	if (rc > 0) {
		suite_usage(stdout);
		return DNSCHAOS_EXIT_PASS;
	}
	if (rc < 0)
		return DNSCHAOS_EXIT_BAD_INPUT;
	if (nops == 0) {
		fprintf(stderr, "dnschaos run: give scenario files or directories (see --help)\n");
		return DNSCHAOS_EXIT_BAD_INPUT;
	}
	if (collect(ops, nops, &list, &nlist) != 0)
		return DNSCHAOS_EXIT_BAD_INPUT;
	s.items = calloc(nlist ? nlist : 1, sizeof *s.items);
	if (!s.items) {
		fprintf(stderr, "dnschaos: out of memory\n");
		code = DNSCHAOS_EXIT_INTERNAL;
		goto out;
	}
	for (size_t i = 0; i < nlist; i++) {
		if (s.shard_n && (int)(i % (size_t)s.shard_n) != s.shard_k - 1)
			continue;
		struct item *it = &s.items[s.n++];
		it->path = list[i];
		list[i] = NULL;
		it->stem = stem_of(it->path);
		it->passed = it->failed = it->inconclusive = -1;
		if (!it->stem) {
			fprintf(stderr, "dnschaos: out of memory\n");
			code = DNSCHAOS_EXIT_INTERNAL;
			goto out;
		}
	}
	if (check_outputs(&s) != 0)
		goto out;
	/* $TMPDIR if set (a suite killed outright leaves it behind), else /tmp. */
	const char *tmpdir = getenv("TMPDIR");
	if (!tmpdir || tmpdir[0] != '/' || strlen(tmpdir) > sizeof s.tmp - 32)
		tmpdir = "/tmp";
	snprintf(s.tmp, sizeof s.tmp, "%s/dnschaos-suite-XXXXXX", tmpdir);
	if (!mkdtemp(s.tmp)) {
		fprintf(stderr, "dnschaos: cannot create a temporary directory: %s\n",
		        strerror(errno));
		s.tmp[0] = 0;
		code = DNSCHAOS_EXIT_INTERNAL;
		goto out;
	}
	if (s.n == 0)
		fprintf(stderr, "dnschaos: shard %d/%d: no scenario (%zu in the list)\n", s.shard_k,
		        s.shard_n, nlist);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	handlers = true;
	run_all(&s);

	code = worst(&s);
	FILE *con = s.tap ? stderr : stdout;
	if (!s.quiet)
		summary(con, &s);
	if (s.tap)
		tap_write(stdout, &s);
	fflush(stdout);
	if (s.junit && write_report(s.junit, s.file_mode, junit_write, &s, err, sizeof err) != 0) {
		fprintf(stderr, "dnschaos: --junit: %s\n", err);
		code = DNSCHAOS_EXIT_INTERNAL;
	}
	if (s.json && write_report(s.json, s.file_mode, json_write, &s, err, sizeof err) != 0) {
		fprintf(stderr, "dnschaos: --json: %s\n", err);
		code = DNSCHAOS_EXIT_INTERNAL;
	}
out:
	if (handlers) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
	}
	tmp_remove(&s);
	for (size_t i = 0; i < nlist; i++)
		free(list[i]);
	free(list);
	for (size_t i = 0; s.items && i < s.n; i++) {
		struct item *it = &s.items[i];
		free(it->path);
		free(it->stem);
		free(it->json);
		free(it->cause);
		free(it->junit);
		free(it->name);
	}
	free(s.items);
	return code;
}

/* ---- list ---- */

/* The first line of path's header comment, without "-- ", into out ("" if none). */
static void description(const char *path, char *out, size_t cap)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	out[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		size_t n = strcspn(line, "\r\n");
		line[n] = 0;
		if (n == 0 && !out[0])
			continue; /* blank lines before the header */
		if (strncmp(line, "--", 2) != 0 || strncmp(line, "--[[", 4) == 0)
			break;
		const char *t = line + 2;
		while (*t == '-')
			t++; /* "---" rules */
		while (*t == ' ' || *t == '\t')
			t++;
		if (*t) {
			snprintf(out, cap, "%.*s", (int)(cap - 1), t);
			break;
		}
	}
	fclose(f);
}

int suite_list(int argc, char **argv)
{
	char **v = NULL, desc[512];
	size_t n = 0, cap = 0, w = 0;
	const char *dir = "scenarios";
	int code = DNSCHAOS_EXIT_PASS;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		suite_usage(stdout);
		return DNSCHAOS_EXIT_PASS;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "dnschaos list: give at most one directory (see --help)\n");
		return DNSCHAOS_EXIT_BAD_INPUT;
	}
	if (argc == 2)
		dir = argv[1];
	if (dir_scenarios(dir, &v, &n, &cap) != 0) {
		code = DNSCHAOS_EXIT_BAD_INPUT;
		goto out;
	}
	qsort(v, n, sizeof *v, cmp_str);
	for (size_t i = 0; i < n; i++)
		w = strlen(v[i]) > w ? strlen(v[i]) : w;
	for (size_t i = 0; i < n; i++) {
		description(v[i], desc, sizeof desc);
		/* Shown as text: control characters would reach the terminal. */
		for (char *c = desc; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = ' ';
		printf("%-*s  %s\n", (int)w, v[i], desc[0] ? desc : "(no header comment)");
	}
	if (fflush(stdout) != 0)
		code = DNSCHAOS_EXIT_INTERNAL;
out:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return code;
}
