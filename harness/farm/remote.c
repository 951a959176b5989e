/*
 * remote.c - a fakeresolver daemon driven over its control connection (see
 * remote.h): commands queued and sent one at a time on the run's loop, each
 * reply recorded as a `remote` line, and the `fault` and `state` lines of a
 * local fake resolver written from what the daemon confirmed. The daemon
 * streams its queries on the same connection (`watch`): each becomes the
 * `query` line a local fake resolver writes, joined to the client's lookup.
 */
#include "harness/farm/remote.h"
#include "fakeresolver/clock.h"
#include "harness/env.h"
#include "harness/record/hist.h"
#include "harness/record/history.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <ldns/ldns.h>

/* How long the end of the run waits for the daemon's last replies. */
#define REMOTE_END_S 2.0
/* Queries waiting in the daemon's capacity queue whose join is kept, at most. */
#define REMOTE_ARRIVALS_MAX 65536
/* Read per turn of the loop: a burst of events is taken whole, ahead of the replies its
 * clients' queries got (which would end their lookups before the join saw them). */
#define REMOTE_READ_MAX (256 * 1024)

enum rverb { RC_INJECT, RC_CAPACITY, RC_STOP, RC_START, RC_HEAL, RC_PUBLISH };

/* A command waiting to be sent, or sent and waiting for its reply. */
struct rcmd {
	struct rcmd *next;
	enum rverb verb;
	uint32_t id;            /* the fault it makes (inject, capacity, stop) or heals (0: all) */
	struct fault_spec spec; /* RC_INJECT */
	double duration, qps;
	unsigned queue;
	char *path;             /* RC_PUBLISH, owned */
	char line[CONTROL_LINE_MAX + 1];
};

/* A query waiting in the daemon's capacity queue, joined when its `arrive` event came. */
struct rarrival {
	uint64_t tag; /* the daemon's; 0: taken */
	double at;    /* run time, as its line would have it */
	bool joined;
	struct client_join join;
	enum answer_transport transport;
	struct addr peer;
	struct wire_query q;
	bool question;
};

/* A fault id the daemon gave, and the run's: kept after the heal, for events that come late. */
struct rid {
	uint32_t remote_id, id;
};

/* A fault the daemon confirmed and has not healed. */
struct rfault {
	struct farm_remote *r;
	uint32_t id;        /* run-wide */
	uint32_t remote_id; /* the daemon's */
	const char *kind;
	bool stop;
	bool timed;         /* has a duration: the daemon heals it itself */
	double until;       /* then: when (run time) the heal is recorded */
	struct event *timer; /* records the heal when the duration runs out */
};

struct farm_remote {
	struct run_env *env;
	struct farm_remote_config cfg;
	int fd;                  /* connected and authenticated, before it goes on the loop */
	struct bufferevent *bev; /* on the loop */
	bool connected;
	bool stopped;            /* a stop the daemon confirmed, not yet healed */
	struct rcmd *head, *tail; /* to send */
	struct rcmd *inflight;
	/* At the end, commands go here instead of into the bufferevent's output
	 * (whose start the bufferevent freezes: only it may write from there). */
	struct evbuffer *end_out;
	struct rfault **faults;
	size_t nfaults, cap;
	/* The daemon's queries (`watch`): asked during farm_remote_connect. */
	bool watch_asked;
	bool watching;         /* the daemon answered `ok now=...` */
	char watch_reply[256]; /* recorded once the history is open */
	double watch_rtt;      /* the round trip of `watch`, s: twice the clock's error bound */
	double offset;         /* env_clock() = the daemon's t + offset */
	struct hist_line_parser *parser;
	struct rid *ids;
	size_t nids, capids;
	struct rarrival *arrivals;
	size_t arr_head, arr_len, arr_cap;
	uint64_t bad_events; /* events that did not parse: the first is a warning */
	uint64_t early;      /* events from before the run's clock started: not written */
};

struct farm_remote *farm_remote_create(struct run_env *env, const struct farm_remote_config *c)
{
	struct farm_remote *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->env = env;
	r->cfg = *c;
	r->fd = -1;
	return r;
}

static void cmd_free(struct rcmd *c)
{
	if (!c)
		return;
	free(c->path);
	free(c);
}

static void rfault_free(struct rfault *f)
{
	if (f->timer)
		event_free(f->timer);
	free(f);
}

void farm_remote_destroy(struct farm_remote *r)
{
	if (!r)
		return;
	if (r->bev)
		bufferevent_free(r->bev);
	if (r->fd >= 0)
		close(r->fd);
	while (r->head) {
		struct rcmd *c = r->head;
		r->head = c->next;
		cmd_free(c);
	}
	cmd_free(r->inflight);
	for (size_t i = 0; i < r->nfaults; i++)
		rfault_free(r->faults[i]);
	free(r->faults);
	free(r->ids);
	free(r->arrivals);
	hist_line_parser_free(r->parser);
	memset(r->cfg.token, 0, sizeof r->cfg.token);
	free(r);
}

const char *farm_remote_name(const struct farm_remote *r)
{
	return r->cfg.name;
}

const struct addr *farm_remote_addr(const struct farm_remote *r)
{
	return &r->cfg.addr;
}

const char *farm_remote_state(const struct farm_remote *r)
{
	if (!r->connected)
		return "disconnected";
	return r->stopped ? "down" : "up";
}

/* ---- the history ---- */

static void warn(const struct farm_remote *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A failed command is a warning, not the end of the run. */
static void warn(const struct farm_remote *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "dnschaos: warning: %s%sremote '%s': ", r->cfg.where,
		r->cfg.where[0] ? ": " : "", r->cfg.name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* One command and what the daemon answered (or why there was no answer); rtt_s >= 0: its round
 * trip. */
static void record_remote_rtt(struct farm_remote *r, const char *command, const char *reply,
                              bool ok, double rtt_s)
{
	struct history *h = env_history(r->env);
	char buf[80];
	env_say(r->env, "%s: remote: %s -> %s", r->cfg.name, command, reply);
	if (!h)
		return;
	history_begin(h, env_now(r->env), "remote");
	history_str(h, "target", r->cfg.name);
	history_str(h, "control", addr_str(&r->cfg.control, buf, sizeof buf));
	history_str(h, "command", command);
	history_str(h, "reply", reply);
	history_bool(h, "ok", ok);
	if (rtt_s >= 0)
		history_double(h, "rtt_ms", rtt_s * 1000, 3);
	history_end(h);
}

static void record_remote(struct farm_remote *r, const char *command, const char *reply, bool ok)
{
	record_remote_rtt(r, command, reply, ok, -1);
}

static void record_state(struct farm_remote *r, const char *state, const char *why)
{
	struct history *h = env_history(r->env);
	char buf[80];
	if (!h)
		return;
	history_begin(h, env_now(r->env), "state");
	history_str(h, "resolver", r->cfg.name);
	history_str(h, "state", state);
	history_str(h, "why", why);
	history_str(h, "address", addr_str(&r->cfg.addr, buf, sizeof buf));
	history_end(h);
}

/* ---- faults as the daemon confirmed them ---- */

static size_t rfault_find(const struct farm_remote *r, uint32_t id)
{
	for (size_t i = 0; i < r->nfaults; i++)
		if (r->faults[i]->id == id)
			return i;
	return SIZE_MAX;
}

/* Records fault i healed (and the ports open, for a stop) and forgets it. */
static void rfault_healed(struct farm_remote *r, size_t i, const char *why)
{
	struct rfault *f = r->faults[i];
	farm_fault_record(r->env, r->cfg.name, f->id, f->kind, "heal", NULL, 0, 0, 0);
	if (f->stop) {
		r->stopped = false;
		record_state(r, "up", why);
	}
	rfault_free(f);
	memmove(&r->faults[i], &r->faults[i + 1], (r->nfaults - i - 1) * sizeof r->faults[0]);
	r->nfaults--;
}

static void rfault_expired(evutil_socket_t fd, short what, void *arg)
{
	struct rfault *f = arg;
	(void)fd;
	(void)what;
	size_t i = rfault_find(f->r, f->id);
	if (i != SIZE_MAX)
		rfault_healed(f->r, i, "duration");
}

static struct rfault *rfault_add(struct farm_remote *r, uint32_t id, uint32_t remote_id,
				 const char *kind, double duration)
{
	struct rfault *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	if (r->nfaults == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct rfault **p = realloc(r->faults, cap * sizeof *p);
		if (!p) {
			free(f);
			return NULL;
		}
		r->faults = p;
		r->cap = cap;
	}
	f->r = r;
	f->id = id;
	f->remote_id = remote_id;
	f->kind = kind;
	if (duration > 0) {
		f->timed = true;
		f->timer = evtimer_new(env_base(r->env), rfault_expired, f);
		if (!f->timer) {
			free(f);
			return NULL;
		}
		struct timeval tv = clock_timeval(duration);
		evtimer_add(f->timer, &tv);
		f->until = env_now(r->env) + duration;
	}
	r->faults[r->nfaults++] = f;
	return f;
}

bool farm_remote_fault_at(const struct farm_remote *r, size_t i, uint32_t *id, const char **kind,
                          double *left)
{
	if (i >= r->nfaults)
		return false;
	const struct rfault *f = r->faults[i];
	*id = f->id;
	*kind = f->kind;
	*left = f->timed ? f->until - env_now(r->env) : -1;
	if (f->timed && *left < 0)
		*left = 0;
	return true;
}

/* ---- the daemon's queries (`watch`) ---- */

/* Remembers the run's id of a fault the daemon confirmed with its own. 0 or -1. */
static int rid_add(struct farm_remote *r, uint32_t remote_id, uint32_t id)
{
	if (r->nids == r->capids) {
		size_t cap = r->capids ? r->capids * 2 : 16;
		struct rid *p = realloc(r->ids, cap * sizeof *p);
		if (!p)
			return -1;
		r->ids = p;
		r->capids = cap;
	}
	r->ids[r->nids++] = (struct rid){remote_id, id};
	return 0;
}

/* The run's id of the daemon's fault remote_id; 0 for one the run did not set. */
static uint32_t rid_find(const struct farm_remote *r, uint32_t remote_id)
{
	for (size_t i = r->nids; remote_id && i-- > 0;)
		if (r->ids[i].remote_id == remote_id)
			return r->ids[i].id;
	return 0;
}

/* The run's id of the capacity limit in force on the daemon; 0 if none. */
static uint32_t capacity_id(const struct farm_remote *r)
{
	for (size_t i = 0; i < r->nfaults; i++)
		if (strcmp(r->faults[i]->kind, "capacity") == 0)
			return r->faults[i]->id;
	return 0;
}

/* A malformed event: counted and skipped; the first is a warning (a hostile or broken daemon). */
static void bad_event(struct farm_remote *r, const char *why, const char *line)
{
	if (r->bad_events++ == 0)
		warn(r, "an event that does not parse (%s), skipped, as are any later ones: %.200s",
		     why, line);
}

/*
 * The daemon's time d (its seconds) on the run's clock. The offset comes
 * from the midpoint of the `watch` round trip, so the result is within half
 * of it (plus any drift of the daemon's clock against ours) of the moment.
 */
static double daemon_to_run(const struct farm_remote *r, double d)
{
	return d + r->offset - r->env->t0;
}

/*
 * The t of an event's line: its time on the run's clock, but never before
 * the last line written (t never decreases) nor after now (it has happened).
 */
static double line_t(const struct farm_remote *r, double run_t)
{
	struct history *h = env_history(r->env);
	double now = env_now(r->env), last = h ? history_last_t(h) : 0;
	if (run_t < last)
		run_t = last;
	return run_t > now ? now : run_t;
}

/* An event's fields, as hist_line_parse hands them over (strings valid until the next parse). */
struct revent {
	bool bad;
	const char *transport, *src, *qname, *qtype, *action, *rcode;
	bool has_t, has_id, has_an, has_serial, has_fault, has_delay_fault, has_delay, has_queue,
	        has_tag;
	double t, id, an, serial, fault, delay_fault, delay_ms, queue_ms, tag;
	bool tc;
};

static bool key_is(const struct hist_field *f, const char *k)
{
	return f->klen == strlen(k) && memcmp(f->key, k, f->klen) == 0;
}

static void event_field(void *arg, const struct hist_field *f)
{
	struct revent *e = arg;
	static const char *const strs[] = {"transport", "src", "qname", "qtype", "action", "rcode"};
	const char **sdst[] = {&e->transport, &e->src, &e->qname, &e->qtype, &e->action, &e->rcode};
	static const char *const nums[] = {"t",           "id",       "an",       "serial", "fault",
	                                   "delay_fault", "delay_ms", "queue_ms", "tag"};
	double *ndst[] = {&e->t,           &e->id,       &e->an,       &e->serial, &e->fault,
	                  &e->delay_fault, &e->delay_ms, &e->queue_ms, &e->tag};
	bool *nhas[] = {&e->has_t,      &e->has_id,    &e->has_an,
	                &e->has_serial, &e->has_fault, &e->has_delay_fault,
	                &e->has_delay,  &e->has_queue, &e->has_tag};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		if (key_is(f, strs[i])) {
			if (f->kind != HIST_V_STRING || strlen(f->s) != f->slen)
				e->bad = true;
			else
				*sdst[i] = f->s;
			return;
		}
	for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
		if (key_is(f, nums[i])) {
			if (f->kind != HIST_V_NUMBER || !isfinite(f->num) || f->num < 0)
				e->bad = true;
			*ndst[i] = f->num;
			*nhas[i] = true;
			return;
		}
	if (key_is(f, "tc")) {
		if (f->kind != HIST_V_BOOL)
			e->bad = true;
		e->tc = f->b;
	}
	/* Other fields: a newer daemon's, ignored as a history reader ignores them. */
}

/* A whole number from 0 to max. */
static bool whole(double v, double max)
{
	return v >= 0 && v <= max && v == floor(v);
}

/* A short word of capitals and digits (an rcode's name, TYPE65534). */
static bool word(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/*
 * Reads the question of an event (transport, src, id, and qname with qtype
 * if there): into what the join and a line need. NULL, or why it is malformed.
 */
static const char *event_question(const struct revent *e, enum answer_transport *tp,
                                  struct addr *peer, struct wire_query *q, bool *question)
{
	char err[128];
	memset(q, 0, sizeof *q);
	if (!e->transport || !e->src || !e->has_id)
		return "transport, src or id missing";
	if (strcmp(e->transport, "udp") == 0)
		*tp = ANSWER_UDP;
	else if (strcmp(e->transport, "tcp") == 0)
		*tp = ANSWER_TCP;
	else
		return "transport is neither udp nor tcp";
	if (addr_parse(e->src, 0, peer, err, sizeof err) != 0)
		return "src is not an address";
	if (!whole(e->id, 65535))
		return "id is not a DNS id";
	q->id = (uint16_t)e->id;
	*question = e->qname != NULL;
	if (!e->qname != !e->qtype)
		return "qname without qtype, or the reverse";
	if (!*question)
		return NULL;
	if (!word(e->qtype, 10))
		return "qtype is not a type";
	ldns_rr_type type = ldns_get_rr_type_by_name(e->qtype);
	ldns_rdf *dn = NULL;
	size_t n = strlen(e->qname);
	if (!type || n == 0 || n > 4 * WIRE_NAME_MAX || e->qname[n - 1] != '.' ||
	    ldns_str2rdf_dname(&dn, e->qname) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(dn);
		return "qname or qtype does not parse";
	}
	if (ldns_rdf_size(dn) > WIRE_NAME_MAX) {
		ldns_rdf_deep_free(dn);
		return "qname is too long";
	}
	q->qname_len = ldns_rdf_size(dn);
	memcpy(q->qname, ldns_rdf_data(dn), q->qname_len);
	ldns_rdf_deep_free(dn);
	wire_name_lower(q->qname);
	q->qtype = (uint16_t)type;
	return NULL;
}

/* The question's fields of a line: transport, src, id, qname and qtype (as a local resolver writes
 * them). */
static void write_question(struct history *h, enum answer_transport tp, const struct addr *peer,
                           const struct wire_query *q, bool question)
{
	char buf[1024], tb[16];
	history_str(h, "transport", tp == ANSWER_UDP ? "udp" : "tcp");
	history_str(h, "src", addr_str(peer, buf, sizeof buf));
	history_uint(h, "id", q->id);
	if (!question)
		return;
	wire_name_to_str(q->qname, buf, sizeof buf);
	history_str(h, "qname", buf);
	history_str(h, "qtype", answer_type_str(q->qtype, tb, sizeof tb));
}

/* Joins a query the daemon saw to a client's lookup, now (as a local resolver does on arrival). */
static bool join_now(struct farm_remote *r, const struct addr *peer, const struct wire_query *q,
                     struct client_join *j)
{
	return env_join(r->env, &r->cfg.addr, peer, q->qname, q->qname_len, q->qtype, (int)q->id,
	                j);
}

/* The join made when the query with this tag arrived; NULL if there is none. Takes it. */
static struct rarrival *arrival_take(struct farm_remote *r, uint64_t tag)
{
	struct rarrival *a = NULL;
	for (size_t i = r->arr_head; i < r->arr_len && !a; i++)
		if (r->arrivals[i].tag == tag)
			a = &r->arrivals[i];
	if (!a)
		return NULL;
	a->tag = 0;
	return a; /* valid until the next arrival: the caller copies what it needs */
}

static void arrivals_compact(struct farm_remote *r)
{
	while (r->arr_head < r->arr_len && r->arrivals[r->arr_head].tag == 0)
		r->arr_head++;
	if (r->arr_head == r->arr_len)
		r->arr_head = r->arr_len = 0;
}

/*
 * The queries still waiting in the daemon's capacity queue will get no
 * event (the daemon stopped, the connection is gone, the run ends): each
 * gets its line now, dropped, as a local resolver's do, so that every query
 * a lookup's wire counts has one.
 */
static void arrivals_drop(struct farm_remote *r)
{
	struct history *h = env_history(r->env);
	uint32_t cap = capacity_id(r);
	for (size_t i = r->arr_head; h && i < r->arr_len; i++) {
		const struct rarrival *a = &r->arrivals[i];
		if (!a->tag)
			continue;
		double t = line_t(r, env_now(r->env));
		history_begin(h, t, "query");
		history_str(h, "resolver", r->cfg.name);
		write_question(h, a->transport, &a->peer, &a->q, a->question);
		if (a->question && a->joined)
			farm_write_join(h, &a->join);
		history_str(h, "action", "dropped");
		if (cap)
			history_uint(h, "fault", cap);
		history_double(h, "queue_ms", t > a->at ? (t - a->at) * 1000 : 0, 3);
		history_bool(h, "remote", true);
		history_end(h);
	}
	r->arr_head = r->arr_len = 0;
}

/* `arrive {...}`: a query entered the daemon's capacity queue; join it now. */
static void on_arrive(struct farm_remote *r, const struct revent *e, const char *line)
{
	struct rarrival a;
	memset(&a, 0, sizeof a);
	const char *why = event_question(e, &a.transport, &a.peer, &a.q, &a.question);
	if (!why && (!e->has_t || !e->has_tag || !whole(e->tag, 9007199254740992.0) || !e->tag))
		why = "t or tag missing";
	if (why)
		return bad_event(r, why, line);
	double run_t = daemon_to_run(r, e->t);
	if (run_t < -r->watch_rtt) {
		r->early++;
		return;
	}
	arrivals_compact(r);
	if (r->arr_len - r->arr_head >= REMOTE_ARRIVALS_MAX)
		return; /* its query's line will be written unjoined */
	if (r->arr_len == r->arr_cap) {
		if (r->arr_head > 0) {
			memmove(r->arrivals, r->arrivals + r->arr_head,
			        (r->arr_len - r->arr_head) * sizeof *r->arrivals);
			r->arr_len -= r->arr_head;
			r->arr_head = 0;
		} else {
			size_t cap = r->arr_cap ? r->arr_cap * 2 : 64;
			struct rarrival *p = realloc(r->arrivals, cap * sizeof *p);
			if (!p)
				return; /* out of memory: its line says nothing of the join */
			r->arrivals = p;
			r->arr_cap = cap;
		}
	}
	a.tag = (uint64_t)e->tag;
	a.at = line_t(r, run_t);
	a.joined = a.question && join_now(r, &a.peer, &a.q, &a.join);
	r->arrivals[r->arr_len++] = a;
}

/* `query {...}`: the query's line, as a local fake resolver writes it, marked remote. */
static void on_query(struct farm_remote *r, const struct revent *e, const char *line)
{
	static const char *const actions[] = {"answered", "dropped",    "rcode", "truncated",
	                                      "wrong",    "queue-full", "axfr",  NULL};
	struct history *h = env_history(r->env);
	enum answer_transport tp;
	struct addr peer;
	struct wire_query q;
	bool question = false, known = false;
	const char *why = event_question(e, &tp, &peer, &q, &question);
	for (size_t i = 0; !why && e->action && actions[i]; i++)
		known |= strcmp(e->action, actions[i]) == 0;
	if (!why && (!e->has_t || !known))
		why = "t missing, or an action the history does not know";
	if (!why && (!e->rcode != !e->has_an || (e->rcode && !word(e->rcode, 15)) ||
	             (e->has_an && !whole(e->an, 65535)) || (e->tc && !e->rcode)))
		why = "rcode and an do not go together";
	if (!why &&
	    ((e->has_serial && !whole(e->serial, 4294967295.0)) ||
	     (e->has_fault && !whole(e->fault, 4294967295.0)) ||
	     (e->has_delay_fault && (!whole(e->delay_fault, 4294967295.0) || !e->has_delay)) ||
	     (e->has_tag && !whole(e->tag, 9007199254740992.0))))
		why = "a number out of range";
	if (why)
		return bad_event(r, why, line);
	double run_t = daemon_to_run(r, e->t);
	if (run_t < -r->watch_rtt) {
		r->early++;
		return;
	}
	double t = line_t(r, run_t), queue_ms = e->has_queue ? e->queue_ms : 0;
	struct client_join j;
	bool joined = false;
	if (e->has_tag && e->tag > 0) {
		struct rarrival *a = arrival_take(r, (uint64_t)e->tag);
		if (a) {
			joined = a->joined;
			j = a->join;
			/* Its line's t less queue_ms is never later than its arrival's, so the
			 * lookup it was joined to was alive then (docs/history.md, the join). */
			if ((t - a->at) * 1000 > queue_ms)
				queue_ms = (t - a->at) * 1000;
		}
		arrivals_compact(r);
	} else if (question && !e->has_queue) {
		joined = join_now(r, &peer, &q, &j);
	}
	if (!h)
		return;
	history_begin(h, t, "query");
	history_str(h, "resolver", r->cfg.name);
	write_question(h, tp, &peer, &q, question);
	if (question && joined)
		farm_write_join(h, &j);
	history_str(h, "action", e->action);
	if (e->rcode) {
		history_str(h, "rcode", e->rcode);
		history_uint(h, "an", (uint64_t)e->an);
		if (e->tc)
			history_bool(h, "tc", true);
	}
	if (e->has_serial)
		history_uint(h, "serial", (uint64_t)e->serial);
	if (e->has_fault) {
		uint32_t id = rid_find(r, (uint32_t)e->fault);
		/* Another controller's fault: the run has no id for it; the daemon's is kept. */
		if (id)
			history_uint(h, "fault", id);
		else
			history_uint(h, "remote_fault", (uint64_t)e->fault);
	}
	if (e->has_delay) {
		uint32_t id = e->has_delay_fault ? rid_find(r, (uint32_t)e->delay_fault) : 0;
		if (id)
			history_uint(h, "delay_fault", id);
		else if (e->has_delay_fault)
			history_uint(h, "remote_delay_fault", (uint64_t)e->delay_fault);
		history_double(h, "delay_ms", e->delay_ms, 3);
	}
	if (queue_ms > 0)
		history_double(h, "queue_ms", queue_ms, 3);
	history_bool(h, "remote", true);
	history_end(h);
}

/* `lost N from=T to=T`: the daemon dropped N events (it could not send them fast enough). */
static void on_lost(struct farm_remote *r, const char *line)
{
	struct history *h = env_history(r->env);
	unsigned long long n;
	double from, to;
	int end = 0;
	if (sscanf(line, "lost %llu from=%lf to=%lf%n", &n, &from, &to, &end) != 3 ||
	    line[end] != '\0' || !isfinite(from) || !isfinite(to) || from > to || n == 0)
		return bad_event(r, "a lost line is 'lost N from=T to=T'", line);
	double now = env_now(r->env);
	double a = fmin(fmax(daemon_to_run(r, from), 0), now);
	double b = fmin(fmax(daemon_to_run(r, to), a), now);
	warn(r,
	     "the daemon dropped %llu of its query events from %.3f s to %.3f s (its control "
	     "connection was not read fast enough): checks that read its queries then are "
	     "inconclusive",
	     n, a, b);
	if (!h)
		return;
	history_begin(h, now, "lost");
	history_str(h, "target", r->cfg.name);
	history_uint(h, "queries", n);
	history_double(h, "from", a, 6);
	history_double(h, "to", b, 6);
	history_end(h);
}

/* A line from the daemon that is an event, not a reply: handled here. False for a reply. */
static bool take_event(struct farm_remote *r, const char *line, size_t n)
{
	bool query = strncmp(line, "query ", 6) == 0, arrive = strncmp(line, "arrive ", 7) == 0;
	if (strncmp(line, "lost ", 5) == 0) {
		on_lost(r, line);
		return true;
	}
	if (!query && !arrive)
		return false;
	if (!r->watching) {
		bad_event(r, "an event before `watch` was answered", line);
		return true;
	}
	struct revent e;
	const char *why = "out of memory";
	size_t skip = query ? 6 : 7;
	memset(&e, 0, sizeof e);
	if (!r->parser)
		r->parser = hist_line_parser_new();
	if (!r->parser ||
	    hist_line_parse(r->parser, line + skip, n - skip, event_field, &e, &why) != 0)
		bad_event(r, why, line);
	else if (e.bad)
		bad_event(r, "a field of the wrong type", line);
	else if (query)
		on_query(r, &e, line);
	else
		on_arrive(r, &e, line);
	return true;
}

/* ---- commands ---- */

/* The command line for c, as the daemon parses it. False: nothing to send. */
static bool cmd_format(struct farm_remote *r, struct rcmd *c)
{
	char buf[1100], name[1024], rb[16], tb[16];
	size_t n = 0, cap = sizeof c->line;
#define PUT(...)                                                                  \
	do {                                                                      \
		int w_ = snprintf(c->line + n, n < cap ? cap - n : 0, __VA_ARGS__); \
		n += w_ > 0 ? (size_t)w_ : 0;                                     \
	} while (0)
	switch (c->verb) {
	case RC_INJECT: {
		const struct fault_spec *s = &c->spec;
		const struct fault_match *m = &s->match;
		PUT("%s", fault_kind_name(s->kind));
		if (s->kind == FAULT_DELAY)
			PUT(" ms=%.3f jitter=%.3f dist=%s", s->delay_s * 1000, s->spread_s * 1000,
			    rng_dist_name(s->dist));
		if (s->kind == FAULT_RCODE)
			PUT(" rcode=%s", answer_rcode_str(s->rcode, rb, sizeof rb));
		if (s->kind == FAULT_WRONG)
			PUT(" address=%s", inet_ntop(s->wrong_family, s->wrong_addr, buf, sizeof buf));
		if (m->has_name) {
			wire_name_to_str(m->name, name, sizeof name);
			PUT(" name=%s%s", m->below ? "*." : "", name);
		}
		if (m->qtype)
			PUT(" qtype=%s", answer_type_str(m->qtype, tb, sizeof tb));
		if (m->transport >= 0)
			PUT(" transport=%s", m->transport == ANSWER_UDP ? "udp" : "tcp");
		if (m->fraction < 1.0)
			PUT(" fraction=%.4f", m->fraction);
		break;
	}
	case RC_CAPACITY:
		PUT("capacity qps=%.3f queue=%u", c->qps, c->queue);
		break;
	case RC_STOP:
		PUT("stop");
		break;
	case RC_START:
		PUT("start");
		break;
	case RC_HEAL:
		if (!c->id) {
			PUT("heal");
			break;
		}
		size_t i = rfault_find(r, c->id);
		if (i == SIZE_MAX) {
			env_say(r->env, "%s: heal: fault %u is not active", r->cfg.name, c->id);
			return false;
		}
		PUT("heal %u", r->faults[i]->remote_id);
		break;
	case RC_PUBLISH:
		PUT("publish %s", c->path);
		break;
	}
	if (c->duration > 0)
		PUT(" duration=%.3f", c->duration);
#undef PUT
	if (n >= cap) {
		record_remote(r, c->verb == RC_PUBLISH ? "publish" : "?",
			      "error command too long (4096 octets at most)", false);
		warn(r, "a command over 4096 octets was not sent");
		return false;
	}
	return true;
}

/* What the daemon answered to c: recorded, and its effect noted. */
static void cmd_answered(struct farm_remote *r, struct rcmd *c, const char *reply)
{
	bool ok = strncmp(reply, "ok", 2) == 0 && (reply[2] == '\0' || reply[2] == ' ');
	unsigned remote_id = 0;
	record_remote(r, c->line, reply, ok);
	if (!ok) {
		warn(r, "%s: %s", c->line, reply);
		return;
	}
	switch (c->verb) {
	case RC_INJECT:
	case RC_CAPACITY:
	case RC_STOP: {
		if (sscanf(reply, "ok id=%u", &remote_id) != 1 || strstr(reply, "already"))
			return; /* a stop on a stopped daemon makes no second fault */
		const char *kind = c->verb == RC_INJECT	  ? fault_kind_name(c->spec.kind)
				   : c->verb == RC_CAPACITY ? "capacity"
							    : "stop";
		if (!rfault_add(r, c->id, remote_id, kind, c->duration) ||
		    rid_add(r, remote_id, c->id) != 0) {
			env_fail(r->env, "%s: out of memory", r->cfg.name);
			return;
		}
		if (c->verb == RC_INJECT)
			farm_fault_record(r->env, r->cfg.name, c->id, kind, "inject", &c->spec, 0, 0,
					  c->duration);
		else
			farm_fault_record(r->env, r->cfg.name, c->id, kind, "inject", NULL, c->qps,
					  c->queue, c->duration);
		if (c->verb == RC_STOP) {
			r->faults[r->nfaults - 1]->stop = true;
			r->stopped = true;
			/* Its ports closed with its capacity queue: those queries get no event. */
			arrivals_drop(r);
			record_state(r, "down", "stop");
		}
		return;
	}
	case RC_START:
		for (size_t i = 0; i < r->nfaults; i++)
			if (r->faults[i]->stop) {
				rfault_healed(r, i, "start");
				break;
			}
		return;
	case RC_HEAL:
		if (c->id) {
			size_t i = rfault_find(r, c->id);
			if (i != SIZE_MAX)
				rfault_healed(r, i, "heal");
		} else {
			while (r->nfaults)
				rfault_healed(r, 0, "heal");
		}
		return;
	case RC_PUBLISH:
		return;
	}
}

/* Sends the next command if none is waiting for its reply. */
static void pump(struct farm_remote *r)
{
	while (!r->inflight && r->head) {
		struct rcmd *c = r->head;
		r->head = c->next;
		if (!r->head)
			r->tail = NULL;
		c->next = NULL;
		if (!r->connected || !r->bev) {
			if (cmd_format(r, c)) {
				record_remote(r, c->line, "error not connected", false);
				warn(r, "%s: not sent: the control connection is closed", c->line);
			}
			cmd_free(c);
			continue;
		}
		if (!cmd_format(r, c)) {
			cmd_free(c);
			continue;
		}
		struct evbuffer *out = r->end_out ? r->end_out : bufferevent_get_output(r->bev);
		evbuffer_add(out, c->line, strlen(c->line));
		evbuffer_add(out, "\n", 1);
		r->inflight = c;
	}
}

/* Reads the replies (and the events between them) that have arrived in `in`. */
static void take_replies(struct farm_remote *r, struct evbuffer *in)
{
	char *line;
	size_t n;
	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF))) {
		if (take_event(r, line, n)) {
			free(line);
			continue;
		}
		struct rcmd *c = r->inflight;
		r->inflight = NULL;
		if (c)
			cmd_answered(r, c, line);
		else
			warn(r, "an answer to no command: %.200s", line);
		cmd_free(c);
		free(line);
		pump(r);
	}
}

/* The connection is gone: what it held heals on the daemon, the rest fails here. */
static void lost(struct farm_remote *r, const char *why)
{
	char msg[256];
	snprintf(msg, sizeof msg, "error connection lost: %s", why);
	r->connected = false;
	if (r->bev) {
		bufferevent_free(r->bev);
		r->bev = NULL;
	}
	warn(r, "control connection lost (%s); its faults without a duration heal on the daemon",
	     why);
	if (r->inflight) {
		record_remote(r, r->inflight->line, msg, false);
		cmd_free(r->inflight);
		r->inflight = NULL;
	} else {
		record_remote(r, "", msg, false);
	}
	for (size_t i = 0; i < r->nfaults;)
		if (!r->faults[i]->timed)
			rfault_healed(r, i, "connection lost");
		else
			i++;
	arrivals_drop(r); /* their events can no longer come */
	pump(r);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct farm_remote *r = arg;
	take_replies(r, bufferevent_get_input(bev));
	if (r->bev && evbuffer_get_length(bufferevent_get_input(r->bev)) > CONTROL_REPLY_MAX + 2)
		lost(r, "reply too long");
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct farm_remote *r = arg;
	(void)bev;
	lost(r, (what & BEV_EVENT_EOF) ? "closed by the daemon" : strerror(EVUTIL_SOCKET_ERROR()));
}

static struct rcmd *cmd_new(struct farm_remote *r, enum rverb verb)
{
	struct rcmd *c = calloc(1, sizeof *c);
	if (!c) {
		env_fail(r->env, "%s: out of memory", r->cfg.name);
		return NULL;
	}
	c->verb = verb;
	return c;
}

static void cmd_queue(struct farm_remote *r, struct rcmd *c)
{
	if (r->tail)
		r->tail->next = c;
	else
		r->head = c;
	r->tail = c;
	pump(r);
}

uint32_t farm_remote_inject(struct farm_remote *r, const struct fault_spec *spec, double duration_s)
{
	struct rcmd *c = cmd_new(r, RC_INJECT);
	if (!c)
		return 0;
	c->spec = *spec;
	c->spec.wrong_zones = NULL;
	c->duration = duration_s;
	c->id = env_next_id(r->env);
	uint32_t id = c->id;
	cmd_queue(r, c);
	return id;
}

uint32_t farm_remote_capacity(struct farm_remote *r, double qps, unsigned queue, double duration_s)
{
	struct rcmd *c = cmd_new(r, RC_CAPACITY);
	if (!c)
		return 0;
	c->qps = qps;
	c->queue = queue;
	c->duration = duration_s;
	c->id = env_next_id(r->env);
	uint32_t id = c->id;
	cmd_queue(r, c);
	return id;
}

uint32_t farm_remote_stop(struct farm_remote *r, double duration_s)
{
	struct rcmd *c = cmd_new(r, RC_STOP);
	if (!c)
		return 0;
	c->duration = duration_s;
	c->id = env_next_id(r->env);
	uint32_t id = c->id;
	cmd_queue(r, c);
	return id;
}

void farm_remote_start_dns(struct farm_remote *r)
{
	struct rcmd *c = cmd_new(r, RC_START);
	if (c)
		cmd_queue(r, c);
}

void farm_remote_heal(struct farm_remote *r, uint32_t id)
{
	struct rcmd *c = cmd_new(r, RC_HEAL);
	if (!c)
		return;
	c->id = id;
	cmd_queue(r, c);
}

void farm_remote_publish(struct farm_remote *r, const char *path)
{
	struct rcmd *c = cmd_new(r, RC_PUBLISH);
	if (!c)
		return;
	c->path = strdup(path);
	if (!c->path) {
		free(c);
		env_fail(r->env, "%s: out of memory", r->cfg.name);
		return;
	}
	cmd_queue(r, c);
}

/* ---- connecting (blocking, before the run's clock) and the end ---- */

/* Waits for events on fd until the deadline (monotonic). 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - clock_mono();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int rc = poll(&p, 1, (int)(left * 1000) + 1);
		if (rc > 0)
			return 1;
		if (rc < 0 && errno != EINTR)
			return -1;
	}
}

/* Sends all of buf, blocking up to the deadline. 0, or -1 with errno (ETIMEDOUT: too late). */
static int send_all(int fd, const char *buf, size_t len, double deadline)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (wait_fd(fd, POLLOUT, deadline) != 1) {
			errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/*
 * Reads one line (without its newline) into buf, blocking up to the
 * deadline, one octet at a time: what follows it stays in the socket for the
 * bufferevent. Returns its length; buf is "" when none came.
 */
static size_t recv_line(int fd, char *buf, size_t cap, double deadline)
{
	size_t got = 0;
	while (got < cap - 1) {
		ssize_t n = recv(fd, buf + got, 1, 0);
		if (n == 1) {
			if (buf[got] == '\n')
				break;
			got++;
			continue;
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
		if (wait_fd(fd, POLLIN, deadline) != 1)
			break;
	}
	if (got && buf[got - 1] == '\r')
		got--;
	buf[got] = '\0';
	return got;
}

/*
 * Asks the daemon to stream its queries, and estimates its clock from the
 * round trip: its `now` was read between our send and our receipt, so the
 * midpoint is within half the round trip of it. A daemon that does not know
 * `watch` (an older one) is a warning: the run goes on without its queries.
 * -1 only when no reply came at all.
 */
static int ask_watch(struct farm_remote *r, int fd, double deadline, char *err, size_t errlen,
                     const char *where)
{
	double now_d;
	int end = 0;
	r->watch_asked = true;
	double a = env_clock(r->env);
	if (send_all(fd, "watch\n", 6, deadline) != 0) {
		snprintf(err, errlen, "control %s: %s", where, strerror(errno));
		return -1;
	}
	size_t got = recv_line(fd, r->watch_reply, sizeof r->watch_reply, deadline);
	double b = env_clock(r->env);
	if (!got) {
		snprintf(err, errlen, "control %s: no reply to watch in time", where);
		return -1;
	}
	r->watch_rtt = b - a;
	if (sscanf(r->watch_reply, "ok now=%lf%n", &now_d, &end) == 1 &&
	    r->watch_reply[end] == '\0' && isfinite(now_d)) {
		r->offset = (a + b) / 2 - now_d;
		r->watching = true;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		return 0;
	}
	warn(r,
	     "the daemon does not stream its queries (watch: %.120s; an older fakeresolver?): "
	     "they are not in the history, and query faults on it are never seen to meet a lookup",
	     r->watch_reply);
	return 0;
}

int farm_remote_connect(struct farm_remote *r, double timeout_s, char *err, size_t errlen)
{
	char where[80], line[CONTROL_TOKEN_MAX + 16], reply[256];
	double deadline = clock_mono() + timeout_s;
	size_t len = 0, got = 0;
	int rc = -1;
	const struct addr *a = &r->cfg.control;

	addr_str(a, where, sizeof where);
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "control %s: %s", where, strerror(errno));
		goto out;
	}
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) != 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "control %s: %s (is the daemon started with --control?)", where,
			 strerror(errno));
		goto out;
	}
	int soerr = 0;
	socklen_t sl = sizeof soerr;
	if (wait_fd(fd, POLLOUT, deadline) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr) {
		snprintf(err, errlen, "control %s: %s (is the daemon started with --control?)", where,
			 soerr ? strerror(soerr) : "no connection within the time allowed");
		goto out;
	}
	len = (size_t)snprintf(line, sizeof line, "auth %.*s\n", (int)r->cfg.token_len,
			       (const char *)r->cfg.token);
	if (send_all(fd, line, len, deadline) != 0) {
		snprintf(err, errlen, "control %s: %s", where,
		         errno == ETIMEDOUT ? "could not send the token in time" : strerror(errno));
		goto out;
	}
	/* The reply line, one octet at a time: nothing after it may be taken from the socket. */
	got = recv_line(fd, reply, sizeof reply, deadline);
	if (strcmp(reply, "ok authenticated") != 0) {
		snprintf(err, errlen, "control %s: %s", where,
			 strcmp(reply, "error refused") == 0
				 ? "the daemon refused the token (is token_file the one given to "
				   "its --control-token-file?)"
				 : got ? "unexpected reply to auth (is this a fakeresolver control port?)"
				       : "no reply to auth in time (is this a fakeresolver control port?)");
		goto out;
	}
	if (ask_watch(r, fd, deadline, err, errlen, where) != 0)
		goto out;
	r->fd = fd;
	fd = -1;
	rc = 0;
out:
	memset(line, 0, sizeof line);
	if (fd >= 0)
		close(fd);
	return rc;
}

int farm_remote_start(struct farm_remote *r, char *err, size_t errlen)
{
	char buf[80];
	r->bev = bufferevent_socket_new(env_base(r->env), r->fd, BEV_OPT_CLOSE_ON_FREE);
	if (!r->bev) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->fd = -1;
	r->connected = true;
	bufferevent_set_max_single_read(r->bev, REMOTE_READ_MAX);
	bufferevent_setcb(r->bev, on_read, NULL, on_event, r);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	env_say(r->env, "%s: remote fake resolver at %s, control connected", r->cfg.name,
		addr_str(&r->cfg.addr, buf, sizeof buf));
	/* The authentication, done before the clock started (the token is not written). */
	record_remote(r, "auth", "ok authenticated", true);
	if (r->watch_asked)
		record_remote_rtt(r, "watch", r->watch_reply, r->watching, r->watch_rtt);
	record_state(r, "up", "connected");
	return 0;
}

void farm_remote_end(struct farm_remote *r)
{
	if (!r->connected || !r->bev)
		return;
	/* Commands the run never got to send stay unsent; a heal follows what is in flight. */
	while (r->head) {
		struct rcmd *c = r->head;
		r->head = c->next;
		if (cmd_format(r, c))
			record_remote(r, c->line, "error not sent: the run ended", false);
		cmd_free(c);
	}
	r->tail = NULL;
	bufferevent_disable(r->bev, EV_READ | EV_WRITE);
	int fd = bufferevent_getfd(r->bev);
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	if (in && out) {
		/* What the bufferevent still holds: unsent octets, unread replies. */
		struct evbuffer *bo = bufferevent_get_output(r->bev);
		size_t pend = evbuffer_get_length(bo);
		char *tmp = pend ? malloc(pend) : NULL;
		if (tmp && evbuffer_copyout(bo, tmp, pend) == (ev_ssize_t)pend)
			evbuffer_add(out, tmp, pend);
		free(tmp);
		evbuffer_add_buffer(in, bufferevent_get_input(r->bev));
		r->end_out = out;
		struct rcmd *heal = cmd_new(r, RC_HEAL);
		if (heal)
			cmd_queue(r, heal);
		double deadline = clock_mono() + REMOTE_END_S;
		take_replies(r, in);
		while (r->inflight || r->head) {
			if (evbuffer_get_length(out)) {
				if (wait_fd(fd, POLLOUT, deadline) != 1 || evbuffer_write(out, fd) < 0)
					break;
				continue;
			}
			if (wait_fd(fd, POLLIN, deadline) != 1)
				break;
			int n = evbuffer_read(in, fd, 4096);
			if (n <= 0)
				break;
			take_replies(r, in);
			if (evbuffer_get_length(in) > CONTROL_REPLY_MAX + 2)
				break;
		}
	}
	r->end_out = NULL;
	if (in)
		evbuffer_free(in);
	if (out)
		evbuffer_free(out);
	while (r->head) { /* out of memory above: never sent */
		struct rcmd *c = r->head;
		r->head = c->next;
		cmd_free(c);
	}
	r->tail = NULL;
	if (r->inflight) {
		record_remote(r, r->inflight->line, "error no reply before the end of the run", false);
		warn(r, "%s: no reply before the end of the run", r->inflight->line);
		cmd_free(r->inflight);
		r->inflight = NULL;
	}
	/* What still waits in its capacity queue gets no event before the connection closes. */
	arrivals_drop(r);
	if (r->early)
		env_say(r->env, "%s: %llu queries from before the run's clock started, not written",
		        r->cfg.name, (unsigned long long)r->early);
	/* Closing the connection heals on the daemon what it set without a duration. */
	for (size_t i = 0; i < r->nfaults;)
		if (!r->faults[i]->timed)
			rfault_healed(r, i, "end");
		else
			i++;
	bufferevent_free(r->bev);
	r->bev = NULL;
	r->connected = false;
}
