/*
 * vip.c - the userspace VIP on the loop: UDP forwarding with id rewriting,
 * TCP splicing, port unreachable relayed to clients through a raw socket.
 * Which backend gets a packet is asked of the router (route.c), with the
 * time read here.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include "harness/lb/vip.h"
#include "fakeresolver/clock.h"
#include "fakeresolver/answer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/icmp6.h>
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

/* ---- forwarding ---- */

#define BATCH 32
#define QUERY_MAX 4096
#define REPLY_MAX 65535
#define IDS 65536
#define UPSTREAM_FULL 60000 /* past this many in flight, open another socket */
#define REFUSED_HOLD_S 1.0

struct inflight {
	double sent;
	struct sockaddr_storage client;
	socklen_t client_len;
	uint64_t tag;     /* what the log function returned for it */
	uint16_t orig_id;
	bool used;
	bool new_flow, pinned_down; /* its route, for the reply event */
};

struct upstream {
	struct vip *vip;
	int backend;
	int fd;
	struct event *ev;
	struct addr local_addr; /* its own address: what an in-process backend is told */
	struct inflight *slots; /* IDS entries */
	unsigned live;
	uint16_t next_id;
	struct upstream *next;
};

struct backend {
	struct vip_backend_config cfg;
	struct upstream *ups;
	double refused_until;
};

struct splice {
	struct vip *vip;
	struct bufferevent *client, *server;
	struct addr local; /* the server side's own address (backend off loopback); len 0: none */
	struct splice *prev, *next;
};

struct vip {
	struct event_base *base;
	struct vip_config cfg;
	struct vip_router *router;
	struct backend backends[VIP_BACKENDS_MAX];
	struct addr bound;
	int fd;
	int raw_fd;             /* VIP_ICMP: port unreachable to clients; -1 if none */
	char icmp_error[192];   /* VIP_ICMP without raw_fd: why */
	struct event *ev;
	struct event *sweep_ev;
	struct evconnlistener *listener;
	struct splice *splices;
	vip_log_fn log;
	void *log_arg;
	struct vip_stats stats;
	/* Batches: queries in, replies out. */
	struct mmsghdr in[BATCH], out[BATCH];
	struct iovec in_iov[BATCH], out_iov[BATCH];
	struct sockaddr_storage peers[BATCH];
	uint8_t in_buf[BATCH][QUERY_MAX];
	uint8_t *out_buf; /* BATCH x REPLY_MAX */
	struct sockaddr_storage out_peers[BATCH];
	/* In-process replies while client_read runs: gathered in out[], sent per batch. */
	bool gathering;
	int out_n;
	double now;
};

/* The time the VIP reads: its config's clock (the run's), or the monotonic clock. */
static double vip_clock(const struct vip *v)
{
	return v->cfg.clock ? v->cfg.clock() : clock_mono();
}

void vip_config_defaults(struct vip_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->policy = VIP_FLOW;
	cfg->on_down = VIP_KEEP;
	cfg->on_refused = VIP_ICMP;
	cfg->flow_idle_s = 30;
	cfg->query_timeout_s = 5;
}

static uint64_t log_route(struct vip *v, bool tcp, const struct addr *client, uint16_t id,
			  const struct vip_route *rt, const char *action, const uint8_t *pkt,
			  size_t len)
{
	if (!v->log)
		return 0;
	struct vip_event ev = {
		tcp,
		client,
		id,
		rt->backend,
		rt->backend >= 0 ? v->backends[rt->backend].cfg.name : NULL,
		rt->new_flow,
		rt->pinned_down,
		action,
		pkt,
		len,
		false,
		0,
	};
	return v->log(v->log_arg, &ev);
}

/* ---- port unreachable for clients (VIP_ICMP) ---- */

/* What an ICMP error quotes of the client's datagram, at most: the kernel's
 * own errors fill 576 octets (IPv4) or the minimum MTU, 1280 (IPv6). */
#define QUOTE4_MAX (576 - 20 - 8 - 20 - 8)
#define QUOTE6_MAX (1280 - 40 - 8 - 40 - 8)
#define ICMP_PKT_MAX (1280 - 40)

/* The Internet checksum (RFC 1071) of n octets. */
static uint16_t inet_sum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * The datagram the client sent, as the kernel's ICMP error would quote it:
 * its IP header (client -> vip) and UDP header, then q (its DNS query, as
 * sent) cut to quote octets. Returns the octets written at b.
 */
static size_t quote_datagram(uint8_t *b, const struct sockaddr_storage *client,
			     const struct addr *vip, const uint8_t *q, size_t qlen, size_t quote)
{
	size_t iph = client->ss_family == AF_INET ? 20 : 40;
	uint8_t *udp = b + iph;
	memset(b, 0, iph + 8);
	if (client->ss_family == AF_INET) {
		const struct sockaddr_in *c = (const struct sockaddr_in *)client;
		const struct sockaddr_in *d = (const struct sockaddr_in *)&vip->ss;
		b[0] = 0x45;
		wire_put16(b + 2, (uint16_t)(20 + 8 + qlen));
		b[6] = 0x40; /* DF */
		b[8] = 64;
		b[9] = IPPROTO_UDP;
		memcpy(b + 12, &c->sin_addr, 4);
		memcpy(b + 16, &d->sin_addr, 4);
		wire_put16(b + 10, inet_sum(b, 20));
		memcpy(udp, &c->sin_port, 2);
		memcpy(udp + 2, &d->sin_port, 2);
	} else {
		const struct sockaddr_in6 *c = (const struct sockaddr_in6 *)client;
		const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)&vip->ss;
		b[0] = 0x60;
		wire_put16(b + 4, (uint16_t)(8 + qlen));
		b[6] = IPPROTO_UDP;
		b[7] = 64;
		memcpy(b + 8, &c->sin6_addr, 16);
		memcpy(b + 24, &d->sin6_addr, 16);
		memcpy(udp, &c->sin6_port, 2);
		memcpy(udp + 2, &d->sin6_port, 2);
	}
	wire_put16(udp + 4, (uint16_t)(8 + qlen));
	size_t n = qlen < quote ? qlen : quote;
	memcpy(udp + 8, q, n);
	return iph + 8 + n;
}

/*
 * Sends the client a port unreachable from the VIP's address for its query
 * q (its own id), as conntrack relays the backend's: type 3 code 3 (IPv4,
 * with our IP header: IPPROTO_RAW) or ICMPv6 type 1 code 4 (the kernel adds
 * the IPv6 header and the checksum). 0, or -errno.
 */
static int icmp_send(struct vip *v, const struct sockaddr_storage *client, socklen_t clen,
		     const uint8_t *q, size_t qlen)
{
	uint8_t b[ICMP_PKT_MAX];
	size_t n;
	struct sockaddr_storage to;
	memcpy(&to, client, sizeof to);
	if (client->ss_family == AF_INET) {
		const struct sockaddr_in *d = (const struct sockaddr_in *)&v->bound.ss;
		uint8_t *icmp = b + 20;
		memset(b, 0, 28);
		n = 28 + quote_datagram(b + 28, client, &v->bound, q, qlen, QUOTE4_MAX);
		b[0] = 0x45;
		wire_put16(b + 2, (uint16_t)n);
		b[8] = 64;
		b[9] = IPPROTO_ICMP;
		memcpy(b + 12, &d->sin_addr, 4);
		memcpy(b + 16, &((const struct sockaddr_in *)client)->sin_addr, 4);
		icmp[0] = 3; /* destination unreachable */
		icmp[1] = 3; /* port unreachable */
		wire_put16(icmp + 2, inet_sum(icmp, n - 20));
		((struct sockaddr_in *)&to)->sin_port = 0;
	} else {
		memset(b, 0, 8);
		n = 8 + quote_datagram(b + 8, client, &v->bound, q, qlen, QUOTE6_MAX);
		b[0] = ICMP6_DST_UNREACH;
		b[1] = ICMP6_DST_UNREACH_NOPORT;
		((struct sockaddr_in6 *)&to)->sin6_port = 0;
	}
	if (sendto(v->raw_fd, b, n, MSG_DONTWAIT, (const struct sockaddr *)&to, clen) < 0)
		return -errno;
	return 0;
}

/*
 * A query (q, with the client's id) met a closed port, or no backend was
 * up: the client gets a port unreachable (VIP_ICMP), and the history a
 * reply event tagged as the query's own.
 */
static void unreachable(struct vip *v, const struct sockaddr_storage *client, socklen_t clen,
			const uint8_t *q, size_t qlen, int backend, bool new_flow,
			bool pinned_down, uint64_t tag)
{
	bool sent = v->raw_fd >= 0 && icmp_send(v, client, clen, q, qlen) == 0;
	if (sent)
		v->stats.icmp_sent++;
	else
		v->stats.icmp_failed++;
	if (!v->log)
		return;
	struct addr a;
	memcpy(&a.ss, client, sizeof a.ss);
	a.len = clen;
	struct vip_event ev = {
		false,
		&a,
		qlen >= WIRE_HEADER_LEN ? wire_get16(q) : 0,
		backend,
		backend >= 0 ? v->backends[backend].cfg.name : NULL,
		new_flow,
		pinned_down,
		sent ? "refused-icmp" : "refused-noicmp",
		q,
		qlen,
		true,
		tag,
	};
	(void)v->log(v->log_arg, &ev);
}

/* Opens the raw socket of VIP_ICMP; on failure says why in icmp_error. */
static void icmp_open(struct vip *v)
{
	int fam = v->bound.ss.ss_family;
	int fd = socket(fam, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			fam == AF_INET ? IPPROTO_RAW : IPPROTO_ICMPV6);
	if (fd >= 0 && fam == AF_INET6) {
		/* Send only: let nothing in. From the VIP's own address. */
		struct icmp6_filter f;
		ICMP6_FILTER_SETBLOCKALL(&f);
		struct addr a = v->bound;
		addr_set_port(&a, 0);
		if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f) != 0 ||
		    bind(fd, (const struct sockaddr *)&a.ss, a.len) != 0) {
			int e = errno;
			close(fd);
			fd = -1;
			errno = e;
		}
	}
	if (fd < 0) {
		snprintf(v->icmp_error, sizeof v->icmp_error,
			 "cannot open a raw socket to relay port unreachable to clients: %s (run "
			 "as root or with CAP_NET_RAW); clients of a stopped backend see silence",
			 strerror(errno));
		return;
	}
	v->raw_fd = fd;
}

static void upstream_read(evutil_socket_t fd, short what, void *arg);

static struct upstream *upstream_open(struct vip *v, int b)
{
	struct backend *be = &v->backends[b];
	struct upstream *u = calloc(1, sizeof *u);
	if (!u)
		return NULL;
	u->vip = v;
	u->backend = b;
	u->slots = calloc(IDS, sizeof *u->slots);
	u->fd = socket(be->cfg.addr.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!u->slots || u->fd < 0)
		goto fail;
	int size = 4 * 1024 * 1024;
	if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
		(void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	/* From the VIP's own address, not 127.0.0.1: the history tells forwarded
	 * queries from clients' own (a glibc client sends from 127.0.0.1). A
	 * backend on another host gets them from the host's address towards it
	 * (vip_sends_from tells them apart): loopback never leaves the host. */
	struct addr from = v->bound;
	addr_set_port(&from, 0);
	if (from.ss.ss_family == be->cfg.addr.ss.ss_family && addr_is_loopback(&be->cfg.addr))
		(void)bind(u->fd, (const struct sockaddr *)&from.ss, from.len);
	/* VIP_ICMP: each port unreachable on the error queue, with the query it
	 * quotes, so that it goes back to the client that sent that query. */
	int one = 1;
	if (v->cfg.on_refused == VIP_ICMP &&
	    setsockopt(u->fd, be->cfg.addr.ss.ss_family == AF_INET ? SOL_IP : SOL_IPV6,
		       be->cfg.addr.ss.ss_family == AF_INET ? IP_RECVERR : IPV6_RECVERR, &one,
		       sizeof one) != 0)
		goto fail;
	/* Connected: the kernel then reports the backend's port unreachable to us. */
	if (connect(u->fd, (const struct sockaddr *)&be->cfg.addr.ss, be->cfg.addr.len) != 0)
		goto fail;
	socklen_t alen = sizeof u->local_addr.ss;
	if (getsockname(u->fd, (struct sockaddr *)&u->local_addr.ss, &alen) != 0)
		goto fail;
	u->local_addr.len = alen;
	u->ev = event_new(v->base, u->fd, EV_READ | EV_PERSIST, upstream_read, u);
	if (!u->ev || event_add(u->ev, NULL) != 0)
		goto fail;
	evutil_secure_rng_get_bytes(&u->next_id, sizeof u->next_id);
	u->next = be->ups;
	be->ups = u;
	return u;
fail:
	if (u->ev)
		event_free(u->ev);
	if (u->fd >= 0)
		close(u->fd);
	free(u->slots);
	free(u);
	return NULL;
}

/* A socket to backend b with a free id; *id gets it. NULL if none can be had. */
static struct upstream *upstream_for(struct vip *v, int b, double now, uint16_t *id)
{
	struct backend *be = &v->backends[b];
	struct upstream *u = be->ups;
	while (u && u->live >= UPSTREAM_FULL)
		u = u->next;
	if (!u)
		u = upstream_open(v, b);
	if (!u)
		return NULL;
	for (unsigned tries = 0; tries < IDS; tries++) {
		uint16_t cand = u->next_id++;
		struct inflight *s = &u->slots[cand];
		if (s->used && now - s->sent <= v->cfg.query_timeout_s)
			continue;
		if (s->used) {
			s->used = false; /* forgotten: its reply never came */
			u->live--;
		}
		*id = cand;
		return u;
	}
	return NULL;
}

static void reply_servfail(struct vip *v, const uint8_t *pkt, size_t len,
			   const struct sockaddr_storage *peer, socklen_t plen)
{
	struct answer_info info;
	uint8_t out[512];
	info.verdict = wire_query_parse(pkt, len, &info.query);
	size_t n = answer_error(pkt, len, ANSWER_UDP, out, sizeof out, DNS_RCODE_SERVFAIL, false,
				&info);
	if (n)
		(void)sendto(v->fd, out, n, MSG_DONTWAIT, (const struct sockaddr *)peer, plen);
}

/* A query for a backend whose port is closed: dropped or SERVFAILed. */
static void refuse(struct vip *v, const uint8_t *pkt, size_t len, const struct addr *client,
		   uint16_t cid, const struct vip_route *rt)
{
	bool sf = v->cfg.on_refused == VIP_SERVFAIL;
	v->stats.refused++;
	log_route(v, false, client, cid, rt, sf ? "refused-servfail" : "refused-drop", pkt, len);
	if (sf)
		reply_servfail(v, pkt, len, &client->ss, client->len);
}

/*
 * A backend's reply at pkt (in out_buf): matched to its query by the id,
 * given the client's id back and queued as out[m]. The reply refreshes the
 * client's pin, as conntrack does. False for a reply to nothing in flight.
 */
static bool relay_take(struct upstream *u, uint8_t *pkt, size_t len, double now, int m)
{
	struct vip *v = u->vip;
	if (len < WIRE_HEADER_LEN) {
		v->stats.stray++;
		return false;
	}
	struct inflight *s = &u->slots[wire_get16(pkt)];
	if (!s->used) {
		v->stats.stray++;
		return false;
	}
	s->used = false;
	u->live--;
	wire_put16(pkt, s->orig_id);
	memcpy(&v->out_peers[m], &s->client, sizeof s->client);
	v->out_iov[m].iov_base = pkt;
	v->out_iov[m].iov_len = len;
	memset(&v->out[m].msg_hdr, 0, sizeof v->out[m].msg_hdr);
	v->out[m].msg_hdr.msg_name = &v->out_peers[m];
	v->out[m].msg_hdr.msg_namelen = s->client_len;
	v->out[m].msg_hdr.msg_iov = &v->out_iov[m];
	v->out[m].msg_hdr.msg_iovlen = 1;
	struct vip_flow_key k;
	memcpy(&k.client.ss, &s->client, sizeof k.client.ss);
	k.client.len = s->client_len;
	k.tcp = false;
	vip_router_touch(v->router, &k, now);
	return true;
}

/* Sends out[0..m) to the clients; a message the kernel refuses is skipped. */
static void relay_flush(struct vip *v, int m)
{
	int sent = 0;
	while (sent < m) {
		int r = sendmmsg(v->fd, v->out + sent, (unsigned)(m - sent), MSG_DONTWAIT);
		if (r <= 0) {
			sent++;
			continue;
		}
		sent += r;
		v->stats.replies += (uint64_t)r;
	}
}

/* An in-process backend's reply (see struct vip_local): during client_read
 * it joins the batch, otherwise (a delayed reply) it leaves at once. */
static void local_reply(void *arg, const uint8_t *reply, size_t len)
{
	struct upstream *u = arg;
	struct vip *v = u->vip;
	int m = v->gathering ? v->out_n : 0;
	uint8_t *pkt = v->out_buf + (size_t)m * REPLY_MAX;
	if (len > REPLY_MAX)
		len = REPLY_MAX;
	memcpy(pkt, reply, len);
	if (!relay_take(u, pkt, len, v->gathering ? v->now : vip_clock(v), m))
		return;
	v->backends[u->backend].refused_until = 0; /* it answers again */
	if (!v->gathering) {
		relay_flush(v, 1);
	} else if (++v->out_n == BATCH) {
		relay_flush(v, v->out_n);
		v->out_n = 0;
	}
}

/* Forwards the query at pkt (its id already the VIP's) to an in-process backend. */
static void forward_local(struct backend *be, struct upstream *u, struct inflight *s,
			  uint8_t *pkt, size_t len, double now)
{
	if (be->cfg.local.deliver(be->cfg.local.arg, pkt, len, &u->local_addr, local_reply, u) ==
	    0)
		return; /* answered already, or owed: s may be free again */
	/* The port is closed. VIP_ICMP: the client hears so at once, as the
	 * kernel's port unreachable over loopback would tell it. Otherwise, as
	 * over loopback, this query is lost and the refusal holds the backend's
	 * next queries off. */
	s->used = false;
	u->live--;
	if (u->vip->cfg.on_refused == VIP_ICMP) {
		wire_put16(pkt, s->orig_id);
		unreachable(u->vip, &s->client, s->client_len, pkt, len, u->backend, s->new_flow,
			    s->pinned_down, s->tag);
		return;
	}
	be->refused_until = now + REFUSED_HOLD_S;
}

/*
 * VIP_ICMP over loopback: the port unreachables the backend's kernel sent
 * for our queries, one per entry of the socket's error queue (IP_RECVERR),
 * each quoting the query as the VIP sent it. Its id finds the client, which
 * gets its own.
 */
static void drain_errors(struct upstream *u)
{
	struct vip *v = u->vip;
	uint8_t q[QUERY_MAX];
	union {
		char buf[512];
		struct cmsghdr align;
	} control;
	for (int round = 0; round < 4096; round++) {
		struct iovec iov = { q, sizeof q };
		struct msghdr mh;
		memset(&mh, 0, sizeof mh);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof control.buf;
		ssize_t len = recvmsg(u->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
		if (len < 0)
			return;
		bool refused = false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if ((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
			    (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
				struct sock_extended_err ee;
				memcpy(&ee, CMSG_DATA(c), sizeof ee);
				refused = ee.ee_errno == ECONNREFUSED;
			}
		}
		if (!refused || len < WIRE_HEADER_LEN)
			continue;
		struct inflight *s = &u->slots[wire_get16(q)];
		if (!s->used)
			continue; /* forgotten already (query_timeout) */
		s->used = false;
		u->live--;
		wire_put16(q, s->orig_id);
		unreachable(v, &s->client, s->client_len, q, (size_t)len, u->backend, s->new_flow,
			    s->pinned_down, s->tag);
	}
}

static void client_read(evutil_socket_t fd, short what, void *arg)
{
	struct vip *v = arg;
	(void)what;
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < BATCH; i++) {
			v->in_iov[i].iov_base = v->in_buf[i];
			v->in_iov[i].iov_len = QUERY_MAX;
			memset(&v->in[i].msg_hdr, 0, sizeof v->in[i].msg_hdr);
			v->in[i].msg_hdr.msg_name = &v->peers[i];
			v->in[i].msg_hdr.msg_namelen = sizeof v->peers[i];
			v->in[i].msg_hdr.msg_iov = &v->in_iov[i];
			v->in[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(fd, v->in, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		double now = vip_clock(v);
		v->gathering = true;
		v->out_n = 0;
		v->now = now;
		for (int i = 0; i < n; i++) {
			uint8_t *pkt = v->in_buf[i];
			size_t len = v->in[i].msg_len;
			if (len < WIRE_HEADER_LEN || (v->in[i].msg_hdr.msg_flags & MSG_TRUNC) ||
			    (wire_get16(pkt + 2) & WIRE_FLAG_QR))
				continue; /* not a query we could forward */
			v->stats.queries++;
			struct vip_flow_key k;
			memcpy(&k.client.ss, &v->peers[i], sizeof k.client.ss);
			k.client.len = v->in[i].msg_hdr.msg_namelen;
			k.tcp = false;
			uint16_t cid = wire_get16(pkt);
			struct vip_route rt = vip_router_route(v->router, &k, now);
			if (rt.backend < 0) {
				v->stats.no_backend++;
				uint64_t tag =
					log_route(v, false, &k.client, cid, &rt, "no-backend", pkt, len);
				if (v->cfg.on_refused == VIP_SERVFAIL)
					reply_servfail(v, pkt, len, &v->peers[i], k.client.len);
				else if (v->cfg.on_refused == VIP_ICMP) /* as IPVS does */
					unreachable(v, &v->peers[i], k.client.len, pkt, len, -1,
						    rt.new_flow, rt.pinned_down, tag);
				continue;
			}
			struct backend *be = &v->backends[rt.backend];
			if (v->cfg.on_refused != VIP_ICMP && now < be->refused_until) {
				refuse(v, pkt, len, &k.client, cid, &rt);
				continue;
			}
			uint16_t id;
			struct upstream *u = upstream_for(v, rt.backend, now, &id);
			if (!u) {
				v->stats.dropped++;
				log_route(v, false, &k.client, cid, &rt, "dropped", pkt, len);
				continue;
			}
			struct inflight *s = &u->slots[id];
			s->used = true;
			s->sent = now;
			s->orig_id = cid;
			memcpy(&s->client, &v->peers[i], sizeof s->client);
			s->client_len = k.client.len;
			s->new_flow = rt.new_flow;
			s->pinned_down = rt.pinned_down;
			s->tag = 0;
			u->live++;
			wire_put16(pkt, id);
			if (be->cfg.local.deliver) {
				v->stats.forwarded++;
				s->tag = log_route(v, false, &k.client, cid, &rt, "forwarded", pkt,
						   len);
				forward_local(be, u, s, pkt, len, now);
				continue;
			}
			ssize_t sent = send(u->fd, pkt, len, MSG_DONTWAIT);
			if (sent < 0 && errno == ECONNREFUSED && v->cfg.on_refused == VIP_ICMP)
				/* An earlier query's port unreachable, reported by this send (its
				 * own entry waits on the error queue): this one still goes, as
				 * each packet meets the port under DNAT. */
				sent = send(u->fd, pkt, len, MSG_DONTWAIT);
			if (sent < 0) {
				s->used = false;
				u->live--;
				if (errno == ECONNREFUSED && v->cfg.on_refused != VIP_ICMP) {
					/* An earlier query's port unreachable, reported (and
					 * cleared) by this send: upstream_read won't see it. */
					be->refused_until = now + REFUSED_HOLD_S;
					wire_put16(pkt, cid);
					refuse(v, pkt, len, &k.client, cid, &rt);
				} else {
					v->stats.dropped++;
					log_route(v, false, &k.client, cid, &rt, "dropped", pkt, len);
				}
				continue;
			}
			v->stats.forwarded++;
			s->tag = log_route(v, false, &k.client, cid, &rt, "forwarded", pkt, len);
		}
		v->gathering = false;
		relay_flush(v, v->out_n);
		v->out_n = 0;
		if (n < BATCH)
			return;
	}
}

static void upstream_read(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;
	struct vip *v = u->vip;
	(void)what;
	for (int round = 0; round < 8; round++) {
		if (v->cfg.on_refused == VIP_ICMP)
			drain_errors(u);
		for (int i = 0; i < BATCH; i++) {
			v->in_iov[i].iov_base = v->out_buf + (size_t)i * REPLY_MAX;
			v->in_iov[i].iov_len = REPLY_MAX;
			memset(&v->in[i].msg_hdr, 0, sizeof v->in[i].msg_hdr);
			v->in[i].msg_hdr.msg_iov = &v->in_iov[i];
			v->in[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(fd, v->in, BATCH, MSG_DONTWAIT, NULL);
		if (n < 0 && errno == ECONNREFUSED) {
			/* The backend's port is closed. VIP_ICMP: the error queue says
			 * for which queries (drained above and next round). */
			v->backends[u->backend].refused_until = vip_clock(v) + REFUSED_HOLD_S;
			continue;
		}
		if (n <= 0)
			return;
		double now = vip_clock(v);
		int m = 0;
		for (int i = 0; i < n; i++)
			if (relay_take(u, v->out_buf + (size_t)i * REPLY_MAX, v->in[i].msg_len, now,
				       m))
				m++;
		v->backends[u->backend].refused_until = 0; /* it answers again */
		relay_flush(v, m);
		if (n < BATCH)
			return;
	}
}

/* Once a second: forget idle flows and queries whose replies never came. */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct vip *v = arg;
	(void)fd;
	(void)what;
	double now = vip_clock(v);
	vip_router_expire(v->router, now);
	for (size_t b = 0; b < v->cfg.nbackends; b++)
		for (struct upstream *u = v->backends[b].ups; u; u = u->next) {
			if (u->live == 0)
				continue;
			for (unsigned i = 0; i < IDS; i++) {
				struct inflight *s = &u->slots[i];
				if (s->used && now - s->sent > v->cfg.query_timeout_s) {
					s->used = false;
					u->live--;
				}
			}
		}
}

/* ---- TCP: one backend per connection, bytes spliced both ways ---- */

static void splice_free(struct splice *sp)
{
	struct vip *v = sp->vip;
	if (sp->prev)
		sp->prev->next = sp->next;
	else
		v->splices = sp->next;
	if (sp->next)
		sp->next->prev = sp->prev;
	if (sp->client)
		bufferevent_free(sp->client);
	if (sp->server)
		bufferevent_free(sp->server);
	free(sp);
}

static void splice_read(struct bufferevent *bev, void *arg)
{
	struct splice *sp = arg;
	struct bufferevent *other = bev == sp->client ? sp->server : sp->client;
	evbuffer_add_buffer(bufferevent_get_output(other), bufferevent_get_input(bev));
}

/* The other side has written out what the closed side sent: done. */
static void splice_drained(struct bufferevent *bev, void *arg)
{
	(void)bev;
	splice_free(arg);
}

static void splice_event(struct bufferevent *bev, short what, void *arg)
{
	struct splice *sp = arg;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
		return;
	/* What one side sent before closing (a backend that answers and
	 * closes) still goes to the other side before both are closed. */
	struct bufferevent *other = bev == sp->client ? sp->server : sp->client;
	if (evbuffer_get_length(bufferevent_get_output(other)) > 0) {
		bufferevent_disable(bev, EV_READ | EV_WRITE);
		bufferevent_disable(other, EV_READ);
		bufferevent_setcb(other, NULL, splice_drained, splice_event, sp);
		return;
	}
	splice_free(sp);
}

static void tcp_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		       void *arg)
{
	struct vip *v = arg;
	(void)l;
	struct vip_flow_key k;
	memset(&k, 0, sizeof k);
	memcpy(&k.client.ss, sa, (size_t)salen < sizeof k.client.ss ? (size_t)salen : sizeof k.client.ss);
	k.client.len = (socklen_t)salen;
	k.tcp = true;
	v->stats.tcp_conns++;
	struct vip_route rt = vip_router_route(v->router, &k, vip_clock(v));
	if (rt.backend < 0) {
		log_route(v, true, &k.client, 0, &rt, "no-backend", NULL, 0);
		evutil_closesocket(fd);
		return;
	}
	struct splice *sp = calloc(1, sizeof *sp);
	if (!sp) {
		evutil_closesocket(fd);
		return;
	}
	sp->vip = v;
	sp->client = bufferevent_socket_new(v->base, fd, BEV_OPT_CLOSE_ON_FREE);
	sp->server = bufferevent_socket_new(v->base, -1, BEV_OPT_CLOSE_ON_FREE);
	sp->next = v->splices;
	if (v->splices)
		v->splices->prev = sp;
	v->splices = sp;
	if (!sp->client || !sp->server) {
		if (!sp->client)
			evutil_closesocket(fd);
		splice_free(sp);
		return;
	}
	bufferevent_setcb(sp->client, splice_read, NULL, splice_event, sp);
	bufferevent_setcb(sp->server, splice_read, NULL, splice_event, sp);
	const struct addr *to = &v->backends[rt.backend].cfg.addr;
	if (bufferevent_socket_connect(sp->server, (const struct sockaddr *)&to->ss, (int)to->len) !=
	    0) {
		splice_free(sp);
		return;
	}
	if (!addr_is_loopback(to)) { /* its port is bound once connect has begun */
		sp->local.len = sizeof sp->local.ss;
		if (getsockname(bufferevent_getfd(sp->server), (struct sockaddr *)&sp->local.ss,
		                &sp->local.len) != 0)
			sp->local.len = 0;
	}
	bufferevent_enable(sp->client, EV_READ | EV_WRITE);
	bufferevent_enable(sp->server, EV_READ | EV_WRITE);
	log_route(v, true, &k.client, 0, &rt, "forwarded", NULL, 0);
}

/* ---- lifecycle ---- */

struct vip *vip_create(struct event_base *base, const struct vip_config *cfg, struct rng *rng,
		       char *err, size_t errlen)
{
	char buf[80];
	unsigned weights[VIP_BACKENDS_MAX];
	struct vip *v = NULL;

	if (cfg->nbackends == 0 || cfg->nbackends > VIP_BACKENDS_MAX) {
		snprintf(err, errlen, "a VIP needs 1 to %d backends", VIP_BACKENDS_MAX);
		return NULL;
	}
	if (!addr_is_loopback(&cfg->addr)) {
		snprintf(err, errlen, "the VIP address %s is not loopback",
			 addr_str(&cfg->addr, buf, sizeof buf));
		return NULL;
	}
	for (size_t i = 0; i < cfg->nbackends; i++) {
		if (!cfg->non_loopback && !addr_is_loopback(&cfg->backends[i].addr)) {
			snprintf(err, errlen, "backend %s at %s is not loopback", cfg->backends[i].name,
				 addr_str(&cfg->backends[i].addr, buf, sizeof buf));
			return NULL;
		}
		weights[i] = cfg->backends[i].weight;
	}
	v = calloc(1, sizeof *v);
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	v->base = base;
	v->cfg = *cfg;
	v->fd = -1;
	v->raw_fd = -1;
	for (size_t i = 0; i < cfg->nbackends; i++)
		v->backends[i].cfg = cfg->backends[i];
	v->out_buf = malloc((size_t)BATCH * REPLY_MAX);
	v->router = vip_router_create(cfg->policy, cfg->on_down, cfg->flow_idle_s, weights,
				      cfg->nbackends, rng);
	if (!v->out_buf || !v->router) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* UDP first (it picks the port with port 0), then TCP on the same port;
	 * with port 0, a port already taken for TCP means another try (as the
	 * fakeresolver server does). */
	bool pick = addr_port(&cfg->addr) == 0;
	struct addr a;
	for (int attempt = 0;; attempt++) {
		a = cfg->addr;
		v->fd = socket(a.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int size = 4 * 1024 * 1024;
		if (v->fd >= 0 &&
		    setsockopt(v->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
			(void)setsockopt(v->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
		socklen_t len = sizeof a.ss;
		if (v->fd < 0 || bind(v->fd, (struct sockaddr *)&a.ss, a.len) != 0 ||
		    getsockname(v->fd, (struct sockaddr *)&a.ss, &len) != 0) {
			snprintf(err, errlen, "cannot listen on %s (udp): %s",
				 addr_str(&cfg->addr, buf, sizeof buf), strerror(errno));
			goto fail;
		}
		v->listener = evconnlistener_new_bind(base, tcp_accept, v,
						      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
							      LEV_OPT_CLOSE_ON_EXEC,
						      128, (const struct sockaddr *)&a.ss, (int)a.len);
		if (v->listener)
			break;
		if (!pick || errno != EADDRINUSE || attempt == 31) {
			snprintf(err, errlen, "cannot listen on %s (tcp): %s",
				 addr_str(&a, buf, sizeof buf), strerror(errno));
			goto fail;
		}
		close(v->fd);
		v->fd = -1;
	}
	v->bound = a;
	if (cfg->on_refused == VIP_ICMP)
		icmp_open(v);
	v->ev = event_new(base, v->fd, EV_READ | EV_PERSIST, client_read, v);
	v->sweep_ev = event_new(base, -1, EV_PERSIST, on_sweep, v);
	struct timeval second = { 1, 0 };
	if (!v->ev || !v->sweep_ev || event_add(v->ev, NULL) != 0 ||
	    event_add(v->sweep_ev, &second) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return v;
fail:
	vip_destroy(v);
	return NULL;
}

void vip_destroy(struct vip *v)
{
	if (!v)
		return;
	while (v->splices)
		splice_free(v->splices);
	if (v->listener)
		evconnlistener_free(v->listener);
	if (v->ev)
		event_free(v->ev);
	if (v->sweep_ev)
		event_free(v->sweep_ev);
	if (v->fd >= 0)
		close(v->fd);
	if (v->raw_fd >= 0)
		close(v->raw_fd);
	for (size_t b = 0; b < v->cfg.nbackends; b++)
		for (struct upstream *u = v->backends[b].ups, *next; u; u = next) {
			next = u->next;
			if (v->backends[b].cfg.local.forget)
				v->backends[b].cfg.local.forget(v->backends[b].cfg.local.arg, u);
			event_free(u->ev);
			close(u->fd);
			free(u->slots);
			free(u);
		}
	vip_router_destroy(v->router);
	free(v->out_buf);
	free(v);
}

const struct addr *vip_addr(const struct vip *v)
{
	return &v->bound;
}

static bool same_socket(const struct addr *a, const struct addr *b)
{
	return addr_same_host(a, b) && addr_port(a) == addr_port(b);
}

bool vip_sends_from(const struct vip *v, const struct addr *src)
{
	if (addr_is_loopback(src)) /* towards loopback backends it sends from its own address */
		return false;
	for (size_t b = 0; b < v->cfg.nbackends; b++)
		for (const struct upstream *u = v->backends[b].ups; u; u = u->next)
			if (same_socket(&u->local_addr, src))
				return true;
	for (const struct splice *sp = v->splices; sp; sp = sp->next)
		if (sp->local.len && same_socket(&sp->local, src))
			return true;
	return false;
}

const char *vip_icmp_error(const struct vip *v)
{
	return v->icmp_error[0] ? v->icmp_error : NULL;
}

void vip_set_log(struct vip *v, vip_log_fn fn, void *arg)
{
	v->log = fn;
	v->log_arg = arg;
}

size_t vip_set_backend_up(struct vip *v, int backend, bool up)
{
	size_t n = vip_router_set_up(v->router, backend, up);
	v->stats.flows_flushed += n;
	return n;
}

bool vip_backend_up(const struct vip *v, int backend)
{
	return vip_router_is_up(v->router, backend);
}

void vip_get_stats(const struct vip *v, struct vip_stats *out)
{
	*out = v->stats;
}
