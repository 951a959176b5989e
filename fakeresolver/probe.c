/*
 * probe.c - one asynchronous DNS query over UDP or TCP.
 */
#include "fakeresolver/probe.h"
#include "fakeresolver/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

struct probe {
	struct event_base *base;
	enum answer_transport transport;
	probe_done_fn done;
	void *arg;
	uint16_t id;
	double start;
	int fd;                  /* UDP */
	struct event *ev;        /* UDP readable, or the TCP deadline */
	struct bufferevent *bev; /* TCP */
	uint8_t query[WIRE_HEADER_LEN + WIRE_NAME_MAX + 4 + 11];
	size_t qlen;
};

const char *probe_status_name(enum probe_status s)
{
	static const char *const names[] = { "answer", "timeout", "refused", "error" };
	return names[s];
}

static void probe_free(struct probe *p)
{
	if (p->ev)
		event_free(p->ev);
	if (p->bev)
		bufferevent_free(p->bev);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

void probe_cancel(struct probe *p)
{
	if (p)
		probe_free(p);
}

/* Reports and frees. */
static void finish(struct probe *p, enum probe_status st, const uint8_t *reply, size_t len,
		   const char *error)
{
	struct probe_result res;
	memset(&res, 0, sizeof res);
	res.status = st;
	res.latency_s = clock_mono() - p->start;
	if (error)
		snprintf(res.error, sizeof res.error, "%s", error);
	if (st == PROBE_ANSWER) {
		if (ldns_wire2pkt(&res.pkt, reply, len) != LDNS_STATUS_OK) {
			res.status = PROBE_ERROR;
			res.pkt = NULL;
			snprintf(res.error, sizeof res.error, "malformed reply (%zu octets)", len);
		} else {
			res.flags = wire_get16(reply + 2);
			res.rcode = (uint16_t)((ldns_pkt_edns_extended_rcode(res.pkt) << 4) |
					       (res.flags & 0xf));
		}
	}
	p->done(p->arg, &res);
	ldns_pkt_free(res.pkt);
	probe_free(p);
}

/* True if a reply matches our query: our id, QR set. */
static bool ours(const struct probe *p, const uint8_t *reply, size_t len)
{
	return len >= WIRE_HEADER_LEN && wire_get16(reply) == p->id &&
	       (wire_get16(reply + 2) & WIRE_FLAG_QR);
}

static void udp_event(evutil_socket_t fd, short what, void *arg)
{
	struct probe *p = arg;
	uint8_t buf[65535];
	char msg[160];

	if (what & EV_TIMEOUT) {
		finish(p, PROBE_TIMEOUT, NULL, 0, "no reply");
		return;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return; /* keep waiting; the timeout still stands */
			if (errno == ECONNREFUSED) {
				finish(p, PROBE_REFUSED, NULL, 0, "port unreachable");
				return;
			}
			snprintf(msg, sizeof msg, "recv: %s", strerror(errno));
			finish(p, PROBE_ERROR, NULL, 0, msg);
			return;
		}
		if (ours(p, buf, (size_t)n)) {
			finish(p, PROBE_ANSWER, buf, (size_t)n, NULL);
			return;
		}
		/* Not ours (a stray or spoofed reply): ignore it, as resolvers do. */
	}
}

static void tcp_read(struct bufferevent *bev, void *arg)
{
	struct probe *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t hdr[2];
	if (evbuffer_copyout(in, hdr, 2) < 2)
		return;
	size_t len = wire_get16(hdr);
	if (evbuffer_get_length(in) < 2 + len)
		return;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		finish(p, PROBE_ERROR, NULL, 0, "out of memory");
		return;
	}
	evbuffer_drain(in, 2);
	evbuffer_remove(in, buf, len);
	if (ours(p, buf, len))
		finish(p, PROBE_ANSWER, buf, len, NULL);
	else
		finish(p, PROBE_ERROR, NULL, 0, "reply with another id");
	free(buf);
}

static void tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct probe *p = arg;
	char msg[160];
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		uint8_t hdr[2];
		wire_put16(hdr, (uint16_t)p->qlen);
		bufferevent_write(p->bev, hdr, 2);
		bufferevent_write(p->bev, p->query, p->qlen);
		bufferevent_enable(p->bev, EV_READ);
		return;
	}
	int e = EVUTIL_SOCKET_ERROR();
	if (what & BEV_EVENT_EOF) {
		finish(p, PROBE_ERROR, NULL, 0, "connection closed before a reply");
	} else if (e == ECONNREFUSED) {
		finish(p, PROBE_REFUSED, NULL, 0, "connection refused");
	} else {
		snprintf(msg, sizeof msg, "tcp: %s", e ? strerror(e) : "connection failed");
		finish(p, PROBE_ERROR, NULL, 0, msg);
	}
}

static void tcp_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish(arg, PROBE_TIMEOUT, NULL, 0, "no reply");
}

/* Builds the query: header, question, optional OPT. */
static int build(struct probe *p, const char *qname, uint16_t qtype, const struct probe_options *o)
{
	ldns_rdf *name = NULL;
	if (ldns_str2rdf_dname(&name, qname) != LDNS_STATUS_OK)
		return -1;
	size_t nlen = ldns_rdf_size(name);
	uint8_t *q = p->query;
	memset(q, 0, WIRE_HEADER_LEN);
	wire_put16(q, p->id);
	wire_put16(q + 2, o->rd ? WIRE_FLAG_RD : 0);
	wire_put16(q + 4, 1);
	memcpy(q + WIRE_HEADER_LEN, ldns_rdf_data(name), nlen);
	size_t n = WIRE_HEADER_LEN + nlen;
	wire_put16(q + n, qtype);
	wire_put16(q + n + 2, DNS_CLASS_IN);
	n += 4;
	ldns_rdf_deep_free(name);
	if (o->edns) {
		static const uint8_t opt[11] = { 0, 0, DNS_TYPE_OPT, 0x04, 0xd0 }; /* 1232 */
		memcpy(q + n, opt, sizeof opt);
		n += sizeof opt;
		wire_put16(q + 10, 1);
	}
	p->qlen = n;
	return 0;
}

struct probe *probe_start(struct event_base *base, const struct addr *server, const char *qname,
			  uint16_t qtype, const struct probe_options *opt, probe_done_fn done,
			  void *arg, char *err, size_t errlen)
{
	struct probe *p = NULL;
	char abuf[80];
	if (!opt->non_loopback && !addr_is_loopback(server)) {
		snprintf(err, errlen, "refusing to query %s: not a loopback address",
			 addr_str(server, abuf, sizeof abuf));
		return NULL;
	}
	if (!(opt->timeout_s > 0)) {
		snprintf(err, errlen, "the timeout must be positive");
		return NULL;
	}
	p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->base = base;
	p->transport = opt->transport;
	p->done = done;
	p->arg = arg;
	p->fd = -1;
	evutil_secure_rng_get_bytes(&p->id, sizeof p->id);
	if (build(p, qname, qtype, opt) != 0) {
		snprintf(err, errlen, "'%s' is not a domain name", qname);
		goto fail;
	}
	struct timeval tv = clock_timeval(opt->timeout_s);
	/* libevent measures timeouts from the time it cached at the top of this
	 * turn of the loop; after a slow callback that is stale, and the probe
	 * would time out early. */
	event_base_update_cache_time(base);
	p->start = clock_mono();
	if (opt->transport == ANSWER_UDP) {
		p->fd = socket(server->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p->fd < 0 || connect(p->fd, (const struct sockaddr *)&server->ss, server->len) != 0 ||
		    send(p->fd, p->query, p->qlen, 0) != (ssize_t)p->qlen) {
			snprintf(err, errlen, "udp query to %s: %s", addr_str(server, abuf, sizeof abuf),
				 strerror(errno));
			goto fail;
		}
		p->ev = event_new(base, p->fd, EV_READ | EV_PERSIST, udp_event, p);
		if (!p->ev || event_add(p->ev, &tv) != 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		return p;
	}
	p->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	p->ev = evtimer_new(base, tcp_deadline, p);
	if (!p->bev || !p->ev || evtimer_add(p->ev, &tv) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	bufferevent_setcb(p->bev, tcp_read, NULL, tcp_event, p);
	if (bufferevent_socket_connect(p->bev, (const struct sockaddr *)&server->ss,
				       (int)server->len) != 0) {
		snprintf(err, errlen, "tcp query to %s: %s", addr_str(server, abuf, sizeof abuf),
			 strerror(errno));
		goto fail;
	}
	return p;
fail:
	probe_free(p);
	return NULL;
}
