/*
 * ldns.c - the ldns 1.8.3 stub resolver (ldns_resolver), on worker threads.
 *
 * Each worker keeps one ldns_resolver for its whole life, as a long-lived
 * application does, so the resolver's own memory of failures shows up in a
 * run. Measured with ldns 1.8.3 on Debian 12 (see test_client_ldns_exec.c):
 *
 *  - The wait for one try is ldns_resolver_set_timeout (a struct timeval,
 *    default 5 s), not retrans: with retry 2, timeout 0.4 s and retrans 1 a
 *    silent server cost 0.80 s; with retry 1 and the default timeout, 5.0 s.
 *    retrans (whole seconds) is only a sleep between nameservers in a code
 *    path that a UDP or TCP failure never reaches.
 *  - Every try opens a new UDP socket (new source port, same query id), and
 *    the socket is never connected, so an ICMP port unreachable is not seen:
 *    a closed port costs the full timeout, like a silent one.
 *  - A nameserver whose tries all failed is marked unreachable (its RTT set
 *    to LDNS_RESOLV_RTT_INF) for the life of the resolver object: every later
 *    query on it fails at once (0.000 s) with LDNS_STATUS_RES_NO_NS and sends
 *    nothing. Nothing resets it; this driver does not either. Only a new
 *    worker thread (a new resolver) asks the target again.
 *  - A reply with TC set is asked again over UDP with EDNS (4096) if the
 *    query had none, then over TCP (fallback is on by default).
 *  - ldns never checks the reply's id or question.
 *  - ldns_resolver_search only applies the search list to a relative name,
 *    but every name parsed from text (ldns_dname_new_frm_str) is absolute:
 *    an application passing text names never gets its search list applied.
 *    This driver builds a relative name (labels without the root) when a
 *    search list is configured, so the list is used the way ldns's own loop
 *    does it: each suffix in order, then the name as it is, stopping at the
 *    first NOERROR reply (NODATA included). There is no ndots. When every
 *    name got an error rcode, 1.8.3 returns LDNS_STATUS_OK with no packet
 *    (fixed upstream in 2025, NLnetLabs/ldns#282): the rcode is lost.
 *
 * Options (client_config; negative: the stack's default):
 *   target        the one nameserver; its port with ldns_resolver_set_port
 *                 (resolver-wide in ldns)
 *   source        ldns_resolver_set_source (address, port 0); ss_family 0: none
 *   timeout_s     ldns_resolver_set_timeout (the per-try wait, fractions kept)
 *                 and ldns_resolver_set_retrans (rounded up to whole seconds)
 *   attempts      ldns_resolver_set_retry (tries per nameserver; default 3;
 *                 0 sends nothing and fails every lookup, as ldns does)
 *   random_order  ldns_resolver_set_random (default on; one server: no effect)
 *   edns0         1: ldns_resolver_set_edns_udp_size(1232); 0: none (the default)
 *   search        ldns_resolver_push_searchlist + set_dnsrch(true) when not
 *                 empty; otherwise dnsrch and defnames off
 *   qtype         the type asked, class IN, RD set (ldns_resolver_set_recursive)
 *   ndots, rotate, single_request, cache: not ldns options, ignored.
 *
 * Outcome: an ldns status other than OK maps to
 *   LDNS_STATUS_NETWORK_ERR  every try timed out: LOOKUP_TIMEOUT/timeout, or,
 *                            when it came back in less than half a try's
 *                            timeout, LOOKUP_FAIL/unreachable
 *   LDNS_STATUS_RES_NO_NS    the target is blacklisted: LOOKUP_FAIL/unreachable
 *                            (ldns's own word for RTT_INF), at once
 *   wire format errors       LOOKUP_FAIL/badreply
 *   anything else            LOOKUP_FAIL/error
 * with the status's enum name in lk->error. A reply's rcode goes to lk->rcode
 * and lookup_reason_for_rcode; records of the asked type in the answer section
 * are counted in lk->records (A and AAAA also as addresses); NOERROR without
 * them is NODATA.
 */
#include "harness/clients/client.h"
#include "fakeresolver/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#define EDNS_UDP_SIZE 1232

struct ldns_worker {
	ldns_resolver *res;
	ldns_rdf *source; /* ldns_resolver_set_source borrows it; freed here */
	bool search;
	double try_timeout_s;
};

/* An A or AAAA rdf for the address part of a (borrowed) socket address; NULL if neither. */
static ldns_rdf *addr_rdf(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
		return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, &in->sin_addr);
	}
	if (a->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
		return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, &in6->sin6_addr);
	}
	return NULL;
}

static void ldns_thread_close(void *tstate)
{
	struct ldns_worker *w = tstate;

	if (!w)
		return;
	ldns_resolver_deep_free(w->res); /* does not free the source rdf */
	ldns_rdf_deep_free(w->source);
	free(w);
}

static int setup_search(struct ldns_worker *w, const struct client_config *cfg, char *err,
                        size_t errlen)
{
	for (size_t i = 0; i < cfg->nsearch; i++) {
		ldns_rdf *d = NULL;
		ldns_status st = ldns_str2rdf_dname(&d, cfg->search[i]);
		if (st != LDNS_STATUS_OK) {
			snprintf(err, errlen, "ldns: bad search domain '%s': %s", cfg->search[i],
			         ldns_get_errorstr_by_id(st));
			return -1;
		}
		ldns_resolver_push_searchlist(w->res, d); /* clones d */
		ldns_rdf_deep_free(d);
	}
	if (ldns_resolver_searchlist_count(w->res) != cfg->nsearch) {
		snprintf(err, errlen, "ldns: out of memory for the search list");
		return -1;
	}
	w->search = cfg->nsearch > 0;
	ldns_resolver_set_dnsrch(w->res, w->search);
	ldns_resolver_set_defnames(w->res, false);
	return 0;
}

static void *ldns_thread_open(struct client *c, char *err, size_t errlen)
{
	const struct client_config *cfg = client_cfg(c);
	struct ldns_worker *w = calloc(1, sizeof *w);
	ldns_rdf *ns = NULL;

	if (!w) {
		snprintf(err, errlen, "ldns: out of memory");
		goto fail;
	}
	w->res = ldns_resolver_new();
	if (!w->res) {
		snprintf(err, errlen, "ldns: out of memory");
		goto fail;
	}
	/*
	 * Every nameserver, in order; ldns has one port for all of them. The Lua
	 * binding refuses other targets at the s:client line (harness/lua/client.c,
	 * check_ldns_ports); this stays for configs made in C.
	 */
	size_t nt = cfg->ntargets ? cfg->ntargets : 1;
	for (size_t i = 0; i < nt; i++) {
		const struct addr *t = cfg->ntargets ? &cfg->targets[i] : &cfg->target;
		if (addr_port(t) != addr_port(&cfg->target)) {
			snprintf(err, errlen, "ldns: one port serves every nameserver (ldns_resolver_set_port); "
				 "the targets %s listen on different ports", cfg->target_name);
			goto fail;
		}
		ns = addr_rdf(t);
		if (!ns) {
			snprintf(err, errlen, "ldns: the target is not an IPv4 or IPv6 address");
			goto fail;
		}
		if (ldns_resolver_push_nameserver(w->res, ns) != LDNS_STATUS_OK) {
			snprintf(err, errlen, "ldns: cannot add the target as nameserver");
			goto fail;
		}
		ldns_rdf_deep_free(ns);
		ns = NULL;
	}
	ldns_resolver_set_port(w->res, addr_port(&cfg->target));

	if (cfg->source.ss.ss_family != 0) {
		if (cfg->source.ss.ss_family != cfg->target.ss.ss_family) {
			snprintf(err, errlen,
			         "ldns: the source and the target are of different address "
			         "families");
			goto fail;
		}
		w->source = addr_rdf(&cfg->source);
		if (!w->source) {
			snprintf(err, errlen, "ldns: out of memory");
			goto fail;
		}
		ldns_resolver_set_source(w->res, w->source);
	}

	struct timeval tv = ldns_resolver_timeout(w->res);
	if (cfg->timeout_s >= 0) {
		tv = clock_timeval(cfg->timeout_s > 3600 ? 3600 : cfg->timeout_s);
		time_t whole = tv.tv_sec + (tv.tv_usec > 0);
		ldns_resolver_set_timeout(w->res, tv);
		ldns_resolver_set_retrans(w->res, (uint8_t)(whole > 255 ? 255 : whole));
	}
	w->try_timeout_s = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
	if (cfg->attempts >= 0)
		ldns_resolver_set_retry(w->res,
		                        (uint8_t)(cfg->attempts > 255 ? 255 : cfg->attempts));
	if (cfg->random_order >= 0)
		ldns_resolver_set_random(w->res, cfg->random_order != 0);
	if (cfg->edns0 >= 0)
		ldns_resolver_set_edns_udp_size(w->res, cfg->edns0 ? EDNS_UDP_SIZE : 0);
	ldns_resolver_set_recursive(w->res, true);
	if (setup_search(w, cfg, err, errlen) != 0)
		goto fail;
	ldns_rdf_deep_free(ns);
	return w;

fail:
	ldns_rdf_deep_free(ns);
	ldns_thread_close(w);
	return NULL;
}

/*
 * The name to ask. With a search list, a relative name (the labels without
 * the root label) so that ldns_resolver_search_status applies the list; the
 * rdf owns one spare zero octet after its data because ldns's dname printer
 * reads the octet after the last label. NULL with *st set on a bad name.
 */
static ldns_rdf *make_name(const char *text, bool relative, ldns_status *st)
{
	ldns_rdf *abs = NULL;
	ldns_rdf *rel = NULL;
	size_t len = strlen(text);

	*st = ldns_str2rdf_dname(&abs, text);
	if (*st != LDNS_STATUS_OK)
		return NULL;
	if (!relative || (len > 0 && text[len - 1] == '.') || ldns_rdf_size(abs) <= 1)
		return abs;

	size_t n = ldns_rdf_size(abs) - 1; /* drop the root label */
	uint8_t *data = calloc(1, n + 1);
	if (data) {
		memcpy(data, ldns_rdf_data(abs), n);
		rel = ldns_rdf_new(LDNS_RDF_TYPE_DNAME, n, data);
		if (!rel)
			free(data);
	}
	ldns_rdf_deep_free(abs);
	if (!rel)
		*st = LDNS_STATUS_MEM_ERR;
	return rel;
}

static const char *status_name(ldns_status st)
{
	switch (st) {
	case LDNS_STATUS_OK:
		return "LDNS_STATUS_OK";
	case LDNS_STATUS_ERR:
		return "LDNS_STATUS_ERR";
	case LDNS_STATUS_MEM_ERR:
		return "LDNS_STATUS_MEM_ERR";
	case LDNS_STATUS_NETWORK_ERR:
		return "LDNS_STATUS_NETWORK_ERR";
	case LDNS_STATUS_SOCKET_ERROR:
		return "LDNS_STATUS_SOCKET_ERROR";
	case LDNS_STATUS_ADDRESS_ERR:
		return "LDNS_STATUS_ADDRESS_ERR";
	case LDNS_STATUS_RES_NO_NS:
		return "LDNS_STATUS_RES_NO_NS";
	case LDNS_STATUS_RES_QUERY:
		return "LDNS_STATUS_RES_QUERY";
	case LDNS_STATUS_PACKET_OVERFLOW:
		return "LDNS_STATUS_PACKET_OVERFLOW";
	case LDNS_STATUS_INVALID_POINTER:
		return "LDNS_STATUS_INVALID_POINTER";
	case LDNS_STATUS_LABEL_OVERFLOW:
		return "LDNS_STATUS_LABEL_OVERFLOW";
	case LDNS_STATUS_DOMAINNAME_OVERFLOW:
		return "LDNS_STATUS_DOMAINNAME_OVERFLOW";
	case LDNS_STATUS_DOMAINNAME_UNDERFLOW:
		return "LDNS_STATUS_DOMAINNAME_UNDERFLOW";
	case LDNS_STATUS_WIRE_INCOMPLETE_HEADER:
		return "LDNS_STATUS_WIRE_INCOMPLETE_HEADER";
	case LDNS_STATUS_WIRE_INCOMPLETE_QUESTION:
		return "LDNS_STATUS_WIRE_INCOMPLETE_QUESTION";
	case LDNS_STATUS_WIRE_INCOMPLETE_ANSWER:
		return "LDNS_STATUS_WIRE_INCOMPLETE_ANSWER";
	case LDNS_STATUS_WIRE_INCOMPLETE_AUTHORITY:
		return "LDNS_STATUS_WIRE_INCOMPLETE_AUTHORITY";
	case LDNS_STATUS_WIRE_INCOMPLETE_ADDITIONAL:
		return "LDNS_STATUS_WIRE_INCOMPLETE_ADDITIONAL";
	default:
		return ldns_get_errorstr_by_id(st);
	}
}

/* Statuses ldns_wire2pkt returns for a reply it cannot read. */
static bool status_is_bad_reply(ldns_status st)
{
	switch (st) {
	case LDNS_STATUS_PACKET_OVERFLOW:
	case LDNS_STATUS_INVALID_POINTER:
	case LDNS_STATUS_LABEL_OVERFLOW:
	case LDNS_STATUS_DOMAINNAME_OVERFLOW:
	case LDNS_STATUS_DOMAINNAME_UNDERFLOW:
	case LDNS_STATUS_EMPTY_LABEL:
	case LDNS_STATUS_WIRE_INCOMPLETE_HEADER:
	case LDNS_STATUS_WIRE_INCOMPLETE_QUESTION:
	case LDNS_STATUS_WIRE_INCOMPLETE_ANSWER:
	case LDNS_STATUS_WIRE_INCOMPLETE_AUTHORITY:
	case LDNS_STATUS_WIRE_INCOMPLETE_ADDITIONAL:
	case LDNS_STATUS_WIRE_RDATA_ERR:
		return true;
	default:
		return false;
	}
}

static void fail_status(const struct ldns_worker *w, struct lookup *lk, ldns_status st,
                        double elapsed)
{
	const char *name = status_name(st);

	switch (st) {
	case LDNS_STATUS_NETWORK_ERR:
		/* Every try waited its full timeout, unless something ended it early. */
		if (elapsed >= w->try_timeout_s / 2)
			lookup_fail(lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, name);
		else
			lookup_fail(lk, LOOKUP_FAIL, REASON_UNREACHABLE, name);
		break;
	case LDNS_STATUS_RES_NO_NS:
		lookup_fail(lk, LOOKUP_FAIL, REASON_UNREACHABLE, name);
		break;
	default:
		lookup_fail(lk, LOOKUP_FAIL,
		            status_is_bad_reply(st) ? REASON_BADREPLY : REASON_ERROR, name);
		break;
	}
}

static void read_reply(struct lookup *lk, const ldns_pkt *p)
{
	ldns_rr_list *answer = ldns_pkt_answer(p);
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(p);
	unsigned n = 0;

	lk->rcode = (int)rcode;
	if (rcode != LDNS_RCODE_NOERROR) {
		const ldns_lookup_table *t = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
		char buf[16];
		snprintf(buf, sizeof buf, "RCODE%d", (int)rcode);
		lookup_fail(lk, LOOKUP_FAIL, lookup_reason_for_rcode((int)rcode),
		            t ? t->name : buf);
		return;
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(answer, i);
		if (ldns_rr_get_type(rr) != lk->qtype || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
			continue;
		n++;
		const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		if (!rd)
			continue;
		if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_A && ldns_rdf_size(rd) == 4)
			lookup_add_addr(lk, AF_INET, ldns_rdf_data(rd));
		else if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_AAAA && ldns_rdf_size(rd) == 16)
			lookup_add_addr(lk, AF_INET6, ldns_rdf_data(rd));
	}
	lk->records = n;
	if (n == 0) {
		lookup_fail(lk, LOOKUP_FAIL, REASON_NODATA, "NODATA");
		return;
	}
	/* Records of another type than A/AAAA (SOA, MX, ...) are an answer too. */
	lk->result = LOOKUP_OK;
	lk->reason = REASON_NONE;
	lk->error[0] = '\0';
}

static void ldns_resolve(struct client *c, void *tstate, struct lookup *lk)
{
	struct ldns_worker *w = tstate;
	ldns_pkt *p = NULL;
	ldns_status st;
	ldns_rdf *name;
	double t0;

	(void)c;
	name = make_name(lk->name, w->search, &st);
	if (!name) {
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, status_name(st));
		return;
	}
	t0 = client_clock(c);
	if (w->search)
		st = ldns_resolver_search_status(&p, w->res, name, (ldns_rr_type)lk->qtype,
		                                 LDNS_RR_CLASS_IN, LDNS_RD);
	else
		st = ldns_resolver_query_status(&p, w->res, name, (ldns_rr_type)lk->qtype,
		                                LDNS_RR_CLASS_IN, LDNS_RD);
	double elapsed = client_clock(c) - t0;

	if (st != LDNS_STATUS_OK)
		fail_status(w, lk, st, elapsed);
	else if (!p)
		/* The search list ran out on error rcodes: 1.8.3 drops the last reply. */
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, "LDNS_STATUS_OK without a reply");
	else
		read_reply(lk, p);
	ldns_pkt_free(p);
	ldns_rdf_deep_free(name);
}

static char version_buf[48];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void version_init(void)
{
	snprintf(version_buf, sizeof version_buf, "ldns %s", ldns_version());
}

static const char *ldns_stack_version(void)
{
	pthread_once(&version_once, version_init);
	return version_buf;
}

const struct client_driver client_ldns_driver = {
        .stack = CLIENT_LDNS,
        .threaded = true,
        .thread_open = ldns_thread_open,
        .thread_close = ldns_thread_close,
        .resolve = ldns_resolve,
        .version = ldns_stack_version,
};
