/*
 * xfr.c - the AXFR client. libevent moves the bytes and keeps the time;
 * xfr_message() decides about each message and feeds the zone builder.
 *
 * Life cycle: xfr_start -> connected (query sent) -> messages until the
 * closing SOA -> zone_builder_finish -> callback -> freed. Any failure on
 * the way (connect, timer, EOF, a bad message, a limit) goes to the same end
 * through xfr_fail. I/O objects are released before the callback runs, so a
 * callback may even free the event_base.
 */
#include "fakeresolver/xfr.h"
#include "fakeresolver/answer.h"
#include "fakeresolver/wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

struct xfr {
	struct event_base *base; /* borrowed */
	struct bufferevent *bev;
	struct event *timer;
	struct zone_builder *builder;
	xfr_done_fn done;
	void *arg;
	char server[80]; /* "127.0.0.12:5300", for messages */
	uint8_t origin[WIRE_NAME_MAX];
	size_t origin_len;
	unsigned timeout_ms;
	uint16_t id;
	bool connected;
	bool finished; /* the callback is running: xfr_cancel must not free */
	bool have_soa; /* the opening SOA was seen; serial is its serial */
	bool ended;    /* the closing SOA was seen */
	uint32_t serial;
	size_t octets;
	unsigned messages;
	unsigned long records;
	char err[512];
	uint8_t rdata[WIRE_MSG_MAX]; /* one record's decompressed rdata */
};

static void xfr_free(struct xfr *x)
{
	if (!x)
		return;
	if (x->bev)
		bufferevent_free(x->bev);
	if (x->timer)
		event_free(x->timer);
	zone_builder_destroy(x->builder);
	free(x);
}

/* Releases the I/O, calls back once with v (given away) or x->err, then frees x. */
static void xfr_finish(struct xfr *x, struct zone_version *v)
{
	if (x->bev) {
		bufferevent_free(x->bev);
		x->bev = NULL;
	}
	if (x->timer) {
		event_free(x->timer);
		x->timer = NULL;
	}
	zone_builder_destroy(x->builder);
	x->builder = NULL;
	x->finished = true;
	x->done(x->arg, v, v ? NULL : x->err);
	xfr_free(x);
}

static void set_err(struct xfr *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct xfr *x, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(x->err, sizeof x->err, fmt, ap);
	va_end(ap);
}

/* Appends a summary of what arrived so far to x->err ("(3 messages, 412 records)"). */
static void add_progress(struct xfr *x)
{
	size_t n = strlen(x->err);
	snprintf(x->err + n, sizeof x->err - n, " (%u message%s, %lu record%s received)",
		 x->messages, x->messages == 1 ? "" : "s", x->records, x->records == 1 ? "" : "s");
}

/* Checks the question of message (pkt, len) at *pos against ours and steps over it. */
static int check_question(struct xfr *x, const uint8_t *pkt, size_t len, size_t *pos)
{
	uint8_t name[WIRE_NAME_MAX];
	size_t name_len;
	char str[1024], tbuf[16];

	if (wire_name_read(pkt, len, pos, name, &name_len) != 0 || len - *pos < 4) {
		set_err(x, "AXFR from %s: message %u has a malformed question", x->server,
			x->messages);
		return -1;
	}
	uint16_t qtype = wire_get16(pkt + *pos), qclass = wire_get16(pkt + *pos + 2);
	*pos += 4;
	if (!wire_name_equal(name, x->origin) || qtype != DNS_TYPE_AXFR || qclass != DNS_CLASS_IN) {
		wire_name_to_str(name, str, sizeof str);
		set_err(x, "AXFR from %s: message %u answers another question (%s %s class %u)",
			x->server, x->messages, str, answer_type_str(qtype, tbuf, sizeof tbuf),
			qclass);
		return -1;
	}
	return 0;
}

/* Takes one answer record: the opening SOA, a record of the zone, or the closing SOA. */
static int take_record(struct xfr *x, const struct wire_rr *rr)
{
	char str[1024], ostr[1024], tbuf[16];
	bool apex_soa = rr->type == DNS_TYPE_SOA && wire_name_equal(rr->owner, x->origin);

	if (rr->rclass != DNS_CLASS_IN) {
		set_err(x, "AXFR from %s: record %lu has class %u; only class IN is supported",
			x->server, x->records, rr->rclass);
		return -1;
	}
	if (!x->have_soa) {
		if (!apex_soa) {
			wire_name_to_str(rr->owner, str, sizeof str);
			wire_name_to_str(x->origin, ostr, sizeof ostr);
			set_err(x, "AXFR from %s: the first record is %s %s, not the SOA of %s",
				x->server, str, answer_type_str(rr->type, tbuf, sizeof tbuf), ostr);
			return -1;
		}
		/* wire_rr_read checked that an SOA ends with exactly 20 octets. */
		x->serial = wire_get32(rr->rdata + rr->rdlen - 20);
		x->have_soa = true;
	} else if (apex_soa) {
		uint32_t serial = wire_get32(rr->rdata + rr->rdlen - 20);
		if (serial != x->serial) {
			set_err(x,
				"AXFR from %s: the transfer opened with serial %u but closed "
				"with %u (the zone changed during the transfer; try again)",
				x->server, x->serial, serial);
			return -1;
		}
		x->ended = true;
		return 0;
	}
	/* zone_builder_add checks zone membership and rdata, naming the record's position. */
	if (zone_builder_add(x->builder, rr->owner, rr->type, rr->ttl, rr->rdata, rr->rdlen,
			     (unsigned)x->records, x->err, sizeof x->err) != 0)
		return -1;
	return 0;
}

/*
 * Decides about one message (the octets after the length prefix). Returns 0
 * for "more to come", 1 when the closing SOA was in it, or -1 with x->err set.
 */
static int xfr_message(struct xfr *x, const uint8_t *pkt, size_t len)
{
	char rbuf[16];
	size_t pos = WIRE_HEADER_LEN;
	struct wire_rr rr;

	if (len < WIRE_HEADER_LEN) {
		set_err(x, "AXFR from %s: message %u is %zu octets, shorter than a DNS header",
			x->server, x->messages, len);
		return -1;
	}
	uint16_t id = wire_get16(pkt), flags = wire_get16(pkt + 2);
	uint16_t qd = wire_get16(pkt + 4), an = wire_get16(pkt + 6);
	unsigned rest = (unsigned)wire_get16(pkt + 8) + wire_get16(pkt + 10);
	if (id != x->id) {
		set_err(x, "AXFR from %s: message %u has id %u, but the query had id %u", x->server,
			x->messages, id, x->id);
		return -1;
	}
	if (!(flags & WIRE_FLAG_QR) || WIRE_OPCODE(flags) != WIRE_OPCODE_QUERY) {
		set_err(x, "AXFR from %s: message %u is not a response to a QUERY (flags 0x%04x)",
			x->server, x->messages, flags);
		return -1;
	}
	if ((flags & 0xfu) != DNS_RCODE_NOERROR) {
		set_err(x, "AXFR refused by %s: %s", x->server,
			answer_rcode_str(flags & 0xfu, rbuf, sizeof rbuf));
		return -1;
	}
	/* RFC 5936 2.2.1: the first message echoes the question, later ones may. */
	if (qd > 1 || (x->messages == 1 && qd != 1)) {
		set_err(x, "AXFR from %s: message %u has %u questions, expected %s", x->server,
			x->messages, qd, x->messages == 1 ? "1" : "0 or 1");
		return -1;
	}
	if (qd == 1 && check_question(x, pkt, len, &pos) != 0)
		return -1;
	if (x->messages == 1 && an == 0) {
		set_err(x, "AXFR from %s: the first message has no records (expected the SOA)",
			x->server);
		return -1;
	}
	for (unsigned i = 0; i < an; i++) {
		if (x->ended) {
			set_err(x, "AXFR from %s: message %u has records after the closing SOA",
				x->server, x->messages);
			return -1;
		}
		x->records++;
		if (wire_rr_read(pkt, len, &pos, &rr, x->rdata, sizeof x->rdata) != 0) {
			set_err(x, "AXFR from %s: record %lu (in message %u) is malformed",
				x->server, x->records, x->messages);
			return -1;
		}
		if (take_record(x, &rr) != 0)
			return -1;
	}
	/* Authority and additional records (an OPT, a TSIG) are read for framing, not used. */
	for (unsigned i = 0; i < rest; i++) {
		if (wire_rr_read(pkt, len, &pos, &rr, x->rdata, sizeof x->rdata) != 0) {
			set_err(x, "AXFR from %s: message %u has a malformed authority or "
				   "additional record",
				x->server, x->messages);
			return -1;
		}
	}
	if (pos != len) {
		set_err(x, "AXFR from %s: message %u has %zu octets of garbage after its records",
			x->server, x->messages, len - pos);
		return -1;
	}
	return x->ended ? 1 : 0;
}

/* Freezes the zone and calls back; the builder is consumed either way. */
static void xfr_complete(struct xfr *x)
{
	struct zone_version *v = zone_builder_finish(x->builder, x->err, sizeof x->err);
	x->builder = NULL;
	xfr_finish(x, v);
}

static void xfr_read(struct bufferevent *bev, void *arg)
{
	struct xfr *x = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t prefix[2];

	while (evbuffer_copyout(in, prefix, 2) == 2) {
		size_t n = wire_get16(prefix);
		if (evbuffer_get_length(in) < 2 + n)
			return; /* the rest of the message is still on its way */
		if (x->messages >= XFR_MAX_MESSAGES || 2 + n > XFR_MAX_OCTETS - x->octets) {
			set_err(x,
				"AXFR from %s: more than %u messages or %u MiB; refusing the rest",
				x->server, XFR_MAX_MESSAGES, XFR_MAX_OCTETS >> 20);
			add_progress(x);
			xfr_finish(x, NULL);
			return;
		}
		x->octets += 2 + n;
		x->messages++;
		const uint8_t *pkt = evbuffer_pullup(in, (ev_ssize_t)(2 + n));
		int r;
		if (!pkt) {
			set_err(x, "AXFR from %s: out of memory", x->server);
			r = -1;
		} else {
			r = xfr_message(x, pkt + 2, n);
		}
		evbuffer_drain(in, 2 + n);
		if (r < 0) {
			xfr_finish(x, NULL);
			return;
		}
		if (r > 0) {
			xfr_complete(x);
			return;
		}
	}
}

static void xfr_event(struct bufferevent *bev, short what, void *arg)
{
	struct xfr *x = arg;

	if (what & BEV_EVENT_CONNECTED) {
		uint8_t q[2 + WIRE_HEADER_LEN + WIRE_NAME_MAX + 4] = { 0 };
		size_t len = WIRE_HEADER_LEN + x->origin_len + 4;
		x->connected = true;
		wire_put16(q, (uint16_t)len);
		wire_put16(q + 2, x->id);
		wire_put16(q + 2 + 4, 1); /* one question; flags 0: no RD */
		memcpy(q + 2 + WIRE_HEADER_LEN, x->origin, x->origin_len);
		wire_put16(q + 2 + WIRE_HEADER_LEN + x->origin_len, DNS_TYPE_AXFR);
		wire_put16(q + 2 + WIRE_HEADER_LEN + x->origin_len + 2, DNS_CLASS_IN);
		if (bufferevent_write(bev, q, 2 + len) != 0) {
			set_err(x, "AXFR from %s: out of memory", x->server);
			xfr_finish(x, NULL);
		}
		return;
	}
	if (!x->connected) {
		int e = EVUTIL_SOCKET_ERROR();
		set_err(x, "cannot connect to %s: %s", x->server,
			e ? evutil_socket_error_to_string(e) : "connection failed");
	} else if (what & BEV_EVENT_EOF) {
		size_t left = evbuffer_get_length(bufferevent_get_input(bev));
		set_err(x,
			"AXFR from %s: the server closed the connection before the closing "
			"SOA%s",
			x->server, left ? ", in the middle of a message" : "");
		add_progress(x);
	} else {
		int e = EVUTIL_SOCKET_ERROR();
		set_err(x, "AXFR from %s: %s", x->server,
			e ? evutil_socket_error_to_string(e) : "connection error");
		add_progress(x);
	}
	xfr_finish(x, NULL);
}

static void xfr_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct xfr *x = arg;
	(void)fd;
	(void)what;
	set_err(x, "AXFR from %s timed out after %u ms", x->server, x->timeout_ms);
	if (!x->connected)
		snprintf(x->err + strlen(x->err), sizeof x->err - strlen(x->err),
			 " (still connecting)");
	else
		add_progress(x);
	xfr_finish(x, NULL);
}

/* Length of a well-formed uncompressed wire name, or 0. */
static size_t origin_len(const uint8_t *name)
{
	size_t n = 0;
	while (name[n]) {
		if (name[n] > WIRE_LABEL_MAX || n + 1 + name[n] + 1 > WIRE_NAME_MAX)
			return 0;
		n += (size_t)name[n] + 1;
	}
	return n + 1;
}

struct xfr *xfr_start(struct event_base *base, const struct addr *server, const uint8_t *origin,
		      unsigned timeout_ms, xfr_done_fn done, void *arg, char *err, size_t errlen)
{
	struct xfr *x = NULL;
	char label[128];
	bool ok = false;

	const char *bad = NULL;
	if (!base || !server || !done)
		bad = "needs an event_base, a server and a callback";
	else if (timeout_ms == 0)
		bad = "the timeout must be more than 0 ms";
	else if (!origin || !origin_len(origin))
		bad = "the origin is not a wire name";
	if (bad) {
		snprintf(err, errlen, "xfr_start: %s", bad);
		goto out;
	}
	if (!addr_is_loopback(server)) {
		char buf[80];
		snprintf(err, errlen,
			 "refusing AXFR from %s: dnschaos only talks to loopback addresses "
			 "(127.0.0.0/8, ::1); point the zone source at one of those",
			 addr_str(server, buf, sizeof buf));
		goto out;
	}
	x = calloc(1, sizeof *x);
	if (!x) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	x->base = base;
	x->done = done;
	x->arg = arg;
	x->timeout_ms = timeout_ms;
	x->origin_len = origin_len(origin);
	memcpy(x->origin, origin, x->origin_len);
	addr_str(server, x->server, sizeof x->server);
	snprintf(label, sizeof label, "axfr from %s", x->server);
	evutil_secure_rng_get_bytes(&x->id, sizeof x->id);

	x->builder = zone_builder_create(x->origin, label);
	x->timer = evtimer_new(base, xfr_timeout, x);
	x->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!x->builder || !x->timer || !x->bev) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	bufferevent_setcb(x->bev, xfr_read, NULL, xfr_event, x);
	/* At most one whole message (and its length prefix) waits in the input. */
	bufferevent_setwatermark(x->bev, EV_READ, 0, 2 + WIRE_MSG_MAX);
	struct timeval tv = { (time_t)(timeout_ms / 1000),
			      (suseconds_t)(timeout_ms % 1000) * 1000 };
	if (bufferevent_enable(x->bev, EV_READ) != 0 || evtimer_add(x->timer, &tv) != 0) {
		snprintf(err, errlen, "cannot start the AXFR from %s: event setup failed",
			 x->server);
		goto out;
	}
	/*
	 * A refused connection comes back through xfr_event (libevent defers even
	 * one that connect() refuses at once); only local failures return here.
	 */
	if (bufferevent_socket_connect(x->bev, (const struct sockaddr *)&server->ss,
				       (int)server->len) != 0) {
		int e = EVUTIL_SOCKET_ERROR();
		snprintf(err, errlen, "cannot connect to %s: %s", x->server,
			 evutil_socket_error_to_string(e));
		goto out;
	}
	ok = true;
out:
	if (!ok) {
		xfr_free(x);
		x = NULL;
	}
	return x;
}

void xfr_cancel(struct xfr *x)
{
	if (!x || x->finished)
		return;
	xfr_free(x);
}
