/*
 * server.c - UDP and TCP serving of the answer engine on libevent.
 *
 * UDP reads up to UDP_BATCH datagrams per system call and answers them in
 * one sendmmsg; a callback handles at most UDP_ROUNDS batches before giving
 * the loop back, so many servers on one base stay fair.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include "fakeresolver/server.h"
#include "fakeresolver/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define UDP_BATCH 32
#define UDP_ROUNDS 8
#define UDP_QUERY_MAX 4096 /* a query larger than this is not one we could answer */
#define TCP_MSG_MAX WIRE_MSG_MAX
/* A connection younger than this (or that made progress this recently) is
 * never closed to make room for a new one: a burst of new connections must
 * not close each other before their first query is read. */
#define TCP_EVICT_GRACE_S 1.0

struct udp_batch {
	struct mmsghdr in[UDP_BATCH];
	struct mmsghdr out[UDP_BATCH];
	struct iovec in_iov[UDP_BATCH];
	struct iovec out_iov[UDP_BATCH];
	struct sockaddr_storage peers[UDP_BATCH];
	uint8_t in_buf[UDP_BATCH][UDP_QUERY_MAX];
	uint8_t out_buf[UDP_BATCH][ANSWER_EDNS_PAYLOAD];
	/* The fast path parses the whole batch first (see parse_batch). */
	struct answer_info info[UDP_BATCH];
	struct zone_version *zone[UDP_BATCH];
	uint32_t hash[UDP_BATCH];
};

struct op;

/* Where a query handed in by server_deliver gets its reply: NULL fn is the socket. */
struct sink {
	server_reply_fn fn;
	void *arg;
};

struct tcp_conn {
	struct server *server;
	struct bufferevent *bev;
	struct addr peer;
	struct answer_axfr *axfr;
	struct tcp_conn *prev, *next;
	struct op *ops; /* queued or delayed queries of this connection */
	struct event *msg_timer; /* the deadline of the message being received */
	double progress; /* monotonic: accepted, or last whole message received */
};

/*
 * A query on the slow path: waiting in the capacity queue, or answered and
 * waiting for its delay. Holds the query until it is served, then the reply.
 */
struct op {
	struct server *server;
	struct tcp_conn *conn; /* TCP: its connection; NULL once that closed */
	struct op *prev, *next;   /* the server's ops */
	struct op *cprev, *cnext; /* the connection's ops */
	struct event *timer;
	enum answer_transport transport;
	struct addr peer;
	struct sink sink; /* UDP handed in by server_deliver: where the reply goes */
	bool queued;     /* still in the capacity queue (not yet served) */
	double arrival;  /* monotonic seconds */
	uint64_t tag;    /* what the arrive hook said, given back to the log */
	size_t len;
	uint8_t *data;   /* the query, then the reply */
};

struct server {
	struct event_base *base;
	const struct zone_set *zones;
	struct server_config cfg;
	struct addr bound;
	evutil_socket_t udp_fd;
	struct event *udp_ev;
	struct udp_batch *batch;
	struct evconnlistener *listener;
	struct tcp_conn *conns;
	unsigned nconns;
	/* A new connection accepted while full with nothing to close: held, with
	 * accepting paused, until a slot frees (see make_room). */
	evutil_socket_t wait_fd; /* -1: none */
	struct addr wait_peer;
	struct event *wait_timer; /* retries make_room for wait_fd */
	uint8_t *tcp_buf; /* one message in, one reply out: [2 + TCP_MSG_MAX] each */
	server_log_fn log;
	void *log_arg;
	server_arrive_fn arrive;
	void *arrive_arg;
	struct fault_plan *plan;
	struct rng *rng;
	struct op *ops;
	unsigned queued;     /* ops in the capacity queue, being served or waiting */
	double next_free;    /* when the capacity model finishes its last queued query */
	uint8_t *slow_buf;   /* replies on the slow path: TCP_MSG_MAX */
	struct server_stats stats;
};

void server_config_defaults(struct server_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->udp = true;
	cfg->tcp = true;
	cfg->tcp_max_conns = 128;
	cfg->tcp_per_addr_max = 64;
	cfg->tcp_idle_ms = 10000;
	cfg->tcp_msg_timeout_ms = 5000;
	cfg->tcp_max_pending = 256 * 1024;
}

static void log_event(struct server *s, enum answer_transport tp, const struct addr *peer,
		      const struct answer_info *info, size_t reply_len)
{
	if (!s->log)
		return;
	struct server_event ev = { tp, peer, info, NULL, false, 0, reply_len, 0 };
	s->log(s->log_arg, &ev);
}

const char *server_event_action(const struct server_event *ev)
{
	if (ev->queue_full)
		return "queue-full";
	if (ev->decision && ev->decision->action != FAULT_ACT_ANSWER)
		return fault_action_name(ev->decision->action);
	if (ev->info->action == ANSWER_DROP)
		return "dropped";
	if (ev->info->action == ANSWER_AXFR)
		return "axfr";
	return "answered";
}

static bool faults_active(const struct server *s)
{
	double qps;
	unsigned ql;
	return s->plan && (fault_plan_count(s->plan) > 0 || fault_plan_capacity(s->plan, &qps, &ql));
}

static int conn_send(struct tcp_conn *c, uint8_t *msg, size_t len);
static int conn_pump_axfr(struct tcp_conn *c);
static void conn_free(struct tcp_conn *c);

/* Sends a reply now, over the transport it came in on. */
static void send_reply(struct server *s, enum answer_transport tp, const struct addr *peer,
		       struct tcp_conn *conn, const struct sink *sink, uint8_t *reply, size_t len)
{
	if (sink && sink->fn) {
		s->stats.udp_replied++;
		sink->fn(sink->arg, reply, len);
	} else if (tp == ANSWER_UDP) {
		if (sendto(s->udp_fd, reply, len, MSG_DONTWAIT, (const struct sockaddr *)&peer->ss,
			   peer->len) < 0)
			s->stats.udp_send_failed++;
		else
			s->stats.udp_replied++;
	} else if (conn) {
		(void)conn_send(conn, reply, len); /* a failure shows as an error event */
	}
}

static void op_free(struct op *op)
{
	struct server *s = op->server;
	if (op->prev)
		op->prev->next = op->next;
	else
		s->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	if (op->conn) {
		if (op->cprev)
			op->cprev->cnext = op->cnext;
		else
			op->conn->ops = op->cnext;
		if (op->cnext)
			op->cnext->cprev = op->cprev;
	}
	if (op->queued)
		s->queued--;
	if (op->timer)
		event_free(op->timer);
	free(op->data);
	free(op);
}

static void op_fire(evutil_socket_t fd, short what, void *arg);

/* Makes an op holding a copy of data, due after delay_s. NULL on out of memory. */
static struct op *op_new(struct server *s, enum answer_transport tp, const struct addr *peer,
			 struct tcp_conn *conn, const struct sink *sink, const uint8_t *data,
			 size_t len, double delay_s)
{
	struct op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->server = s;
	op->transport = tp;
	op->peer = *peer;
	if (sink)
		op->sink = *sink;
	op->len = len;
	op->data = malloc(len ? len : 1);
	op->timer = evtimer_new(s->base, op_fire, op);
	if (!op->data || !op->timer) {
		if (op->timer)
			event_free(op->timer);
		free(op->data);
		free(op);
		return NULL;
	}
	memcpy(op->data, data, len);
	op->next = s->ops;
	if (s->ops)
		s->ops->prev = op;
	s->ops = op;
	if (conn) {
		op->conn = conn;
		op->cnext = conn->ops;
		if (conn->ops)
			conn->ops->cprev = op;
		conn->ops = op;
	}
	struct timeval tv = clock_timeval(delay_s);
	event_base_update_cache_time(s->base); /* the delay counts from now */
	evtimer_add(op->timer, &tv);
	return op;
}

/*
 * The slow path: a query through the fault plan. Answers (or not) and sends
 * now or after the decided delay. queue_s is how long it waited for capacity.
 */
static void serve_faulty(struct server *s, const uint8_t *pkt, size_t len,
			 enum answer_transport tp, const struct addr *peer, struct tcp_conn *conn,
			 const struct sink *sink, double queue_s, uint64_t tag)
{
	struct answer_info info;
	struct fault_decision d;
	size_t cap = tp == ANSWER_UDP ? ANSWER_EDNS_PAYLOAD : TCP_MSG_MAX;
	size_t n = 0;
	uint8_t *out = s->slow_buf;

	info.verdict = wire_query_parse(pkt, len, &info.query);
	if (s->plan) {
		fault_plan_decide(s->plan, &info.query, info.verdict, tp, s->rng, &d);
	} else {
		/* The plan was unset while this query waited in the capacity queue. */
		memset(&d, 0, sizeof d);
		d.action = FAULT_ACT_ANSWER;
	}
	info.action = ANSWER_REPLY;
	info.zone = NULL;
	info.rcode = info.flags = info.ancount = info.nscount = info.arcount = 0;
	if (info.verdict == WIRE_QUERY_DROP) {
		info.action = ANSWER_DROP;
	} else {
		switch (d.action) {
		case FAULT_ACT_DROP:
			info.action = ANSWER_DROP;
			break;
		case FAULT_ACT_RCODE:
			n = answer_error(pkt, len, tp, out, cap, d.spec->rcode, false, &info);
			break;
		case FAULT_ACT_TRUNCATE:
			n = answer_error(pkt, len, tp, out, cap, DNS_RCODE_NOERROR, true, &info);
			break;
		case FAULT_ACT_WRONG:
			if (d.spec->wrong_zones)
				n = answer_parsed(d.spec->wrong_zones, pkt, len, tp, out, cap, &info);
			else
				n = answer_address(pkt, len, tp, out, cap, d.spec->wrong_family,
						   d.spec->wrong_addr, 300, &info);
			break;
		case FAULT_ACT_ANSWER:
			n = answer_parsed(s->zones, pkt, len, tp, out, cap, &info);
			break;
		}
	}
	if (d.fault_id || d.delay_id)
		s->stats.fault_acted++;
	if (info.action != ANSWER_REPLY)
		n = 0;
	if (s->log) {
		struct server_event ev = { tp, peer, &info, s->plan ? &d : NULL, false, queue_s, n,
					   tag };
		s->log(s->log_arg, &ev);
	}
	if (info.action == ANSWER_AXFR && conn) {
		/* Transfers are not delayed or altered: hand over to the TCP path. */
		conn->axfr = answer_axfr_create(&info);
		if (conn->axfr)
			s->stats.axfr++;
		return;
	}
	if (n == 0)
		return;
	if (d.delay_s > 0) {
		if (!op_new(s, tp, peer, conn, sink, out, n, d.delay_s))
			s->stats.udp_send_failed++;
		return;
	}
	send_reply(s, tp, peer, conn, sink, out, n);
}

static void op_fire(evutil_socket_t fd, short what, void *arg)
{
	struct op *op = arg;
	struct server *s = op->server;
	(void)fd;
	(void)what;

	if (!op->queued) {
		/* A delayed reply is due. */
		if (op->transport == ANSWER_UDP || op->conn)
			send_reply(s, op->transport, &op->peer, op->conn, &op->sink, op->data,
				   op->len);
		op_free(op);
		return;
	}
	/* Served by the capacity model: now the query meets the faults and the engine. */
	struct tcp_conn *conn = op->conn;
	if (conn && conn->axfr) {
		/* A transfer is streaming on this connection: as on the fast path,
		 * which reads nothing meanwhile, the next query waits for its end. */
		static const struct timeval again = { 0, 1000 };
		evtimer_add(op->timer, &again);
		return;
	}
	double queue_s = clock_mono() - op->arrival;
	op->queued = false;
	s->queued--;
	if (op->transport == ANSWER_UDP || conn)
		serve_faulty(s, op->data, op->len, op->transport, &op->peer, conn, &op->sink,
			     queue_s, op->tag);
	op_free(op);
	if (conn && conn->axfr && conn_pump_axfr(conn) != 0)
		conn_free(conn);
}

/*
 * Takes a query into the fault path: through the capacity queue if there is
 * one (an M/D/1 queue: each query takes 1/qps of service in arrival order;
 * beyond queue_len waiting, arrivals are dropped), else served now.
 */
static void admit(struct server *s, const uint8_t *pkt, size_t len, enum answer_transport tp,
		  const struct addr *peer, struct tcp_conn *conn, const struct sink *sink)
{
	double qps;
	unsigned queue_len;
	if (!fault_plan_capacity(s->plan, &qps, &queue_len)) {
		serve_faulty(s, pkt, len, tp, peer, conn, sink, 0, 0);
		return;
	}
	double now = clock_mono();
	if (s->queued >= queue_len) {
		s->stats.queue_full++;
		if (s->log) {
			struct answer_info info;
			info.verdict = wire_query_parse(pkt, len, &info.query);
			info.action = ANSWER_DROP;
			info.zone = NULL;
			info.rcode = info.flags = info.ancount = info.nscount = info.arcount = 0;
			struct server_event ev = { tp, peer, &info, NULL, true, 0, 0, 0 };
			s->log(s->log_arg, &ev);
		}
		return;
	}
	double start = s->next_free > now ? s->next_free : now;
	s->next_free = start + 1.0 / qps;
	struct op *op = op_new(s, tp, peer, conn, sink, pkt, len, s->next_free - now);
	if (!op)
		return;
	op->queued = true;
	op->arrival = now;
	if (s->arrive)
		op->tag = s->arrive(s->arrive_arg, tp, peer, pkt, len);
	s->queued++;
}

/* ---- UDP ---- */

static void parse_batch(struct server *s, struct udp_batch *b, int n);

static void udp_read(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct udp_batch *b = s->batch;
	(void)what;

	for (int round = 0; round < UDP_ROUNDS; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			b->in_iov[i].iov_base = b->in_buf[i];
			b->in_iov[i].iov_len = UDP_QUERY_MAX;
			b->in[i].msg_hdr.msg_name = &b->peers[i];
			b->in[i].msg_hdr.msg_namelen = sizeof b->peers[i];
			b->in[i].msg_hdr.msg_iov = &b->in_iov[i];
			b->in[i].msg_hdr.msg_iovlen = 1;
			b->in[i].msg_hdr.msg_control = NULL;
			b->in[i].msg_hdr.msg_controllen = 0;
			b->in[i].msg_hdr.msg_flags = 0;
		}
		int n = recvmmsg(fd, b->in, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return; /* EAGAIN, or an error the next readiness will show again */
		s->stats.udp_received += (uint64_t)n;
		bool slow = faults_active(s);
		if (!slow)
			parse_batch(s, b, n);
		int m = 0;
		for (int i = 0; i < n; i++) {
			struct addr peer;
			size_t len = 0;
			if (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				s->stats.udp_oversized++;
				continue;
			}
			if (slow) {
				memcpy(&peer.ss, &b->peers[i], sizeof peer.ss);
				peer.len = b->in[i].msg_hdr.msg_namelen;
				admit(s, b->in_buf[i], b->in[i].msg_len, ANSWER_UDP, &peer, NULL, NULL);
				continue;
			}
			struct answer_info *info = &b->info[i];
			len = answer_in_zone(s->zones, b->zone[i], b->in_buf[i], b->in[i].msg_len,
					     ANSWER_UDP, b->out_buf[m], ANSWER_EDNS_PAYLOAD, info);
			if (s->log) {
				memcpy(&peer.ss, &b->peers[i], sizeof peer.ss);
				peer.len = b->in[i].msg_hdr.msg_namelen;
				log_event(s, ANSWER_UDP, &peer, info, len);
			}
			if (info->action != ANSWER_REPLY)
				continue;
			b->out_iov[m].iov_base = b->out_buf[m];
			b->out_iov[m].iov_len = len;
			memset(&b->out[m].msg_hdr, 0, sizeof b->out[m].msg_hdr);
			b->out[m].msg_hdr.msg_name = &b->peers[i];
			b->out[m].msg_hdr.msg_namelen = b->in[i].msg_hdr.msg_namelen;
			b->out[m].msg_hdr.msg_iov = &b->out_iov[m];
			b->out[m].msg_hdr.msg_iovlen = 1;
			m++;
		}
		int sent = 0;
		while (sent < m) {
			int r = sendmmsg(fd, b->out + sent, (unsigned)(m - sent), MSG_DONTWAIT);
			if (r <= 0) {
				/* The first message failed (buffer full, or the peer's
				 * port refused): skip it and go on with the rest. */
				s->stats.udp_send_failed++;
				sent++;
				continue;
			}
			sent += r;
			s->stats.udp_replied += (uint64_t)r;
		}
		if (n < UDP_BATCH)
			return;
	}
}

void server_deliver(struct server *s, const uint8_t *pkt, size_t len, const struct addr *peer,
		    server_reply_fn fn, void *arg)
{
	struct sink sink = { fn, arg };
	struct answer_info info;

	s->stats.udp_received++;
	if (len > UDP_QUERY_MAX) {
		s->stats.udp_oversized++; /* recvmmsg would have cut it: MSG_TRUNC */
		return;
	}
	if (faults_active(s)) {
		admit(s, pkt, len, ANSWER_UDP, peer, NULL, &sink);
		return;
	}
	size_t n = answer_query(s->zones, pkt, len, ANSWER_UDP, s->slow_buf, ANSWER_EDNS_PAYLOAD,
				&info);
	log_event(s, ANSWER_UDP, peer, &info, n);
	if (info.action == ANSWER_REPLY)
		send_reply(s, ANSWER_UDP, peer, NULL, &sink, s->slow_buf, n);
}

void server_forget(struct server *s, void *arg)
{
	struct op *op = s->ops;
	while (op) {
		struct op *next = op->next;
		if (op->sink.fn && op->sink.arg == arg)
			op_free(op);
		op = next;
	}
}

/*
 * Parses every query of a batch into b->info and finds its zone (b->zone),
 * then walks the batch three times over the zone lookups the queries will
 * make, one cache hint per stage (see zone_prefetch): a large zone's table,
 * nodes and names are not in the cache, and answering each query in turn
 * would wait for all three, one after the other, for every query.
 */
static void parse_batch(struct server *s, struct udp_batch *b, int n)
{
	for (int i = 0; i < n; i++) {
		struct answer_info *info = &b->info[i];
		b->zone[i] = NULL;
		if (b->in[i].msg_hdr.msg_flags & MSG_TRUNC)
			continue;
		info->verdict = wire_query_parse(b->in_buf[i], b->in[i].msg_len, &info->query);
		if (info->verdict == WIRE_QUERY_OK)
			b->zone[i] = zone_set_match(s->zones, info->query.qname, info->query.qname_len);
	}
	if (n == 1)
		return; /* nothing to overlap */
	for (int stage = 0; stage < 3; stage++)
		for (int i = 0; i < n; i++)
			if (b->zone[i])
				b->hash[i] = zone_prefetch(b->zone[i], b->info[i].query.qname,
							   b->info[i].query.qname_len, b->hash[i], stage);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int udp_open(struct server *s, struct addr *a, char *err, size_t errlen)
{
	char buf[80];
	int fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "udp socket: %s", strerror(errno));
		return -1;
	}
	/* Room for bursts: a full receive queue is lost queries. Best effort. */
	int size = 4 * 1024 * 1024;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	if (bind(fd, (struct sockaddr *)&a->ss, a->len) != 0) {
		snprintf(err, errlen, "cannot listen on %s (udp): %s", addr_str(a, buf, sizeof buf),
			 strerror(errno));
		close(fd);
		return -1;
	}
	socklen_t len = sizeof a->ss;
	if (getsockname(fd, (struct sockaddr *)&a->ss, &len) != 0 || set_nonblock(fd) != 0) {
		snprintf(err, errlen, "udp socket setup: %s", strerror(errno));
		close(fd);
		return -1;
	}
	s->udp_fd = fd;
	return 0;
}

/* ---- TCP ---- */

static void conn_free(struct tcp_conn *c)
{
	struct server *s = c->server;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	/* Queued and delayed queries of this connection have no one to answer. */
	for (struct op *op = c->ops; op; op = op->cnext)
		op->conn = NULL;
	answer_axfr_destroy(c->axfr);
	if (c->msg_timer)
		event_free(c->msg_timer);
	bufferevent_free(c->bev);
	free(c);
	/* A slot is free: the held newcomer, if any, takes it from the loop. */
	if (s->wait_fd >= 0)
		event_active(s->wait_timer, EV_TIMEOUT, 0);
}

/* Appends one length-prefixed message to the connection's output. */
static int conn_send(struct tcp_conn *c, uint8_t *msg, size_t len)
{
	uint8_t hdr[2];
	wire_put16(hdr, (uint16_t)len);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	if (evbuffer_add(out, hdr, 2) != 0 || evbuffer_add(out, msg, len) != 0)
		return -1;
	return 0;
}

/* Sends transfer messages until the output holds enough; frees the transfer at its end. */
static int conn_pump_axfr(struct tcp_conn *c)
{
	struct server *s = c->server;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	while (c->axfr && evbuffer_get_length(out) < s->cfg.tcp_max_pending) {
		size_t n = answer_axfr_next(c->axfr, s->tcp_buf, TCP_MSG_MAX);
		if (n == 0) {
			answer_axfr_destroy(c->axfr);
			c->axfr = NULL;
			break;
		}
		if (conn_send(c, s->tcp_buf, n) != 0)
			return -1;
	}
	return 0;
}

/* True if the input holds the start of a message but not all of it. */
static bool conn_partial(struct tcp_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t have = evbuffer_get_length(in);
	uint8_t hdr[2];
	if (have == 0)
		return false;
	if (have < 2)
		return true;
	evbuffer_copyout(in, hdr, 2);
	return have < 2 + (size_t)wire_get16(hdr);
}

/*
 * Starts the message deadline when a message has begun to arrive and the
 * clock is not already running for it; stops it when no message is partly
 * in (a whole one waiting for the output to drain is our delay, not the
 * peer's, and so is a partial one while reading is paused). The clock of a
 * message that follows a whole one in the same read starts when that one is
 * taken (conn_process stops the timer then).
 */
static void conn_arm_deadline(struct tcp_conn *c, bool paused)
{
	if (!c->msg_timer)
		return;
	if (paused || !conn_partial(c)) {
		evtimer_del(c->msg_timer);
		return;
	}
	if (evtimer_pending(c->msg_timer, NULL))
		return;
	unsigned ms = c->server->cfg.tcp_msg_timeout_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(c->msg_timer, &tv);
}

static void conn_msg_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	(void)fd;
	(void)what;
	c->server->stats.tcp_msg_timeouts++;
	conn_free(c);
}

/* Answers every complete query in the input while the output has room. */
static int conn_process(struct tcp_conn *c)
{
	struct server *s = c->server;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct answer_info info;
	uint8_t *query = s->tcp_buf + TCP_MSG_MAX;

	while (!c->axfr && evbuffer_get_length(out) < s->cfg.tcp_max_pending) {
		uint8_t hdr[2];
		if (evbuffer_copyout(in, hdr, 2) < 2)
			break;
		size_t len = wire_get16(hdr);
		if (evbuffer_get_length(in) < 2 + len)
			break;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, query, len);
		s->stats.tcp_queries++;
		c->progress = clock_mono();
		if (c->msg_timer)
			evtimer_del(c->msg_timer); /* the next message's clock starts below */
		if (faults_active(s)) {
			admit(s, query, len, ANSWER_TCP, &c->peer, c, NULL);
			if (c->axfr && conn_pump_axfr(c) != 0)
				return -1;
			continue;
		}
		size_t n = answer_query(s->zones, query, len, ANSWER_TCP, s->tcp_buf, TCP_MSG_MAX,
					&info);
		log_event(s, ANSWER_TCP, &c->peer, &info, n);
		if (info.action == ANSWER_REPLY && conn_send(c, s->tcp_buf, n) != 0)
			return -1;
		if (info.action == ANSWER_AXFR) {
			c->axfr = answer_axfr_create(&info);
			if (!c->axfr)
				return -1;
			s->stats.axfr++;
			if (conn_pump_axfr(c) != 0)
				return -1;
		}
	}
	/* Pause reading while replies pile up; the write callback resumes it. */
	bool paused = c->axfr || evbuffer_get_length(out) >= s->cfg.tcp_max_pending;
	if (paused)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
	conn_arm_deadline(c, paused);
	return 0;
}

static void conn_read(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	(void)bev;
	if (conn_process(c) != 0)
		conn_free(c);
}

static void conn_write(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	(void)bev;
	if (conn_pump_axfr(c) != 0 || conn_process(c) != 0)
		conn_free(c);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		c->server->stats.tcp_timeouts++;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		conn_free(c);
}

/*
 * Stalled: owed nothing (no reply waiting to be sent, no query queued or
 * delayed, no transfer) and no whole message received for TCP_EVICT_GRACE_S.
 * Such a connection is idle, or trickling a message in; RFC 7766 (6.2.3)
 * lets a server close it whenever it needs the resources.
 */
static bool conn_stalled(struct tcp_conn *c, double now)
{
	return !c->ops && !c->axfr && now - c->progress >= TCP_EVICT_GRACE_S &&
	       evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

static int host_cmp(const struct addr *a, const struct addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family)
		return a->ss.ss_family < b->ss.ss_family ? -1 : 1;
	if (a->ss.ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)&a->ss)->sin_addr,
			      &((const struct sockaddr_in *)&b->ss)->sin_addr, sizeof(struct in_addr));
	if (a->ss.ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
			      &((const struct sockaddr_in6 *)&b->ss)->sin6_addr,
			      sizeof(struct in6_addr));
	return 0;
}

/* Orders connections by address, then by progress (oldest first). */
static int conn_cmp(const void *pa, const void *pb)
{
	const struct tcp_conn *a = *(struct tcp_conn *const *)pa;
	const struct tcp_conn *b = *(struct tcp_conn *const *)pb;
	int c = host_cmp(&a->peer, &b->peer);
	if (c)
		return c;
	return a->progress < b->progress ? -1 : a->progress > b->progress;
}

/*
 * The connection to close for a newcomer when the server is full: a stalled
 * one of the address holding the most connections (that has a stalled one),
 * the one that made progress longest ago; so a newcomer from a quiet address
 * displaces a heavy holder, not the other quiet ones. NULL if none is stalled.
 */
static struct tcp_conn *pick_victim(struct server *s, double now)
{
	struct tcp_conn **all = malloc(s->nconns * sizeof *all);
	struct tcp_conn *victim = NULL, *oldest = NULL;
	size_t n = 0, best = 0;

	for (struct tcp_conn *c = s->conns; c; c = c->next) {
		if (all)
			all[n++] = c;
		if (conn_stalled(c, now) && (!oldest || c->progress < oldest->progress))
			oldest = c;
	}
	if (!all || !oldest)
		goto out; /* out of memory: the oldest stalled, whatever its address */
	qsort(all, n, sizeof *all, conn_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		struct tcp_conn *first = NULL;
		for (; j < n && host_cmp(&all[j]->peer, &all[i]->peer) == 0; j++)
			if (!first && conn_stalled(all[j], now))
				first = all[j];
		if (first && j - i > best) {
			best = j - i;
			victim = first;
		}
		i = j;
	}
out:
	free(all);
	return victim ? victim : oldest;
}

enum room { ROOM_YES, ROOM_REFUSE, ROOM_WAIT };

/*
 * Makes room for a new connection from peer under both limits. When peer's
 * address is at tcp_per_addr_max, closes its stalled connection that made
 * progress longest ago, or refuses the newcomer if none is stalled. When the
 * server is at tcp_max_conns, closes the connection pick_victim names, or
 * says to hold the newcomer until a slot frees. Connections with work in
 * flight are never closed for a newcomer.
 */
static enum room make_room(struct server *s, const struct addr *peer)
{
	double now = clock_mono();
	unsigned from_peer = 0;
	struct tcp_conn *oldest_peer = NULL;

	if (s->cfg.tcp_per_addr_max) {
		for (struct tcp_conn *c = s->conns; c; c = c->next) {
			if (!addr_same_host(&c->peer, peer))
				continue;
			from_peer++;
			if (conn_stalled(c, now) &&
			    (!oldest_peer || c->progress < oldest_peer->progress))
				oldest_peer = c;
		}
	}
	if (s->cfg.tcp_per_addr_max && from_peer >= s->cfg.tcp_per_addr_max) {
		if (!oldest_peer) {
			s->stats.tcp_addr_refused++;
			return ROOM_REFUSE;
		}
		/* Closing one of peer's own also frees a slot under the global limit. */
		s->stats.tcp_addr_evicted++;
		conn_free(oldest_peer);
		return ROOM_YES;
	}
	if (s->nconns >= s->cfg.tcp_max_conns) {
		if (s->nconns == 0) { /* a limit of 0: no slot will ever free */
			s->stats.tcp_refused++;
			return ROOM_REFUSE;
		}
		struct tcp_conn *victim = pick_victim(s, now);
		if (!victim)
			return ROOM_WAIT;
		s->stats.tcp_evicted++;
		conn_free(victim);
	}
	return ROOM_YES;
}

static void conn_admit(struct server *s, evutil_socket_t fd, const struct addr *peer);

/* The held newcomer gets a slot, is refused, or waits on (the retry timer). */
static void wait_retry(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	(void)fd;
	(void)what;
	if (s->wait_fd < 0)
		return;
	switch (make_room(s, &s->wait_peer)) {
	case ROOM_WAIT: {
		static const struct timeval again = { 0, 100 * 1000 };
		evtimer_add(s->wait_timer, &again);
		return;
	}
	case ROOM_REFUSE:
		evutil_closesocket(s->wait_fd);
		break;
	case ROOM_YES:
		conn_admit(s, s->wait_fd, &s->wait_peer);
		break;
	}
	s->wait_fd = -1;
	evtimer_del(s->wait_timer);
	evconnlistener_enable(s->listener);
}

/* Serves a new connection (takes fd: closed on failure). */
static void conn_admit(struct server *s, evutil_socket_t fd, const struct addr *peer)
{
	struct tcp_conn *c = calloc(1, sizeof *c);
	if (!c) {
		evutil_closesocket(fd);
		return;
	}
	c->server = s;
	c->peer = *peer;
	c->progress = clock_mono();
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->cfg.tcp_msg_timeout_ms)
		c->msg_timer = evtimer_new(s->base, conn_msg_timeout, c);
	if (!c->bev || (s->cfg.tcp_msg_timeout_ms && !c->msg_timer)) {
		if (c->msg_timer)
			event_free(c->msg_timer);
		if (c->bev)
			bufferevent_free(c->bev); /* closes fd */
		else
			evutil_closesocket(fd);
		free(c);
		return;
	}
	struct timeval idle = { s->cfg.tcp_idle_ms / 1000, (s->cfg.tcp_idle_ms % 1000) * 1000 };
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	/* At most one query plus its length prefix waits in the input. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 2 + TCP_MSG_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, s->cfg.tcp_max_pending / 2, 0);
	bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	s->stats.tcp_accepted++;
}

static void tcp_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		       int salen, void *arg)
{
	struct server *s = arg;
	struct addr peer;

	memset(&peer, 0, sizeof peer);
	memcpy(&peer.ss, sa, (size_t)salen <= sizeof peer.ss ? (size_t)salen : sizeof peer.ss);
	peer.len = (socklen_t)salen;
	if (s->wait_fd >= 0) {
		/* Accepted in the same round as the held one (should not happen:
		 * holding disables the listener): there is no room to hold two. */
		s->stats.tcp_refused++;
		evutil_closesocket(fd);
		return;
	}
	switch (make_room(s, &peer)) {
	case ROOM_YES:
		conn_admit(s, fd, &peer);
		return;
	case ROOM_REFUSE:
		evutil_closesocket(fd);
		return;
	case ROOM_WAIT:
		break;
	}
	/*
	 * Full, and every connection has work in flight or made progress within
	 * TCP_EVICT_GRACE_S: hold this one and stop accepting, so that the
	 * next slot goes to the oldest newcomer (the kernel's backlog keeps the
	 * others in order) instead of to whoever reconnects fastest.
	 */
	static const struct timeval retry = { 0, 100 * 1000 };
	s->stats.tcp_held++;
	s->wait_fd = fd;
	s->wait_peer = peer;
	evconnlistener_disable(l);
	evtimer_add(s->wait_timer, &retry);
}

static int tcp_open(struct server *s, const struct addr *a, char *err, size_t errlen)
{
	char buf[80];
	s->listener = evconnlistener_new_bind(
		s->base, tcp_accept, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
		128, (const struct sockaddr *)&a->ss, (int)a->len);
	if (!s->listener) {
		snprintf(err, errlen, "cannot listen on %s (tcp): %s", addr_str(a, buf, sizeof buf),
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- lifecycle ---- */

static int open_sockets(struct server *s, char *err, size_t errlen)
{
	struct addr a = s->cfg.addr;
	bool pick = addr_port(&a) == 0;

	/* With port 0, UDP picks the port and TCP must get the same one; retry on a clash. */
	for (int attempt = 0; attempt < 32; attempt++) {
		a = s->cfg.addr;
		if (s->cfg.udp && udp_open(s, &a, err, errlen) != 0)
			return -1;
		if (!s->cfg.tcp)
			break;
		if (pick && !s->cfg.udp) {
			/* TCP only: let the kernel choose, then read it back. */
			if (tcp_open(s, &a, err, errlen) != 0)
				return -1;
			struct sockaddr_storage ss;
			socklen_t len = sizeof ss;
			getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&ss, &len);
			memcpy(&a.ss, &ss, sizeof ss);
			break;
		}
		if (tcp_open(s, &a, err, errlen) == 0)
			break;
		if (!pick || errno != EADDRINUSE || attempt == 31)
			return -1;
		close(s->udp_fd);
		s->udp_fd = -1;
	}
	s->bound = a;
	return 0;
}

struct server *server_create(struct event_base *base, const struct zone_set *zones,
			     const struct server_config *cfg, char *err, size_t errlen)
{
	struct server *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->base = base;
	s->zones = zones;
	s->cfg = *cfg;
	s->udp_fd = -1;
	s->wait_fd = -1;
	if (!cfg->udp && !cfg->tcp) {
		snprintf(err, errlen, "neither UDP nor TCP enabled");
		goto fail;
	}
	s->tcp_buf = malloc(2 * (size_t)TCP_MSG_MAX);
	s->slow_buf = malloc(TCP_MSG_MAX);
	s->batch = malloc(sizeof *s->batch);
	s->wait_timer = evtimer_new(base, wait_retry, s);
	if (!s->tcp_buf || !s->slow_buf || !s->batch || !s->wait_timer) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (open_sockets(s, err, errlen) != 0)
		goto fail;
	if (s->udp_fd >= 0) {
		s->udp_ev = event_new(base, s->udp_fd, EV_READ | EV_PERSIST, udp_read, s);
		if (!s->udp_ev || event_add(s->udp_ev, NULL) != 0) {
			snprintf(err, errlen, "cannot register the UDP socket with the event loop");
			goto fail;
		}
	}
	return s;
fail:
	server_destroy(s);
	return NULL;
}

void server_destroy(struct server *s)
{
	if (!s)
		return;
	if (s->wait_fd >= 0)
		evutil_closesocket(s->wait_fd);
	s->wait_fd = -1;
	while (s->conns)
		conn_free(s->conns);
	if (s->wait_timer)
		event_free(s->wait_timer);
	while (s->ops)
		op_free(s->ops);
	if (s->listener)
		evconnlistener_free(s->listener);
	if (s->udp_ev)
		event_free(s->udp_ev);
	if (s->udp_fd >= 0)
		close(s->udp_fd);
	free(s->batch);
	free(s->tcp_buf);
	free(s->slow_buf);
	free(s);
}

void server_set_zones(struct server *s, const struct zone_set *zones)
{
	s->zones = zones;
}

void server_set_faults(struct server *s, struct fault_plan *plan, struct rng *rng)
{
	s->plan = plan;
	s->rng = rng;
}

void server_set_log(struct server *s, server_log_fn fn, void *arg)
{
	s->log = fn;
	s->log_arg = arg;
}

void server_set_arrive(struct server *s, server_arrive_fn fn, void *arg)
{
	s->arrive = fn;
	s->arrive_arg = arg;
}

const struct addr *server_addr(const struct server *s)
{
	return &s->bound;
}

void server_get_stats(const struct server *s, struct server_stats *out)
{
	*out = s->stats;
}
