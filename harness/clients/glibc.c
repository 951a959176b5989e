/*
 * glibc.c - glibc's stub resolver the way applications use it: getaddrinfo()
 * (CLIENT_GLIBC) and res_nquery() on a private resolver state
 * (CLIENT_GLIBC_RES). Both block, so both run on the core's worker threads.
 *
 * Pointing glibc at the target without touching /etc/resolv.conf: after
 * res_init() a thread's _res holds its own copy of the configuration. We
 * replace its name servers with the target alone. glibc 2.36 then finds
 * that _res no longer matches the resolv.conf it was built from
 * (resolv_conf_matches compares the name servers and the search list), so
 * every resolver call in this thread uses _res as we left it and never
 * reloads over it. Other threads, and getaddrinfo_a's helper threads, still
 * use resolv.conf. glibc-res does the same on a state of its own (res_ninit).
 * An IPv4 target goes in nsaddr_list[0]; an IPv6 one (nsaddr_list cannot
 * hold it) the way res_init stores an IPv6 server from resolv.conf:
 * nsaddr_list[0].sin_family = 0 and a malloc'd sockaddr_in6 in
 * _u._ext.nsaddrs[0], which glibc frees itself (res_nclose, a later
 * res_init, or the thread's exit).
 *
 * Options (client_config; negative leaves what res_init set: resolv.conf
 * with RES_OPTIONS and LOCALDOMAIN from the environment, which glibc reads
 * with resolv.conf at the process's first resolver call and again only when
 * the file changes, so setenv() later has no effect):
 *   timeout_s       retrans, glibc's `timeout:`: rounded to whole seconds,
 *                   clamped to 1..30 as glibc clamps `timeout:` (RES_MAXRETRANS)
 *   attempts        retry, glibc's `attempts:`: clamped to 1..5 (RES_MAXRETRY; glibc
 *                   would take 0 and then send nothing at all)
 *   rotate          RES_ROTATE (no visible effect with one server)
 *   edns0           RES_USE_EDNS0 (`options edns0`)
 *   single_request  RES_SNGLKUP (`single-request`: A, then AAAA, one at a time)
 *   search/nsearch  dnsrch; ALWAYS replaced, empty by default, so neither
 *                   resolv.conf's search/domain nor LOCALDOMAIN is used
 *   ndots           ndots, clamped to 0..15 (RES_MAXNDOTS)
 *   source          ignored: glibc cannot bind a source address (its sockets
 *                   are its own), so client_stack_binds_source is false
 *   others          (cache, random_order, argv) do not apply
 * res_nquery asks the name as given: search and ndots only matter for
 * getaddrinfo.
 *
 * getaddrinfo is called with ai_socktype SOCK_DGRAM and no flags (no
 * AI_ADDRCONFIG), so the family alone decides the queries: A, AAAA, or both
 * in parallel on one socket. nss "files" (/etc/hosts) still comes first if
 * nsswitch.conf says so, as for any application; nscd would bypass _res
 * entirely, so thread_open refuses to run while nscd's socket exists.
 *
 * Outcomes. getaddrinfo tells us little, and we do not guess beyond it:
 *   EAI_NONAME    FAIL/NXDOMAIN: what glibc returns for NXDOMAIN, and also
 *                 (2.36, seen in the tests) for a FORMERR answer
 *   EAI_NODATA    FAIL/NODATA (NOERROR without the addresses, every family)
 *   EAI_AGAIN     glibc returns it for a timeout and for a SERVFAIL, REFUSED
 *                 or NOTIMP from every server, and for port unreachable; errno
 *                 is EAGAIN in every case. We infer from the time taken: at
 *                 least one whole retrans (no answer in an attempt's full
 *                 wait) is TIMEOUT/TIMEOUT, faster is FAIL/SERVFAIL, which
 *                 then stands for "a server said no, or the port is closed".
 *                 A timeout followed by a SERVFAIL counts as a timeout.
 *   EAI_SYSTEM    FAIL/ERROR with errno's text; EAI_FAIL, EAI_MEMORY and the
 *                 rest FAIL/ERROR with their names
 * rcode stays -1: getaddrinfo never reports one. res_nquery is better: it
 * fills the answer buffer even when it returns -1 (NXDOMAIN, NODATA, and the
 * last SERVFAIL or REFUSED), so the reply's rcode is used when the buffer
 * holds a reply to our question; otherwise the state's h_errno and errno
 * (TRY_AGAIN with ECONNREFUSED: UNREACHABLE; with ETIMEDOUT: TIMEOUT).
 */
#define _GNU_SOURCE /* EAI_NODATA, EAI_ADDRFAMILY, _res's extension fields */

#include "harness/clients/client.h"
#include "fakeresolver/clock.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <gnu/libc-version.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ldns/ldns.h>

#define GLIBC_ANSWER_MAX 65535
#define GLIBC_NSCD_SOCKET "/var/run/nscd/socket"

/* How much earlier than a whole retrans an EAI_AGAIN may come and still be a
 * timeout: glibc waits retrans per attempt with poll(), in milliseconds. */
#define GLIBC_TIMEOUT_SLACK 0.01

/* ---- the per-thread configuration, shared by both drivers ---- */

static void set_option(res_state st, int value, unsigned long flag)
{
	if (value > 0)
		st->options |= flag;
	else if (value == 0)
		st->options &= ~flag;
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * Replaces the search list with cfg's (packed into defdname, where glibc
 * keeps its own). Returns 0, or -1 with err when it does not fit.
 */
static int set_search(res_state st, const struct client_config *cfg, char *err, size_t errlen)
{
	char buf[sizeof st->defdname];
	const char *ptrs[MAXDNSRCH];
	size_t used = 0, n = 0;

	if (cfg->nsearch > MAXDNSRCH) {
		snprintf(err, errlen, "glibc: %zu search domains, glibc keeps at most %d",
			 cfg->nsearch, MAXDNSRCH);
		return -1;
	}
	for (size_t i = 0; i < cfg->nsearch; i++) {
		size_t len = strlen(cfg->search[i]);
		if (len == 0)
			continue;
		if (used + len + 1 > sizeof buf) {
			snprintf(err, errlen,
				 "glibc: the search list is longer than the %zu octets glibc keeps",
				 sizeof buf);
			return -1;
		}
		memcpy(buf + used, cfg->search[i], len + 1);
		ptrs[n++] = buf + used;
		used += len + 1;
	}
	memcpy(st->defdname, buf, used); /* each name copied with its NUL */
	if (used == 0)
		st->defdname[0] = '\0';
	for (size_t i = 0; i < n; i++)
		st->dnsrch[i] = st->defdname + (ptrs[i] - buf);
	for (size_t i = n; i <= MAXDNSRCH; i++)
		st->dnsrch[i] = NULL;
	return 0;
}

/*
 * Points an initialised state at cfg's targets (at most three, in order) and
 * applies the options.
 * Returns 0, or -1 with err (nothing changed in st).
 */
static int glibc_point(res_state st, const struct client_config *cfg, char *err, size_t errlen)
{
	struct sockaddr_in6 *six[MAXNS] = {NULL};
	size_t n = cfg->ntargets ? cfg->ntargets : 1;
	if (n > MAXNS)
		n = MAXNS; /* glibc asks at most three; the Lua binding allows no more */

	for (size_t i = 0; i < n; i++) {
		const struct sockaddr_storage *ss = cfg->ntargets ? &cfg->targets[i].ss
								  : &cfg->target.ss;
		if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6) {
			snprintf(err, errlen, "glibc: the target %s is not an IPv4 or IPv6 address",
				 cfg->target_name[0] ? cfg->target_name : "(unset)");
			goto fail;
		}
		if (ss->ss_family == AF_INET6) {
			six[i] = malloc(sizeof *six[i]);
			if (!six[i]) {
				snprintf(err, errlen, "glibc: out of memory");
				goto fail;
			}
			memcpy(six[i], ss, sizeof *six[i]);
		}
	}
	if (set_search(st, cfg, err, errlen) < 0)
		goto fail;

	/* Drop the servers res_init read (IPv6 ones are separate copies). */
	for (int i = 0; i < st->nscount && i < MAXNS; i++) {
		free(st->_u._ext.nsaddrs[i]);
		st->_u._ext.nsaddrs[i] = NULL;
	}
	memset(st->nsaddr_list, 0, sizeof st->nsaddr_list);
	for (size_t i = 0; i < n; i++) {
		const struct sockaddr_storage *ss = cfg->ntargets ? &cfg->targets[i].ss
								  : &cfg->target.ss;
		if (six[i])
			st->_u._ext.nsaddrs[i] = six[i]; /* glibc frees it */
		else
			memcpy(&st->nsaddr_list[i], ss, sizeof st->nsaddr_list[i]);
		st->_u._ext.nssocks[i] = -1;
	}
	st->nscount = (int)n;
	st->_u._ext.nscount = 0; /* res_send rebuilds its copy of the list */

	if (cfg->timeout_s >= 0)
		st->retrans = clamp((int)(cfg->timeout_s + 0.5), 1, RES_MAXRETRANS);
	if (cfg->attempts >= 0)
		st->retry = clamp(cfg->attempts, 1, RES_MAXRETRY);
	if (cfg->ndots >= 0)
		st->ndots = (unsigned)clamp(cfg->ndots, 0, RES_MAXNDOTS);
	set_option(st, cfg->rotate, RES_ROTATE);
	set_option(st, cfg->edns0, RES_USE_EDNS0);
	set_option(st, cfg->single_request, RES_SNGLKUP);
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(six[i]);
	return -1;
}

/* The wait of one attempt, as send_dg computes it for the first server. */
static double glibc_retrans(const struct __res_state *st)
{
	return st->retrans > 0 ? (double)st->retrans : 1.0;
}

/* ---- version ---- */

static char version_buf[48];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void version_init(void)
{
	snprintf(version_buf, sizeof version_buf, "glibc %s", gnu_get_libc_version());
}

static const char *glibc_version(void)
{
	pthread_once(&version_once, version_init);
	return version_buf;
}

/* ---- getaddrinfo ---- */

struct glibc_thread {
	double retrans; /* seconds: the EAI_AGAIN timeout inference */
};

static void *glibc_thread_open(struct client *c, char *err, size_t errlen)
{
	const struct client_config *cfg = client_cfg(c);
	struct glibc_thread *t = NULL;

	if (access(GLIBC_NSCD_SOCKET, F_OK) == 0) {
		snprintf(err, errlen,
			 "glibc: nscd is running (%s): getaddrinfo would ask it, not the target; "
			 "stop nscd or use the glibc-res stack",
			 GLIBC_NSCD_SOCKET);
		return NULL;
	}
	t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "glibc: out of memory");
		return NULL;
	}
	/* A fresh configuration for this thread, whatever an earlier user left. */
	if (_res.options & RES_INIT)
		res_nclose(&_res);
	_res.options = 0;
	_res.retrans = 0;
	_res.retry = 0;
	if (res_init() < 0) {
		snprintf(err, errlen, "glibc: res_init failed: %s", strerror(errno));
		goto fail;
	}
	if (glibc_point(&_res, cfg, err, errlen) < 0)
		goto fail;
	t->retrans = glibc_retrans(&_res);
	return t;
fail:
	free(t);
	return NULL;
}

static void glibc_thread_close(void *tstate)
{
	/* Closes sockets and frees the target's copy; the next resolver call in
	 * this thread (if any) starts again from resolv.conf. */
	res_nclose(&_res);
	_res.options = 0;
	free(tstate);
}

static const char *gai_name(int rc)
{
	switch (rc) {
	case EAI_AGAIN:
		return "EAI_AGAIN";
	case EAI_BADFLAGS:
		return "EAI_BADFLAGS";
	case EAI_FAIL:
		return "EAI_FAIL";
	case EAI_FAMILY:
		return "EAI_FAMILY";
	case EAI_MEMORY:
		return "EAI_MEMORY";
	case EAI_NONAME:
		return "EAI_NONAME";
	case EAI_NODATA:
		return "EAI_NODATA";
	case EAI_ADDRFAMILY:
		return "EAI_ADDRFAMILY";
	case EAI_SERVICE:
		return "EAI_SERVICE";
	case EAI_SOCKTYPE:
		return "EAI_SOCKTYPE";
	case EAI_SYSTEM:
		return "EAI_SYSTEM";
	case EAI_OVERFLOW:
		return "EAI_OVERFLOW";
	}
	return "EAI_?";
}

/* Maps a getaddrinfo error (errno and the time it took as seen right after). */
static void gai_fail(struct lookup *lk, int rc, int errnum, double took, double retrans)
{
	const char *name = gai_name(rc);
	char buf[sizeof lk->error];

	switch (rc) {
	case EAI_NONAME:
		lookup_fail(lk, LOOKUP_FAIL, REASON_NXDOMAIN, name);
		break;
	case EAI_NODATA:
		lookup_fail(lk, LOOKUP_FAIL, REASON_NODATA, name);
		break;
	case EAI_AGAIN:
		/* glibc cannot tell a timeout from a refusal (see the top). */
		if (took >= retrans - GLIBC_TIMEOUT_SLACK)
			lookup_fail(lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, name);
		else
			lookup_fail(lk, LOOKUP_FAIL, REASON_SERVFAIL, name);
		break;
	case EAI_SYSTEM:
		snprintf(buf, sizeof buf, "EAI_SYSTEM: %s", strerror(errnum));
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, buf);
		break;
	default:
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, name);
		break;
	}
}

static void glibc_resolve(struct client *c, void *tstate, struct lookup *lk)
{
	struct glibc_thread *t = tstate;
	struct addrinfo hints, *res = NULL;
	(void)c;

	memset(&hints, 0, sizeof hints);
	switch (lk->family) {
	case CLIENT_FAMILY_A:
		hints.ai_family = AF_INET;
		break;
	case CLIENT_FAMILY_AAAA:
		hints.ai_family = AF_INET6;
		break;
	case CLIENT_FAMILY_BOTH:
		hints.ai_family = AF_UNSPEC;
		break;
	}
	hints.ai_socktype = SOCK_DGRAM;

	double t0 = client_clock(c);
	int rc = getaddrinfo(lk->name, NULL, &hints, &res);
	int errnum = errno;
	double took = client_clock(c) - t0;
	if (rc != 0) {
		gai_fail(lk, rc, errnum, took, t->retrans);
		return;
	}
	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			lookup_add_addr(lk, AF_INET,
					&((const struct sockaddr_in *)ai->ai_addr)->sin_addr);
		else if (ai->ai_family == AF_INET6)
			lookup_add_addr(lk, AF_INET6,
					&((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
	}
	freeaddrinfo(res);
	if (lk->naddrs == 0)
		lookup_fail(lk, LOOKUP_FAIL, REASON_NODATA, "no address in the result");
}

const struct client_driver client_glibc_driver = {
	.stack = CLIENT_GLIBC,
	.threaded = true,
	.thread_open = glibc_thread_open,
	.thread_close = glibc_thread_close,
	.resolve = glibc_resolve,
	.version = glibc_version,
};

/* ---- res_nquery ---- */

struct glibc_res_thread {
	struct __res_state st;
	double retrans;
	unsigned char ans[GLIBC_ANSWER_MAX];
};

static void *glibc_res_thread_open(struct client *c, char *err, size_t errlen)
{
	const struct client_config *cfg = client_cfg(c);
	struct glibc_res_thread *t = calloc(1, sizeof *t);

	if (!t) {
		snprintf(err, errlen, "glibc-res: out of memory");
		return NULL;
	}
	if (res_ninit(&t->st) < 0) {
		snprintf(err, errlen, "glibc-res: res_ninit failed: %s", strerror(errno));
		goto fail;
	}
	if (glibc_point(&t->st, cfg, err, errlen) < 0) {
		res_nclose(&t->st);
		goto fail;
	}
	t->retrans = glibc_retrans(&t->st);
	return t;
fail:
	free(t);
	return NULL;
}

static void glibc_res_thread_close(void *tstate)
{
	struct glibc_res_thread *t = tstate;
	if (!t)
		return;
	res_nclose(&t->st);
	free(t);
}

static const char *herrno_name(int h)
{
	switch (h) {
	case NETDB_INTERNAL:
		return "NETDB_INTERNAL";
	case NETDB_SUCCESS:
		return "NETDB_SUCCESS";
	case HOST_NOT_FOUND:
		return "HOST_NOT_FOUND";
	case TRY_AGAIN:
		return "TRY_AGAIN";
	case NO_RECOVERY:
		return "NO_RECOVERY";
	case NO_DATA:
		return "NO_DATA";
	}
	return "h_errno ?";
}

static const char *rcode_name(int rcode)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };
	if (rcode >= 0 && (size_t)rcode < sizeof names / sizeof names[0])
		return names[rcode];
	return "RCODE?";
}

/*
 * The rcode of a reply to (name, qtype) that res_nquery left in the buffer
 * when it returned -1, or -1 if the buffer holds none (its header was zeroed
 * before the call, so QR is set only if a reply was read this time).
 */
static int left_rcode(const unsigned char *buf, size_t len, const char *name, uint16_t qtype)
{
	ldns_rdf *got = NULL, *want = NULL;
	size_t pos = HFIXEDSZ;
	int rcode = -1;

	if (!(buf[2] & 0x80) || ((buf[2] >> 3) & 0xf) != 0 || ((buf[4] << 8) | buf[5]) != 1)
		return -1;
	if (ldns_wire2dname(&got, buf, len, &pos) != LDNS_STATUS_OK || pos + 4 > len)
		goto out;
	want = ldns_dname_new_frm_str(name);
	if (want && ldns_dname_compare(got, want) == 0 &&
	    ((buf[pos] << 8) | buf[pos + 1]) == qtype)
		rcode = buf[3] & 0xf;
out:
	ldns_rdf_deep_free(got);
	ldns_rdf_deep_free(want);
	return rcode;
}

/* A reply res_nquery accepted (NOERROR with answers): count and collect. */
static void read_answer(struct lookup *lk, const unsigned char *buf, size_t len)
{
	ldns_pkt *pkt = NULL;
	ldns_status s = ldns_wire2pkt(&pkt, buf, len);
	char msg[sizeof lk->error];

	if (s != LDNS_STATUS_OK) {
		snprintf(msg, sizeof msg, "unparsable reply: %s", ldns_get_errorstr_by_id(s));
		lookup_fail(lk, LOOKUP_FAIL, REASON_BADREPLY, msg);
		return;
	}
	lk->rcode = ldns_pkt_get_rcode(pkt);
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != lk->qtype || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
			continue;
		lk->records++;
		const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		if (!rd)
			continue;
		if (lk->qtype == LDNS_RR_TYPE_A && ldns_rdf_size(rd) == 4)
			lookup_add_addr(lk, AF_INET, ldns_rdf_data(rd));
		else if (lk->qtype == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rd) == 16)
			lookup_add_addr(lk, AF_INET6, ldns_rdf_data(rd));
	}
	ldns_pkt_free(pkt);
	if (lk->records > 0) {
		lk->result = LOOKUP_OK;
		lk->reason = REASON_NONE;
		lk->error[0] = '\0';
	} else {
		/* Answers, but none of the type asked (a CNAME leading out of the zone). */
		lookup_fail(lk, LOOKUP_FAIL, lookup_reason_for_rcode(lk->rcode),
			    rcode_name(lk->rcode));
	}
}

static void glibc_res_resolve(struct client *c, void *tstate, struct lookup *lk)
{
	struct glibc_res_thread *t = tstate;
	char msg[sizeof lk->error];
	(void)c;

	memset(t->ans, 0, HFIXEDSZ);
	errno = 0;
	double t0 = client_clock(c);
	int n = res_nquery(&t->st, lk->name, C_IN, lk->qtype, t->ans, sizeof t->ans);
	int errnum = errno;
	double took = client_clock(c) - t0;
	if (n >= 0) {
		read_answer(lk, t->ans, (size_t)n < sizeof t->ans ? (size_t)n : sizeof t->ans);
		return;
	}

	int h = t->st.res_h_errno;
	int rcode = left_rcode(t->ans, sizeof t->ans, lk->name, lk->qtype);
	if (rcode >= 0) {
		lk->rcode = rcode;
		snprintf(msg, sizeof msg, "%s (%s)", herrno_name(h), rcode_name(rcode));
		lookup_fail(lk, LOOKUP_FAIL, lookup_reason_for_rcode(rcode), msg);
		return;
	}
	switch (h) {
	case HOST_NOT_FOUND:
		lookup_fail(lk, LOOKUP_FAIL, REASON_NXDOMAIN, herrno_name(h));
		break;
	case NO_DATA:
		lookup_fail(lk, LOOKUP_FAIL, REASON_NODATA, herrno_name(h));
		break;
	case TRY_AGAIN:
		/* No reply in the buffer: res_send's errno says why. */
		if (errnum == ECONNREFUSED) {
			lookup_fail(lk, LOOKUP_FAIL, REASON_UNREACHABLE, "TRY_AGAIN (ECONNREFUSED)");
		} else if (errnum == ETIMEDOUT) {
			lookup_fail(lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, "TRY_AGAIN (ETIMEDOUT)");
		} else if (took >= t->retrans - GLIBC_TIMEOUT_SLACK) {
			lookup_fail(lk, LOOKUP_TIMEOUT, REASON_TIMEOUT, "TRY_AGAIN");
		} else {
			lookup_fail(lk, LOOKUP_FAIL, REASON_SERVFAIL, "TRY_AGAIN");
		}
		break;
	case NETDB_INTERNAL:
		snprintf(msg, sizeof msg, "NETDB_INTERNAL: %s", strerror(errnum));
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, msg);
		break;
	default: /* NO_RECOVERY without a reply: the query could not even be built */
		lookup_fail(lk, LOOKUP_FAIL, REASON_ERROR, herrno_name(h));
		break;
	}
}

const struct client_driver client_glibc_res_driver = {
	.stack = CLIENT_GLIBC_RES,
	.threaded = true,
	.thread_open = glibc_res_thread_open,
	.thread_close = glibc_res_thread_close,
	.resolve = glibc_res_resolve,
	.version = glibc_version,
};
