/*
 * watch.c - the live views on the run's loop (watch.h): a history tap
 * feeding record/live.c, a 1 s timer drawing the dashboard or a status
 * line, and libevent's evhttp answering GET /metrics. Each view is written
 * into memory first and then in one go, so a frame is never half drawn.
 */
#include "harness/run/watch.h"
#include "harness/record/checker.h"
#include "harness/record/history.h"
#include "harness/record/live.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

struct watch {
	struct event_base *base;
	struct history *hist;
	double (*now)(void *arg);
	void *now_arg;
	struct watch_options opt;
	pthread_mutex_t lock; /* the aggregate's */
	struct live *live;
	bool oom_said;
	struct event *tick;
	bool cleared; /* the screen was cleared before the first frame */
	struct evhttp *http;
	int fd; /* the listening socket until its listener owns it */
};

/* The history's tap: every line, as it is written. */
static void on_line(void *arg, const char *line, size_t len)
{
	struct watch *w = arg;
	pthread_mutex_lock(&w->lock);
	if (live_feed(w->live, line, len) != 0)
		w->oom_said = true; /* shown figures may miss lines; nothing else to do */
	pthread_mutex_unlock(&w->lock);
}

/* Run time to the microsecond, as the history writes t: a view's window uses it as shown. */
static double now_us(struct watch *w)
{
	double t = w->now(w->now_arg);
	return (double)(long long)(t * 1e6 + 0.5) / 1e6;
}

/* Writes one view of the aggregate to a memory stream; returns its text (free it) or NULL. */
static char *render(struct watch *w, int view, size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);
	int rc;
	if (!m)
		return NULL;
	double now = now_us(w);
	struct winsize ws = {0};
	/* The window's size from the kernel (ssh and tmux keep it current): no terminal query. */
	if (view == 0 && ioctl(fileno(w->opt.out), TIOCGWINSZ, &ws) != 0)
		ws.ws_row = ws.ws_col = 0;
	pthread_mutex_lock(&w->lock);
	if (view == 0)
		rc = live_write_dashboard(w->live, now, w->opt.metrics_url, true, ws.ws_row,
		                          ws.ws_col, m);
	else if (view == 1)
		rc = live_write_status(w->live, now, m);
	else
		rc = live_write_metrics(w->live, now, m);
	pthread_mutex_unlock(&w->lock);
	if (fclose(m) != 0 || rc != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void draw(struct watch *w)
{
	size_t len;
	char *text;
	if (w->opt.live == WATCH_LIVE_OFF)
		return;
	text = render(w, w->opt.live == WATCH_LIVE_SCREEN ? 0 : 1, &len);
	if (!text)
		return;
	if (w->opt.live == WATCH_LIVE_SCREEN && !w->cleared) {
		fputs("\033[H\033[2J", w->opt.out);
		w->cleared = true;
	}
	fwrite(text, 1, len, w->opt.out);
	fflush(w->opt.out);
	free(text);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	draw(arg);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct watch *w = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *body = evbuffer_new();
	size_t len;
	char *text;

	if (!body) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (!uri || (strcmp(uri, "/metrics") != 0 && strncmp(uri, "/metrics?", 9) != 0)) {
		evbuffer_add_printf(body, "only /metrics is served here\n");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		                  "text/plain; charset=utf-8");
		evhttp_send_reply(req, HTTP_NOTFOUND, "Not Found", body);
		goto out;
	}
	text = render(w, 2, &len);
	if (!text) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		goto out;
	}
	evbuffer_add(body, text, len);
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
out:
	evbuffer_free(body);
}

struct watch *watch_start(struct event_base *base, struct history *h, double (*now)(void *arg),
                          void *arg, const struct watch_options *o, char *err, size_t errlen)
{
	struct watch *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->base = base;
	w->now = now;
	w->now_arg = arg;
	w->opt = *o;
	w->fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	w->live = live_create();
	if (!w->live) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < o->nexp; i++)
		if (live_follow(w->live, &o->expect[i]) != 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	if (o->live != WATCH_LIVE_OFF) {
		struct timeval one = {1, 0};
		w->tick = event_new(base, -1, EV_PERSIST, on_tick, w);
		if (!w->tick || event_add(w->tick, &one) != 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (o->metrics_fd >= 0) {
		w->fd = fcntl(o->metrics_fd, F_DUPFD_CLOEXEC, 3);
		if (w->fd < 0) {
			snprintf(err, errlen, "--metrics: %s", strerror(errno));
			goto fail;
		}
		w->http = evhttp_new(base);
		if (!w->http) {
			snprintf(err, errlen, "--metrics: cannot create the HTTP server");
			goto fail;
		}
		evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
		evhttp_set_gencb(w->http, on_request, w);
		evhttp_set_timeout(w->http, 5);
		/* Closed with the listener, which evhttp_free frees. */
		struct evconnlistener *lis = evconnlistener_new(
		        base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, w->fd);
		if (!lis) {
			snprintf(err, errlen, "--metrics: cannot serve the socket");
			goto fail;
		}
		w->fd = -1;
		if (!evhttp_bind_listener(w->http, lis)) {
			evconnlistener_free(lis);
			snprintf(err, errlen, "--metrics: cannot serve the socket");
			goto fail;
		}
	}
	w->hist = h;
	history_set_tap(h, on_line, w);
	return w;
fail:
	watch_destroy(w);
	return NULL;
}

void watch_finish(struct watch *w)
{
	if (!w)
		return;
	if (w->tick)
		event_del(w->tick);
	draw(w);
}

void watch_destroy(struct watch *w)
{
	if (!w)
		return;
	if (w->hist)
		history_set_tap(w->hist, NULL, NULL);
	if (w->tick)
		event_free(w->tick);
	if (w->http)
		evhttp_free(w->http);
	if (w->fd >= 0)
		close(w->fd);
	live_destroy(w->live);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
