/*
 * classify.c - fresh, stale or wrong: each record of an answer compared with
 * what each known zone version answers. Versions are known by content (their
 * digest), so a stale copy that carries the published serial is not taken
 * for the published version. The versions' answers come from the answer
 * engine itself (the same code the fake resolvers serve with), so the
 * comparison follows CNAME chains and wildcards exactly as the resolvers did.
 *
 * Negative answers are compared whole, as "no address": stacks blur NXDOMAIN
 * and NODATA (glibc's getaddrinfo says EAI_NONAME for both in places), so a
 * lookup that got no address matches every version that has none.
 */
#include "harness/record/classify.h"
#include "fakeresolver/answer.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

struct version_rec {
	struct zone_version *v;
	struct zone_set *set; /* just v, for the answer engine */
	uint32_t serial;
	uint8_t digest[ZONE_DIGEST_LEN];
	int64_t known_us; /* run time it became known, microseconds */
};

struct publish_rec {
	size_t vidx;
	int64_t us;
};

/* What one version answers for (name, type): rcode and addresses. */
struct cache_entry {
	char *name; /* lower case, absolute */
	uint16_t qtype;
	size_t vidx;
	uint16_t rcode;
	size_t n;
	struct lookup_addr *addrs;
};

/*
 * Answers repeat (a client asks the same names again and again): the last
 * results are remembered, and forgotten whenever the known versions or the
 * publishes change. Answers within a grace period are not remembered (their
 * class changes with time).
 */
#define MEMO_SLOTS 1024
#define MEMO_ADDRS 4
struct memo {
	uint64_t key;
	uint64_t generation;
	char name[64];
	uint8_t flags; /* want_a | want_aaaa << 1 | nxdomain << 2 */
	uint8_t n;
	struct lookup_addr addrs[MEMO_ADDRS];
	struct classify_result res;
};

struct classify {
	uint64_t generation; /* bumped by every change of versions or publishes */
	struct memo *memo;   /* MEMO_SLOTS, allocated on first use */
	int64_t grace_us;
	struct version_rec *versions;
	size_t nv, capv;
	struct publish_rec *pubs;
	size_t np, capp;
	struct cache_entry *cache; /* open addressing; name NULL = empty */
	size_t ncache, capc;
};

const char *classify_name(enum answer_class c)
{
	switch (c) {
	case CLASS_FRESH:
		return "fresh";
	case CLASS_STALE:
		return "stale";
	case CLASS_WRONG:
		return "wrong";
	case CLASS_NONE:
		break;
	}
	return "none";
}

const char *classify_known_name(enum classify_known k)
{
	switch (k) {
	case CLASSIFY_PUBLISHED:
		return "published";
	case CLASSIFY_DISK:
		return "disk";
	case CLASSIFY_TRANSFER:
		return "transfer";
	}
	return "?";
}

/*
 * Seconds to whole microseconds, rounded as the history writes `t` (half
 * away from zero), so a time read back from a history gives the same number.
 */
static int64_t to_us(double t)
{
	double a = t < 0 ? -t : t;
	if (!(a < 9e12)) /* NaN or absurd: clamp */
		return t < 0 ? -(int64_t)9e18 : (int64_t)9e18;
	double scaled = a * 1e6;
	uint64_t u = (uint64_t)scaled;
	if (scaled - (double)u >= 0.5)
		u++;
	return t < 0 ? -(int64_t)u : (int64_t)u;
}

struct classify *classify_create(void)
{
	return calloc(1, sizeof(struct classify));
}

void classify_destroy(struct classify *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nv; i++) {
		zone_set_destroy(c->versions[i].set);
		zone_version_unref(c->versions[i].v);
	}
	for (size_t i = 0; i < c->capc; i++) {
		free(c->cache[i].name);
		free(c->cache[i].addrs);
	}
	free(c->cache);
	free(c->memo);
	free(c->versions);
	free(c->pubs);
	free(c);
}

void classify_set_grace(struct classify *c, double grace_s)
{
	c->grace_us = grace_s > 0 ? to_us(grace_s) : 0;
	c->generation++;
}

double classify_grace(const struct classify *c)
{
	return (double)c->grace_us / 1e6;
}

static bool same_origin(const struct zone_version *a, const struct zone_version *b)
{
	size_t la, lb;
	const uint8_t *oa = zone_version_origin(a, &la);
	const uint8_t *ob = zone_version_origin(b, &lb);
	return la == lb && memcmp(oa, ob, la) == 0;
}

/*
 * The index of v's (origin, content) among the known versions, adding it if
 * new (*added set). -1: no memory.
 */
static long find_or_add(struct classify *c, struct zone_version *v, int64_t us, bool *added)
{
	uint8_t digest[ZONE_DIGEST_LEN];
	*added = false;
	if (zone_version_digest(v, digest) != 0)
		return -1;
	for (size_t i = 0; i < c->nv; i++)
		if (memcmp(c->versions[i].digest, digest, sizeof digest) == 0 &&
		    same_origin(c->versions[i].v, v))
			return (long)i;
	if (c->nv == c->capv) {
		size_t cap = c->capv ? 2 * c->capv : 8;
		struct version_rec *n = realloc(c->versions, cap * sizeof *n);
		if (!n)
			return -1;
		c->versions = n;
		c->capv = cap;
	}
	struct zone_set *set = zone_set_create();
	if (!set || zone_set_add(set, v, true) != 0) {
		zone_set_destroy(set);
		return -1;
	}
	struct version_rec *r = &c->versions[c->nv];
	r->v = zone_version_ref(v);
	r->set = set;
	r->serial = zone_version_serial(v);
	memcpy(r->digest, digest, sizeof digest);
	r->known_us = us;
	c->generation++;
	*added = true;
	return (long)c->nv++;
}

int classify_add_version(struct classify *c, struct zone_version *v, enum classify_known how,
                         double t)
{
	(void)how; /* the history records it; the class does not depend on it */
	bool added;
	return find_or_add(c, v, to_us(t), &added) < 0 ? -1 : added;
}

int classify_publish(struct classify *c, struct zone_version *v, double t)
{
	bool added;
	int64_t us = to_us(t);
	long i = find_or_add(c, v, us, &added);
	if (i < 0)
		return -1;
	if (c->np == c->capp) {
		size_t cap = c->capp ? 2 * c->capp : 8;
		struct publish_rec *n = realloc(c->pubs, cap * sizeof *n);
		if (!n)
			return -1;
		c->pubs = n;
		c->capp = cap;
	}
	c->pubs[c->np++] = (struct publish_rec){(size_t)i, us};
	c->generation++;
	return added;
}

static uint64_t hash_key(const char *name, uint16_t qtype, size_t vidx)
{
	uint64_t h = 1469598103934665603ULL ^ qtype ^ ((uint64_t)vidx << 20);
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h;
}

static struct cache_entry *cache_slot(struct classify *c, const char *name, uint16_t qtype,
                                      size_t vidx)
{
	size_t mask = c->capc - 1;
	for (size_t i = hash_key(name, qtype, vidx) & mask;; i = (i + 1) & mask) {
		struct cache_entry *e = &c->cache[i];
		if (!e->name ||
		    (e->qtype == qtype && e->vidx == vidx && strcmp(e->name, name) == 0))
			return e;
	}
}

static int cache_grow(struct classify *c)
{
	size_t cap = c->capc ? 2 * c->capc : 64;
	struct cache_entry *old = c->cache;
	size_t oldcap = c->capc;
	c->cache = calloc(cap, sizeof *c->cache);
	if (!c->cache) {
		c->cache = old;
		return -1;
	}
	c->capc = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].name)
			*cache_slot(c, old[i].name, old[i].qtype, old[i].vidx) = old[i];
	free(old);
	return 0;
}

/* Asks version vidx for (name, qtype) through the answer engine. */
static int ask_version(struct classify *c, size_t vidx, const char *name, uint16_t qtype,
                       struct cache_entry *out)
{
	uint8_t pkt[WIRE_HEADER_LEN + WIRE_NAME_MAX + 4];
	static uint8_t reply[65535];
	ldns_rdf *dn = ldns_dname_new_frm_str(name);
	if (!dn)
		return -1;
	size_t nl = ldns_rdf_size(dn);
	memset(pkt, 0, WIRE_HEADER_LEN);
	wire_put16(pkt + 4, 1);
	memcpy(pkt + WIRE_HEADER_LEN, ldns_rdf_data(dn), nl);
	ldns_rdf_deep_free(dn);
	wire_put16(pkt + WIRE_HEADER_LEN + nl, qtype);
	wire_put16(pkt + WIRE_HEADER_LEN + nl + 2, 1);
	struct answer_info info;
	size_t len = answer_query(c->versions[vidx].set, pkt, WIRE_HEADER_LEN + nl + 4, ANSWER_TCP,
	                          reply, sizeof reply, &info);
	out->rcode = info.rcode;
	out->n = 0;
	out->addrs = NULL;
	ldns_pkt *p = NULL;
	if (len == 0 || ldns_wire2pkt(&p, reply, len) != LDNS_STATUS_OK)
		return 0;
	ldns_rr_list *an = ldns_pkt_answer(p);
	size_t count = ldns_rr_list_rr_count(an);
	out->addrs = calloc(count ? count : 1, sizeof *out->addrs);
	if (!out->addrs) {
		ldns_pkt_free(p);
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) != qtype || ldns_rr_rd_count(rr) < 1)
			continue;
		ldns_rdf *rd = ldns_rr_rdf(rr, 0);
		struct lookup_addr *a = &out->addrs[out->n];
		memset(a, 0, sizeof *a);
		if (qtype == LDNS_RR_TYPE_A && ldns_rdf_size(rd) == 4) {
			a->family = AF_INET;
			memcpy(a->a, ldns_rdf_data(rd), 4);
			out->n++;
		} else if (qtype == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rd) == 16) {
			a->family = AF_INET6;
			memcpy(a->a, ldns_rdf_data(rd), 16);
			out->n++;
		}
	}
	ldns_pkt_free(p);
	return 0;
}

static const struct cache_entry *answer_of(struct classify *c, size_t vidx, const char *name,
                                           uint16_t qtype)
{
	if (c->ncache * 2 >= c->capc && cache_grow(c) != 0)
		return NULL;
	struct cache_entry *e = cache_slot(c, name, qtype, vidx);
	if (e->name)
		return e;
	struct cache_entry fresh = {0};
	if (ask_version(c, vidx, name, qtype, &fresh) != 0)
		return NULL;
	fresh.name = strdup(name);
	if (!fresh.name) {
		free(fresh.addrs);
		return NULL;
	}
	fresh.qtype = qtype;
	fresh.vidx = vidx;
	*e = fresh;
	c->ncache++;
	return e;
}

static bool addr_in(const struct lookup_addr *set, size_t n, const struct lookup_addr *a)
{
	size_t len = a->family == AF_INET6 ? 16 : 4;
	for (size_t i = 0; i < n; i++)
		if (set[i].family == a->family && memcmp(set[i].a, a->a, len) == 0)
			return true;
	return false;
}

/* Does version vidx give this record (an address, asked by its own type)? */
static bool gives(struct classify *c, size_t vidx, const char *name, const struct lookup_addr *a)
{
	uint16_t qtype = a->family == AF_INET6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
	const struct cache_entry *e = answer_of(c, vidx, name, qtype);
	return e && addr_in(e->addrs, e->n, a);
}

/* Does version vidx give no address for the types asked? (false when it cannot be told) */
static bool gives_none(struct classify *c, size_t vidx, const char *name,
                       const struct classify_query *q)
{
	const struct cache_entry *ea = NULL, *e6 = NULL;
	if (q->want_a && !(ea = answer_of(c, vidx, name, LDNS_RR_TYPE_A)))
		return false;
	if (q->want_aaaa && !(e6 = answer_of(c, vidx, name, LDNS_RR_TYPE_AAAA)))
		return false;
	return (ea ? ea->n : 0) + (e6 ? e6->n : 0) == 0;
}

/* The zone versions whose origin holds name: those of the longest such origin known by us. */
static size_t best_origin_len(struct classify *c, const uint8_t *wname, size_t wlen, int64_t us)
{
	size_t best = 0;
	bool found = false;
	for (size_t i = 0; i < c->nv; i++) {
		size_t ol;
		const uint8_t *o = zone_version_origin(c->versions[i].v, &ol);
		if (c->versions[i].known_us <= us && wire_name_is_subdomain(wname, wlen, o, ol) &&
		    (!found || ol > best)) {
			best = ol;
			found = true;
		}
	}
	return found ? best : 0;
}

static struct classify_result classify_slow(struct classify *c, const struct classify_query *q);

static uint64_t memo_key(const struct classify_query *q, uint8_t flags)
{
	uint64_t h = hash_key(q->name, flags, q->naddrs);
	for (size_t i = 0; i < q->naddrs; i++)
		for (size_t k = 0; k < 16; k++)
			h = (h ^ q->addrs[i].a[k]) * 1099511628211ULL;
	return h;
}

static bool memo_same(const struct memo *m, const struct classify_query *q, uint8_t flags)
{
	if (m->flags != flags || m->n != q->naddrs || strcmp(m->name, q->name) != 0)
		return false;
	for (size_t i = 0; i < q->naddrs; i++)
		if (m->addrs[i].family != q->addrs[i].family ||
		    memcmp(m->addrs[i].a, q->addrs[i].a, 16) != 0)
			return false;
	return true;
}

struct classify_result classify_answer(struct classify *c, const struct classify_query *q)
{
	uint8_t flags = (uint8_t)(q->want_a | q->want_aaaa << 1 | q->nxdomain << 2);
	/* Remembered only once every known version and publish is in the past
	 * and out of its grace: then the class no longer depends on the time. */
	int64_t us = to_us(q->t);
	bool settled = c->np == 0 || us - c->pubs[c->np - 1].us > c->grace_us;
	for (size_t i = c->nv; settled && i-- > 0;)
		settled = c->versions[i].known_us <= us;
	bool memoable =
	        settled && q->naddrs <= MEMO_ADDRS && strlen(q->name) < sizeof c->memo->name;
	if (memoable && !c->memo)
		c->memo = calloc(MEMO_SLOTS, sizeof *c->memo);
	if (!memoable || !c->memo)
		return classify_slow(c, q);
	uint64_t key = memo_key(q, flags);
	struct memo *m = &c->memo[key % MEMO_SLOTS];
	if (m->generation == c->generation + 1 && m->key == key && memo_same(m, q, flags))
		return m->res;
	struct classify_result res = classify_slow(c, q);
	m->key = key;
	m->generation = c->generation + 1; /* 0 means empty */
	snprintf(m->name, sizeof m->name, "%s", q->name);
	m->flags = flags;
	m->n = (uint8_t)q->naddrs;
	memset(m->addrs, 0, sizeof m->addrs);
	for (size_t i = 0; i < q->naddrs; i++)
		m->addrs[i] = q->addrs[i];
	m->res = res;
	return res;
}

static void take_version(struct classify *c, struct classify_result *res, size_t vidx)
{
	res->serial = c->versions[vidx].serial;
	memcpy(res->digest, c->versions[vidx].digest, ZONE_DIGEST_LEN);
}

/* Is version i another version of the zone (origin) known by us? */
static bool other_version(struct classify *c, size_t i, long cur, const uint8_t *origin,
                          size_t olen, int64_t us)
{
	size_t ol;
	const uint8_t *o = zone_version_origin(c->versions[i].v, &ol);
	return (long)i != cur && c->versions[i].known_us <= us && ol == olen &&
	       memcmp(o, origin, ol) == 0;
}

/* Where a name stands at a moment: its zone and the published versions. */
struct name_at {
	char name[WIRE_NAME_MAX * 4 + 2]; /* lower case, absolute */
	uint8_t origin[WIRE_NAME_MAX];
	size_t olen;
	int64_t us;
	long cur, prev; /* the version published at us, and the one it replaced (-1: none) */
	int64_t cur_us; /* when cur was published */
};

/* Fills at for name at t; false when no known version holds the name's zone. */
static bool name_at(struct classify *c, const char *qname, double t, struct name_at *at)
{
	size_t n = strlen(qname);
	if (n == 0 || n + 2 > sizeof at->name)
		return false;
	for (size_t i = 0; i < n; i++)
		at->name[i] = (char)tolower((unsigned char)qname[i]);
	at->name[n] = '\0';
	if (at->name[n - 1] != '.') {
		at->name[n] = '.';
		at->name[n + 1] = '\0';
	}
	ldns_rdf *dn = ldns_dname_new_frm_str(at->name);
	if (!dn)
		return false;
	uint8_t wname[WIRE_NAME_MAX];
	size_t wlen = ldns_rdf_size(dn);
	if (wlen > sizeof wname) {
		ldns_rdf_deep_free(dn);
		return false;
	}
	memcpy(wname, ldns_rdf_data(dn), wlen);
	ldns_rdf_deep_free(dn);
	at->us = to_us(t);
	at->olen = best_origin_len(c, wname, wlen, at->us);
	if (at->olen == 0)
		return false;
	memcpy(at->origin, wname + (wlen - at->olen), at->olen);

	/* The zone's published version at that moment, and the one it replaced. */
	at->cur = at->prev = -1;
	at->cur_us = 0;
	for (size_t i = 0; i < c->np; i++) {
		size_t vi = c->pubs[i].vidx;
		size_t ol;
		const uint8_t *o = zone_version_origin(c->versions[vi].v, &ol);
		if (ol != at->olen || memcmp(o, at->origin, ol) != 0 || c->pubs[i].us > at->us)
			continue;
		at->prev = at->cur;
		at->cur = (long)vi;
		at->cur_us = c->pubs[i].us;
	}
	if (at->cur < 0) { /* no publish: the highest serial known is the truth (the first such) */
		for (size_t i = 0; i < c->nv; i++)
			if (other_version(c, i, -1, at->origin, at->olen, at->us) &&
			    (at->cur < 0 || c->versions[i].serial > c->versions[at->cur].serial))
				at->cur = (long)i;
	}
	return at->cur >= 0;
}

/* Does some address of e lie outside base? */
static bool adds_to(const struct cache_entry *e, const struct cache_entry *base)
{
	for (size_t i = 0; i < e->n; i++)
		if (!addr_in(base->addrs, base->n, &e->addrs[i]))
			return true;
	return false;
}

bool classify_stale_possible(struct classify *c, const char *qname, bool want_a, bool want_aaaa,
                             double t)
{
	struct name_at at;
	if (!name_at(c, qname, t, &at))
		return false;
	static const uint16_t types[] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
	const bool want[] = {want_a, want_aaaa};
	for (size_t i = 0; i < c->nv; i++) {
		if (!other_version(c, i, at.cur, at.origin, at.olen, at.us))
			continue;
		size_t here = 0, there = 0;
		for (size_t k = 0; k < 2; k++) {
			if (!want[k])
				continue;
			const struct cache_entry *pub =
			        answer_of(c, (size_t)at.cur, at.name, types[k]);
			const struct cache_entry *other = answer_of(c, i, at.name, types[k]);
			if (!pub || !other)
				return true; /* cannot be told: not "could not be stale" */
			if (adds_to(other, pub))
				return true; /* a record only the other version gives */
			here += pub->n;
			there += other->n;
		}
		if (there == 0 && here > 0)
			return true; /* no address, where the published version has some */
	}
	return false;
}

static struct classify_result classify_slow(struct classify *c, const struct classify_query *q)
{
	struct classify_result res;
	memset(&res, 0, sizeof res);
	struct name_at at;
	if (!name_at(c, q->name, q->t, &at))
		return res;
	const char *name = at.name;
	const uint8_t *origin = at.origin;
	size_t olen = at.olen;
	int64_t us = at.us, cur_us = at.cur_us;
	long cur = at.cur, prev = at.prev;
	/* Grace: only for the published version this publish replaced. */
	bool grace_ok = prev >= 0 && prev != cur && us - cur_us <= c->grace_us;

	if (q->nxdomain || q->naddrs == 0) {
		/* No address: compared whole. */
		if (gives_none(c, (size_t)cur, name, q)) {
			res.cls = CLASS_FRESH;
			take_version(c, &res, (size_t)cur);
		} else if (grace_ok && gives_none(c, (size_t)prev, name, q)) {
			res.cls = CLASS_FRESH;
			res.grace = true;
			take_version(c, &res, (size_t)prev);
		} else {
			res.cls = CLASS_WRONG;
			for (size_t i = c->nv; i-- > 0;)
				if (other_version(c, i, cur, origin, olen, us) &&
				    gives_none(c, i, name, q)) {
					res.cls = CLASS_STALE;
					take_version(c, &res, i);
					break;
				}
		}
		return res;
	}

	/* Record by record. */
	bool any_grace = false;
	for (size_t k = 0; k < q->naddrs; k++) {
		const struct lookup_addr *a = &q->addrs[k];
		uint64_t bit = k < CLASSIFY_MASK_BITS ? 1ULL << k : 0;
		if (gives(c, (size_t)cur, name, a))
			continue;
		if (grace_ok && gives(c, (size_t)prev, name, a)) {
			any_grace = true;
			continue;
		}
		bool known = false;
		for (size_t i = 0; i < c->nv && !known; i++)
			known = other_version(c, i, cur, origin, olen, us) && gives(c, i, name, a);
		if (known) {
			res.stale |= bit;
			if (res.cls != CLASS_WRONG)
				res.cls = CLASS_STALE;
		} else {
			res.wrong |= bit;
			res.cls = CLASS_WRONG;
		}
	}
	if (res.cls == CLASS_NONE) {
		res.cls = CLASS_FRESH;
		res.grace = any_grace;
		take_version(c, &res, (size_t)(any_grace ? prev : cur));
		return res;
	}
	if (!res.stale)
		return res; /* wrong, and nothing stale to name a version for */
	/* The version the stale records come from: the one giving most of them,
	 * the last known of those tied. */
	long best = -1;
	size_t best_n = 0;
	for (size_t i = c->nv; i-- > 0;) {
		if (!other_version(c, i, cur, origin, olen, us))
			continue;
		size_t got = 0;
		for (size_t k = 0; k < q->naddrs && k < CLASSIFY_MASK_BITS; k++)
			got += (res.stale >> k & 1) && gives(c, i, name, &q->addrs[k]);
		if (got > best_n) {
			best = (long)i;
			best_n = got;
		}
	}
	if (best >= 0)
		take_version(c, &res, (size_t)best);
	return res;
}
