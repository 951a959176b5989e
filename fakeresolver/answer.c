/*
 * answer.c - the sans-I/O answer engine.
 */
#include "fakeresolver/answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DNS_RCODE_NOTAUTH 9
#define ADDITIONAL_MAX 32

/* A reply under construction: the writer plus the section counts. */
struct reply {
	struct wire_writer w;
	const struct zone_version *zone;
	size_t question_end;  /* where the sections start */
	size_t section_limit; /* w.limit less the room kept for the OPT record */
	uint16_t an, ns, ar;
	bool tc;
	const uint8_t *extra[ADDITIONAL_MAX]; /* names whose addresses go in additional */
	size_t nextra;
	bool extra_required; /* referral glue: TC if it does not fit */
};

static void note_target(struct reply *r, const uint8_t *name)
{
	for (size_t i = 0; i < r->nextra; i++)
		if (wire_name_equal(r->extra[i], name))
			return;
	if (r->nextra < ADDITIONAL_MAX)
		r->extra[r->nextra++] = name;
}

/* Notes the names in an RRset's rdata whose addresses belong in additional. */
static void note_targets(struct reply *r, const struct zone_rrset *rs)
{
	size_t skip;
	switch (rs->type) {
	case DNS_TYPE_NS:
		skip = 0;
		break;
	case DNS_TYPE_MX:
		skip = 2;
		break;
	case DNS_TYPE_SRV:
		skip = 6;
		break;
	default:
		return;
	}
	const uint8_t *e = rs->rdata;
	for (unsigned i = 0; i < rs->count; i++) {
		const uint8_t *rd;
		uint16_t len;
		e = zone_rdata_next(e, &rd, &len);
		note_target(r, rd + skip);
	}
}

/* Writes a whole RRset or nothing; returns 0 or -1 if it does not fit. */
static int put_rrset(struct reply *r, const uint8_t *owner, const struct zone_rrset *rs,
		     uint32_t ttl, uint16_t *count)
{
	size_t start = r->w.len;
	size_t saved_limit = r->w.limit;
	const uint8_t *e = rs->rdata;

	r->w.limit = r->section_limit;
	for (unsigned i = 0; i < rs->count; i++) {
		const uint8_t *rd;
		uint16_t len;
		e = zone_rdata_next(e, &rd, &len);
		if (wire_write_rr(&r->w, owner, rs->type, ttl, rd, len) != 0) {
			wire_writer_rewind(&r->w, start);
			r->w.limit = saved_limit;
			return -1;
		}
	}
	r->w.limit = saved_limit;
	*count = (uint16_t)(*count + rs->count);
	return 0;
}

static int put_answer(struct reply *r, const uint8_t *owner, const struct zone_rrset *rs)
{
	if (put_rrset(r, owner, rs, rs->ttl, &r->an) != 0)
		return -1;
	note_targets(r, rs);
	return 0;
}

/* The apex SOA in authority, with the RFC 2308 negative-caching TTL. */
static int put_negative_soa(struct reply *r)
{
	struct zone_rrset soa = zone_version_soa(r->zone);
	const uint8_t *rd;
	uint16_t len;
	zone_rdata_next(soa.rdata, &rd, &len);
	size_t m = wire_name_len(rd);
	uint32_t minimum = wire_get32(rd + m + wire_name_len(rd + m) + 16);
	return put_rrset(r, zone_version_origin(r->zone, NULL), &soa,
			 soa.ttl < minimum ? soa.ttl : minimum, &r->ns);
}

/* A, then AAAA, for every noted target inside this zone. */
static void put_additional(struct reply *r)
{
	size_t olen;
	const uint8_t *origin = zone_version_origin(r->zone, &olen);

	for (size_t i = 0; i < r->nextra; i++) {
		uint8_t lname[WIRE_NAME_MAX];
		size_t len = wire_name_len(r->extra[i]);
		memcpy(lname, r->extra[i], len);
		wire_name_lower(lname);
		if (!wire_name_is_subdomain(lname, len, origin, olen))
			continue;
		uint32_t node = zone_find(r->zone, lname, len);
		if (node == ZONE_NODE_NONE)
			continue;
		static const uint16_t types[] = { DNS_TYPE_A, DNS_TYPE_AAAA };
		for (size_t t = 0; t < 2; t++) {
			struct zone_rrset rs;
			if (!zone_node_rrset(r->zone, node, types[t], &rs))
				continue;
			if (put_rrset(r, zone_node_name(r->zone, node), &rs, rs.ttl, &r->ar) != 0) {
				if (r->extra_required)
					r->tc = true;
				return;
			}
		}
	}
}

/* Strips the first label of a name; returns the parent and its length. */
static const uint8_t *parent_of(const uint8_t *name, size_t *len)
{
	*len -= (size_t)*name + 1;
	return name + *name + 1;
}

/* Walks up from a node to find the zone cut nearest the apex above or at it. */
static uint32_t topmost_cut(const struct zone_version *v, const uint8_t *name, size_t len)
{
	size_t olen;
	zone_version_origin(v, &olen);
	uint32_t cut = ZONE_NODE_NONE;
	while (len > olen) {
		uint32_t n = zone_find(v, name, len);
		if (n != ZONE_NODE_NONE && (zone_node_flags(v, n) & ZONE_NODE_DELEG))
			cut = n;
		name = parent_of(name, &len);
	}
	return cut;
}

/* Outcome of resolving one name inside the zone. */
enum step { STEP_DONE, STEP_FOLLOW, STEP_TRUNC };

/*
 * Answers for name (lower-case) at one step of a CNAME chain. On STEP_FOLLOW
 * *next is the CNAME target (inside the zone data, original case).
 */
static enum step resolve(struct reply *r, const uint8_t *name, size_t len, uint16_t qtype,
			 unsigned chain, uint16_t *rcode, bool *aa, const uint8_t **next)
{
	const struct zone_version *v = r->zone;
	size_t olen;
	zone_version_origin(v, &olen);

	/* The closest encloser: the apex always exists, so this ends. */
	const uint8_t *ce = name;
	size_t celen = len;
	uint32_t node;
	while ((node = zone_find(v, ce, celen)) == ZONE_NODE_NONE)
		ce = parent_of(ce, &celen);
	bool exact = celen == len;
	unsigned flags = zone_node_flags(v, node);

	if (flags & (ZONE_NODE_DELEG | ZONE_NODE_OCCLUDED)) {
		bool parent_side_ds = exact && qtype == DNS_TYPE_DS && !(flags & ZONE_NODE_OCCLUDED);
		if (!parent_side_ds) {
			uint32_t cut = topmost_cut(v, ce, celen);
			struct zone_rrset ns;
			zone_node_rrset(v, cut, DNS_TYPE_NS, &ns);
			if (chain == 0)
				*aa = false;
			if (put_rrset(r, zone_node_name(v, cut), &ns, ns.ttl, &r->ns) != 0)
				return STEP_TRUNC;
			note_targets(r, &ns);
			r->extra_required = true;
			return STEP_DONE;
		}
	}

	if (!exact) {
		uint8_t wild[WIRE_NAME_MAX];
		node = ZONE_NODE_NONE;
		if ((flags & ZONE_NODE_WILDPARENT) && celen + 2 <= WIRE_NAME_MAX) {
			wild[0] = 1;
			wild[1] = '*';
			memcpy(wild + 2, ce, celen);
			node = zone_find(v, wild, celen + 2);
		}
		if (node == ZONE_NODE_NONE) {
			*rcode = DNS_RCODE_NXDOMAIN;
			return put_negative_soa(r) != 0 ? STEP_TRUNC : STEP_DONE;
		}
		/* RFC 4592: the wildcard answers with the query's own name as owner. */
	}

	struct zone_rrset rs;
	unsigned n = zone_node_rrset_count(v, node);
	if (qtype == DNS_TYPE_ANY && n > 0) {
		for (unsigned i = 0; i < n; i++) {
			rs = zone_node_rrset_at(v, node, i);
			if (put_answer(r, name, &rs) != 0)
				return STEP_TRUNC;
		}
		return STEP_DONE;
	}
	if (zone_node_rrset(v, node, qtype, &rs))
		return put_answer(r, name, &rs) != 0 ? STEP_TRUNC : STEP_DONE;
	if (qtype != DNS_TYPE_CNAME && zone_node_rrset(v, node, DNS_TYPE_CNAME, &rs)) {
		if (put_answer(r, name, &rs) != 0)
			return STEP_TRUNC;
		const uint8_t *rd;
		uint16_t rdlen;
		zone_rdata_next(rs.rdata, &rd, &rdlen);
		*next = rd;
		return STEP_FOLLOW;
	}
	return put_negative_soa(r) != 0 ? STEP_TRUNC : STEP_DONE; /* NODATA */
}

static size_t finish(struct reply *r, const struct answer_info *info, uint16_t flags,
		     uint16_t rcode, uint16_t qdcount)
{
	const struct wire_query *q = &info->query;
	if (q->edns) {
		if (wire_write_opt(&r->w, ANSWER_EDNS_PAYLOAD, (uint8_t)(rcode >> 4), q->edns_do) == 0)
			r->ar++;
	}
	if (r->tc)
		flags |= WIRE_FLAG_TC;
	uint8_t *h = r->w.buf;
	wire_put16(h, q->id);
	wire_put16(h + 2, (uint16_t)(flags | (rcode & 0xf)));
	wire_put16(h + 4, qdcount);
	wire_put16(h + 6, r->an);
	wire_put16(h + 8, r->ns);
	wire_put16(h + 10, r->ar);
	return r->w.len;
}

/* Truncates back to the question and marks TC (RFC 2181 9: no partial RRsets). */
static void truncate_reply(struct reply *r)
{
	wire_writer_rewind(&r->w, r->question_end);
	r->an = r->ns = r->ar = 0;
	r->tc = true;
}

static void info_reset(struct answer_info *info)
{
	info->action = ANSWER_REPLY;
	info->zone = NULL;
	info->ancount = info->nscount = info->arcount = 0;
	info->flags = 0;
	info->rcode = 0;
}

/*
 * Sets the reply's limits and echoes the question. Returns false if not even
 * that fits (then nothing is to be sent).
 */
static bool begin_reply(struct reply *r, const struct answer_info *info, const uint8_t *pkt,
			size_t len, enum answer_transport transport, uint8_t *out, size_t cap)
{
	const struct wire_query *q = &info->query;

	/* Limits: 512 without EDNS, the client's size (capped by ours) with it. */
	size_t limit = cap;
	if (transport == ANSWER_UDP) {
		size_t udp = WIRE_UDP_MIN;
		if (q->edns && q->edns_udp_size > udp)
			udp = q->edns_udp_size < ANSWER_EDNS_PAYLOAD ? q->edns_udp_size
								     : ANSWER_EDNS_PAYLOAD;
		if (udp < limit)
			limit = udp;
	} else if (limit > WIRE_MSG_MAX) {
		limit = WIRE_MSG_MAX;
	}
	r->zone = NULL;
	r->an = r->ns = r->ar = 0;
	r->tc = false;
	r->nextra = 0;
	r->extra_required = false;
	wire_writer_init(&r->w, out, limit);
	r->w.len = WIRE_HEADER_LEN;
	r->section_limit = q->edns ? limit - 11 : limit;
	r->question_end = r->w.len;
	if (!q->question_end)
		return true;

	/*
	 * Echo the question as sent, letter case included (0x20), but with its
	 * name uncompressed: a pointer into the query's header would point into
	 * ours. Most questions are uncompressed and are copied as they stand.
	 */
	size_t qlen = q->question_end - WIRE_HEADER_LEN;
	if (WIRE_HEADER_LEN + q->qname_len + 4 > r->section_limit)
		return false;
	if (qlen == q->qname_len + 4) {
		wire_write_bytes(&r->w, pkt + WIRE_HEADER_LEN, qlen);
	} else {
		uint8_t qname[WIRE_NAME_MAX];
		size_t qpos = WIRE_HEADER_LEN, qname_len;
		wire_name_read(pkt, len, &qpos, qname, &qname_len); /* it parsed once already */
		wire_write_bytes(&r->w, qname, qname_len);
		wire_write_bytes(&r->w, pkt + qpos, 4);
	}
	wire_writer_remember(&r->w, q->qname, WIRE_HEADER_LEN);
	r->question_end = r->w.len;
	return true;
}

static uint16_t reply_flags(const struct wire_query *q)
{
	return WIRE_FLAG_QR | (q->flags & (WIRE_FLAG_RD | WIRE_FLAG_CD | 0x7800u));
}

/* The engine: the query's zone is zone when matched, else looked up in zones. */
static size_t answer_from(const struct zone_set *zones, struct zone_version *zone, bool matched,
			  const uint8_t *pkt, size_t len, enum answer_transport transport,
			  uint8_t *out, size_t cap, struct answer_info *info);

size_t answer_parsed(const struct zone_set *zones, const uint8_t *pkt, size_t len,
		     enum answer_transport transport, uint8_t *out, size_t cap,
		     struct answer_info *info)
{
	return answer_from(zones, NULL, false, pkt, len, transport, out, cap, info);
}

size_t answer_in_zone(const struct zone_set *zones, struct zone_version *zone, const uint8_t *pkt,
		      size_t len, enum answer_transport transport, uint8_t *out, size_t cap,
		      struct answer_info *info)
{
	return answer_from(zones, zone, true, pkt, len, transport, out, cap, info);
}

size_t answer_query(const struct zone_set *zones, const uint8_t *pkt, size_t len,
		    enum answer_transport transport, uint8_t *out, size_t cap,
		    struct answer_info *info)
{
	info->verdict = wire_query_parse(pkt, len, &info->query);
	return answer_parsed(zones, pkt, len, transport, out, cap, info);
}

static size_t answer_from(const struct zone_set *zones, struct zone_version *zone, bool matched,
			  const uint8_t *pkt, size_t len, enum answer_transport transport,
			  uint8_t *out, size_t cap, struct answer_info *info)
{
	struct wire_query *q = &info->query;
	struct reply r;
	uint16_t rcode = DNS_RCODE_NOERROR;
	bool aa = true;

	info_reset(info);
	if (info->verdict == WIRE_QUERY_DROP || !begin_reply(&r, info, pkt, len, transport, out, cap)) {
		info->action = ANSWER_DROP;
		return 0;
	}
	uint16_t qdcount = q->question_end ? 1 : 0;
	uint16_t flags = reply_flags(q);

	if (info->verdict == WIRE_QUERY_FORMERR) {
		q->edns = false; /* an OPT we could not trust is not echoed */
		rcode = DNS_RCODE_FORMERR;
		goto done;
	}
	if (info->verdict == WIRE_QUERY_NOTIMP) {
		rcode = DNS_RCODE_NOTIMP;
		goto done;
	}
	if (q->edns && q->edns_version != 0) {
		rcode = DNS_RCODE_BADVERS;
		goto done;
	}
	if (q->qclass != DNS_CLASS_IN) {
		rcode = DNS_RCODE_REFUSED;
		goto done;
	}
	switch (q->qtype) {
	case DNS_TYPE_OPT:
		rcode = DNS_RCODE_FORMERR;
		goto done;
	case DNS_TYPE_MAILA:
	case DNS_TYPE_MAILB:
		rcode = DNS_RCODE_NOTIMP;
		goto done;
	case DNS_TYPE_AXFR:
		if (transport == ANSWER_UDP) {
			rcode = DNS_RCODE_FORMERR; /* RFC 5936 4.2: AXFR is TCP only */
			goto done;
		}
		break;
	default:
		break;
	}

	r.zone = info->zone = matched ? zone : zone_set_match(zones, q->qname, q->qname_len);
	if (!r.zone) {
		rcode = DNS_RCODE_REFUSED;
		goto done;
	}
	size_t olen;
	const uint8_t *origin = zone_version_origin(r.zone, &olen);
	bool at_apex = olen == q->qname_len && memcmp(origin, q->qname, olen) == 0;

	if (q->qtype == DNS_TYPE_AXFR || (q->qtype == DNS_TYPE_IXFR && transport == ANSWER_TCP)) {
		if (!at_apex) {
			rcode = DNS_RCODE_NOTAUTH;
			goto done;
		}
		info->action = ANSWER_AXFR;
		return 0;
	}
	if (q->qtype == DNS_TYPE_IXFR) {
		/* RFC 1995 2: over UDP, the current SOA tells the client to use TCP. */
		struct zone_rrset soa = zone_version_soa(r.zone);
		flags |= WIRE_FLAG_AA;
		if (put_answer(&r, q->qname, &soa) != 0)
			truncate_reply(&r);
		goto done;
	}

	const uint8_t *name = q->qname;
	size_t nlen = q->qname_len;
	uint8_t chain_names[2][WIRE_NAME_MAX];
	for (unsigned chain = 0;; chain++) {
		const uint8_t *next = NULL;
		enum step s = resolve(&r, name, nlen, q->qtype, chain, &rcode, &aa, &next);
		if (s == STEP_TRUNC) {
			truncate_reply(&r);
			break;
		}
		if (s == STEP_DONE)
			break;
		/* Follow the CNAME only inside this zone, and not forever. */
		if (chain + 1 >= ANSWER_CNAME_CHAIN_MAX)
			break;
		uint8_t *buf = chain_names[chain & 1];
		nlen = wire_name_len(next);
		memcpy(buf, next, nlen);
		wire_name_lower(buf);
		if (zone_set_match(zones, buf, nlen) != r.zone)
			break;
		name = buf;
	}
	if (aa)
		flags |= WIRE_FLAG_AA;
	if (!r.tc)
		put_additional(&r);

done:
	info->rcode = rcode;
	size_t n = finish(&r, info, flags, rcode, qdcount);
	info->flags = wire_get16(out + 2);
	info->ancount = r.an;
	info->nscount = r.ns;
	info->arcount = r.ar;
	return n;
}

size_t answer_error(const uint8_t *pkt, size_t len, enum answer_transport transport, uint8_t *out,
		    size_t cap, uint16_t rcode, bool tc, struct answer_info *info)
{
	struct reply r;
	info_reset(info);
	if (info->verdict == WIRE_QUERY_DROP || !begin_reply(&r, info, pkt, len, transport, out, cap)) {
		info->action = ANSWER_DROP;
		return 0;
	}
	if (info->verdict == WIRE_QUERY_FORMERR)
		info->query.edns = false;
	r.tc = tc;
	info->rcode = rcode;
	size_t n = finish(&r, info, reply_flags(&info->query), rcode,
			  info->query.question_end ? 1 : 0);
	info->flags = wire_get16(out + 2);
	info->arcount = r.ar;
	return n;
}

size_t answer_address(const uint8_t *pkt, size_t len, enum answer_transport transport,
		      uint8_t *out, size_t cap, int family, const uint8_t *addr, uint32_t ttl,
		      struct answer_info *info)
{
	struct reply r;
	const struct wire_query *q = &info->query;
	uint16_t type = family == AF_INET6 ? DNS_TYPE_AAAA : DNS_TYPE_A;

	info_reset(info);
	if (info->verdict != WIRE_QUERY_OK)
		return answer_error(pkt, len, transport, out, cap,
				    info->verdict == WIRE_QUERY_NOTIMP ? DNS_RCODE_NOTIMP
								       : DNS_RCODE_FORMERR,
				    false, info);
	if (!begin_reply(&r, info, pkt, len, transport, out, cap)) {
		info->action = ANSWER_DROP;
		return 0;
	}
	if (q->qtype == type || q->qtype == DNS_TYPE_ANY) {
		if (wire_write_rr(&r.w, q->qname, type, ttl, addr, type == DNS_TYPE_A ? 4 : 16) == 0)
			r.an = 1;
		else
			truncate_reply(&r);
	}
	size_t n = finish(&r, info, reply_flags(q) | WIRE_FLAG_AA, DNS_RCODE_NOERROR, 1);
	info->flags = wire_get16(out + 2);
	info->ancount = r.an;
	info->arcount = r.ar;
	return n;
}

/* ---- zone transfers ---- */

struct answer_axfr {
	struct zone_version *zone;
	uint16_t id;
	uint8_t question[WIRE_NAME_MAX + 4]; /* origin, type, class as the client sent */
	size_t question_len;
	int phase;          /* 0 first SOA, 1 records, 2 last SOA, 3 done */
	uint32_t node;      /* position in phase 1 */
	unsigned rrset;
	unsigned rdata;
	const uint8_t *entry;
};

struct answer_axfr *answer_axfr_create(const struct answer_info *info)
{
	struct answer_axfr *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	const struct wire_query *q = &info->query;
	x->zone = zone_version_ref(info->zone);
	x->id = q->id;
	/* The question, rebuilt from the lower-case name (compression-free). */
	memcpy(x->question, q->qname, q->qname_len);
	wire_put16(x->question + q->qname_len, q->qtype);
	wire_put16(x->question + q->qname_len + 2, q->qclass);
	x->question_len = q->qname_len + 4;
	return x;
}

void answer_axfr_destroy(struct answer_axfr *x)
{
	if (!x)
		return;
	zone_version_unref(x->zone);
	free(x);
}

/* Advances to the next record of phase 1 that is not the apex SOA; false at the end. */
static bool axfr_seek(struct answer_axfr *x, struct zone_rrset *rs)
{
	const struct zone_version *v = x->zone;
	size_t nodes = zone_version_node_count(v);
	for (; x->node < nodes; x->node++, x->rrset = 0, x->rdata = 0) {
		unsigned n = zone_node_rrset_count(v, x->node);
		for (; x->rrset < n; x->rrset++, x->rdata = 0) {
			*rs = zone_node_rrset_at(v, x->node, x->rrset);
			bool apex_soa = rs->type == DNS_TYPE_SOA &&
					(zone_node_flags(v, x->node) & ZONE_NODE_APEX);
			if (apex_soa || x->rdata >= rs->count)
				continue;
			if (x->rdata == 0)
				x->entry = rs->rdata;
			return true;
		}
	}
	return false;
}

size_t answer_axfr_next(struct answer_axfr *x, uint8_t *out, size_t cap)
{
	struct wire_writer w;
	uint16_t an = 0;
	const struct zone_version *v = x->zone;
	const uint8_t *origin = zone_version_origin(v, NULL);
	struct zone_rrset soa = zone_version_soa(v);
	const uint8_t *soa_rd;
	uint16_t soa_len;

	if (x->phase == 3)
		return 0;
	zone_rdata_next(soa.rdata, &soa_rd, &soa_len);
	wire_writer_init(&w, out, cap < WIRE_MSG_MAX ? cap : WIRE_MSG_MAX);
	w.len = WIRE_HEADER_LEN;
	wire_write_bytes(&w, x->question, x->question_len);
	wire_writer_remember(&w, x->question, WIRE_HEADER_LEN);

	for (;;) {
		if (x->phase == 0 || x->phase == 2) {
			if (wire_write_rr(&w, origin, DNS_TYPE_SOA, soa.ttl, soa_rd, soa_len) != 0)
				break;
			an++;
			x->phase++;
			if (x->phase == 3)
				break;
			continue;
		}
		struct zone_rrset rs;
		if (!axfr_seek(x, &rs)) {
			x->phase = 2;
			continue;
		}
		const uint8_t *rd;
		uint16_t len;
		const uint8_t *nextentry = zone_rdata_next(x->entry, &rd, &len);
		if (wire_write_rr(&w, zone_node_name(v, x->node), rs.type, rs.ttl, rd, len) != 0)
			break;
		an++;
		x->entry = nextentry;
		x->rdata++;
	}
	if (an == 0)
		return 0; /* cannot happen with cap >= 512 and records <= 65535 octets */
	wire_put16(out, x->id);
	wire_put16(out + 2, WIRE_FLAG_QR | WIRE_FLAG_AA);
	wire_put16(out + 4, 1);
	wire_put16(out + 6, an);
	wire_put16(out + 8, 0);
	wire_put16(out + 10, 0);
	return w.len;
}

/* ---- names for logs ---- */

const char *answer_rcode_str(uint16_t rcode, char *buf, size_t cap)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
					     "NXRRSET", "NOTAUTH", "NOTZONE" };
	if (rcode < sizeof names / sizeof names[0])
		return names[rcode];
	if (rcode == DNS_RCODE_BADVERS)
		return "BADVERS";
	snprintf(buf, cap, "RCODE%u", rcode);
	return buf;
}

const char *answer_type_str(uint16_t type, char *buf, size_t cap)
{
	static const struct {
		uint16_t type;
		const char *name;
	} names[] = {
		{ DNS_TYPE_A, "A" },	     { DNS_TYPE_NS, "NS" },	{ DNS_TYPE_CNAME, "CNAME" },
		{ DNS_TYPE_SOA, "SOA" },     { DNS_TYPE_PTR, "PTR" },	{ DNS_TYPE_MX, "MX" },
		{ DNS_TYPE_TXT, "TXT" },     { DNS_TYPE_AAAA, "AAAA" }, { DNS_TYPE_SRV, "SRV" },
		{ DNS_TYPE_DNAME, "DNAME" }, { DNS_TYPE_OPT, "OPT" },	{ DNS_TYPE_DS, "DS" },
		{ DNS_TYPE_RRSIG, "RRSIG" }, { DNS_TYPE_NSEC, "NSEC" }, { DNS_TYPE_IXFR, "IXFR" },
		{ DNS_TYPE_AXFR, "AXFR" },   { DNS_TYPE_ANY, "ANY" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].type == type)
			return names[i].name;
	snprintf(buf, cap, "TYPE%u", type);
	return buf;
}
