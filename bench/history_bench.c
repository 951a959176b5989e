/*
 * history_bench.c - how fast the history writer records query lines.
 *
 * Writes N query lines like the ones a fake resolver produces to a file
 * (default 2,000,000 to /tmp/dnschaos-history-bench.jsonl), flushing every
 * 20,000 lines as the runner's 100 ms timer would at 200,000 lines/s, and
 * prints lines/s, without a tap and with the live aggregate as its tap
 * (what --live and --metrics add to every line: record/live.h). For scale it also writes the same lines with fprintf
 * (which escapes nothing). Pass /dev/null as FILE to time the formatting alone.
 *
 * Usage: history_bench [LINES [FILE]]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "harness/record/history.h"
#include "harness/record/live.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const qnames[] = {"db-primary.internal.", "www.internal.", "api.svc.internal.",
                                     "mail.internal."};
static const char *const actions[] = {"answered", "answered", "answered", "delayed"};

static void feed(void *arg, const char *line, size_t len)
{
	live_feed(arg, line, len);
}

/* live: the live aggregate taps every line, as with --live or --metrics (NULL: no tap). */
static int bench_history(const char *path, uint64_t n, struct live *live, double *secs)
{
	char err[256];
	struct history *h = history_open(path, err, sizeof err);
	double t0;
	int rc = -1;

	if (!h) {
		fprintf(stderr, "history_bench: %s\n", err);
		goto out;
	}
	if (live)
		history_set_tap(h, feed, live);
	t0 = now();
	for (uint64_t i = 0; i < n; i++) {
		history_begin(h, (double)i * 5e-6, "query");
		history_str(h, "resolver", (i & 1) ? "r2" : "r1");
		history_str(h, "transport", "udp");
		history_str(h, "src", "127.0.0.1:53124");
		history_uint(h, "id", (uint16_t)(i * 40503u));
		history_str(h, "qname", qnames[i & 3]);
		history_str(h, "qtype", "A");
		history_str(h, "action", actions[i & 3]);
		history_str(h, "rcode", "NOERROR");
		history_uint(h, "serial", 2026112502);
		if ((i & 3) == 3)
			history_uint(h, "delay_ms", 250);
		history_end(h);
		if (i % 20000 == 19999)
			history_flush(h);
	}
	history_flush(h);
	*secs = now() - t0;
	if (history_error(h)) {
		fprintf(stderr, "history_bench: %s\n", history_error(h));
		goto out;
	}
	rc = 0;
out:
	history_close(h);
	return rc;
}

static int bench_fprintf(const char *path, uint64_t n, double *secs)
{
	FILE *f = fopen(path, "w");
	double t0;
	int rc = -1;

	if (!f) {
		perror(path);
		goto out;
	}
	t0 = now();
	for (uint64_t i = 0; i < n; i++) {
		fprintf(f,
		        "{\"t\":%.6f,\"type\":\"query\",\"resolver\":\"%s\",\"transport\":\"udp\","
		        "\"src\":\"127.0.0.1:53124\",\"id\":%u,\"qname\":\"%s\",\"qtype\":\"A\","
		        "\"action\":\"%s\",\"rcode\":\"NOERROR\",\"serial\":%u",
		        (double)i * 5e-6, (i & 1) ? "r2" : "r1", (unsigned)(uint16_t)(i * 40503u),
		        qnames[i & 3], actions[i & 3], 2026112502u);
		if ((i & 3) == 3)
			fprintf(f, ",\"delay_ms\":%u", 250u);
		fputs("}\n", f);
		if (i % 20000 == 19999)
			fflush(f);
	}
	fflush(f);
	*secs = now() - t0;
	rc = ferror(f) ? -1 : 0;
out:
	if (f)
		fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	const char *path = argc > 2 ? argv[2] : "/tmp/dnschaos-history-bench.jsonl";
	double best = 0, pbest = 0, lbest = 0;

	if (n == 0) {
		fprintf(stderr, "usage: history_bench [LINES [FILE]]\n");
		return 3;
	}
	/* Three rounds, each on a fresh file; the history's is the one left behind. */
	for (int round = 1; round <= 3; round++) {
		double secs = 0, psecs = 0, lsecs = 0;
		struct live *live = live_create();

		if (!live)
			return 4;
		unlink(path);
		if (bench_fprintf(path, n, &psecs) != 0)
			return 4;
		unlink(path);
		if (bench_history(path, n, live, &lsecs) != 0)
			return 4;
		live_destroy(live);
		unlink(path);
		if (bench_history(path, n, NULL, &secs) != 0)
			return 4;
		printf("round %d: history %.0f lines/s (%.3f s), with the live tap %.0f lines/s "
		       "(%.3f s), fprintf %.0f lines/s (%.3f s)\n",
		       round, (double)n / secs, secs, (double)n / lsecs, lsecs, (double)n / psecs,
		       psecs);
		if (round == 1 || secs < best)
			best = secs;
		if (round == 1 || lsecs < lbest)
			lbest = lsecs;
		if (round == 1 || psecs < pbest)
			pbest = psecs;
	}
	printf("history: %" PRIu64 " lines to %s: %.0f lines/s (best of 3)\n", n, path,
	       (double)n / best);
	printf("history with the live aggregate as its tap (--live, --metrics): %.0f lines/s, "
	       "%.2f us more a line (best of 3)\n",
	       (double)n / lbest, (lbest - best) / (double)n * 1e6);
	printf("fprintf, for scale (no escaping): %.0f lines/s\n", (double)n / pbest);
	return 0;
}
