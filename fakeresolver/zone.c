/*
 * zone.c - zone versions (built once, then immutable) and the zone set.
 *
 * Layout of a frozen version, chosen so that a million names cost tens of
 * megabytes, not hundreds: one array of nodes (16 octets each), an open
 * addressing table of node indices, one arena of names, one array of RRsets
 * and one arena of rdata entries, all addressed by 32-bit offsets.
 */
#include "fakeresolver/zone.h"
#include "fakeresolver/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <ldns/sha2.h>

struct node {
	uint32_t hash;
	uint32_t name_off;
	uint32_t rrset_first;
	uint16_t nrrsets;
	uint8_t name_len; /* a wire name is at most 255 octets */
	uint8_t flags;
};

struct rrset_rec {
	uint16_t type;
	uint16_t count;
	uint32_t ttl;
	uint32_t rdata_off;
};

/* A record while building: rdata_off points at [len16][octets] in the arena. */
struct rec {
	uint32_t node;
	uint32_t rdata_off;
	uint32_t ttl;
	uint32_t line;
	uint16_t type;
};

/*
 * A hash table slot: the name's hash beside the node index, so a probe that
 * misses never touches the node or its name (two cache lines saved).
 */
struct slot {
	uint32_t hash;
	uint32_t node; /* node index + 1, 0 = empty */
};

struct arena {
	uint8_t *p;
	size_t len, cap;
};

struct zone_builder {
	uint8_t origin[WIRE_NAME_MAX];
	size_t origin_len;
	char *source;
	struct arena names;
	struct arena rdata;
	struct node *nodes;
	size_t nnodes, cap_nodes;
	struct slot *table;
	size_t table_cap;
	struct rec *recs;
	size_t nrecs, cap_recs;
};

struct zone_version {
	int refs;
	uint32_t serial;
	uint8_t origin[WIRE_NAME_MAX];
	size_t origin_len;
	char *source;
	uint8_t *names;
	struct node *nodes;
	size_t nnodes;
	struct slot *table;
	size_t table_mask;
	struct rrset_rec *rrsets;
	size_t nrrsets;
	uint8_t *rdata;
	size_t nrecords;
	uint32_t apex;
	bool digest_done; /* digest computed (lazily, by zone_version_digest) */
	uint8_t digest[ZONE_DIGEST_LEN];
};

static void fail(char *err, size_t errlen, const char *source, unsigned line, const char *fmt,
		 ...) __attribute__((format(printf, 5, 6)));

static void fail(char *err, size_t errlen, const char *source, unsigned line, const char *fmt,
		 ...)
{
	if (!err || errlen == 0)
		return;
	int n = line ? snprintf(err, errlen, "%s:%u: ", source, line)
		     : snprintf(err, errlen, "%s: ", source);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static uint32_t name_hash(const uint8_t *name, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= name[i];
		h *= 16777619u;
	}
	return h ? h : 1;
}

static int arena_reserve(struct arena *a, size_t more)
{
	if (a->cap - a->len >= more)
		return 0;
	size_t cap = a->cap ? a->cap : 4096;
	while (cap - a->len < more) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	if (cap > UINT32_MAX)
		return -1; /* offsets are 32-bit */
	uint8_t *p = realloc(a->p, cap);
	if (!p)
		return -1;
	a->p = p;
	a->cap = cap;
	return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	if (n > SIZE_MAX / elem || n > UINT32_MAX)
		return -1;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* Finds the node in a table; returns the index or ZONE_NODE_NONE. */
static uint32_t table_find(const struct slot *table, size_t mask, const struct node *nodes,
			   const uint8_t *names, const uint8_t *name, size_t len, uint32_t h)
{
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		const struct slot *e = &table[i];
		if (e->node == 0)
			return ZONE_NODE_NONE;
		if (e->hash != h)
			continue;
		const struct node *n = &nodes[e->node - 1];
		if (n->name_len == len && memcmp(names + n->name_off, name, len) == 0)
			return e->node - 1;
	}
}

static void table_insert(struct slot *table, size_t mask, uint32_t h, uint32_t idx)
{
	size_t i = h & mask;
	while (table[i].node)
		i = (i + 1) & mask;
	table[i].hash = h;
	table[i].node = idx + 1;
}

static int table_rehash(struct zone_builder *b, size_t cap)
{
	struct slot *t = calloc(cap, sizeof *t);
	if (!t)
		return -1;
	for (size_t i = 0; i < b->nnodes; i++)
		table_insert(t, cap - 1, b->nodes[i].hash, (uint32_t)i);
	free(b->table);
	b->table = t;
	b->table_cap = cap;
	return 0;
}

/* Finds or adds the node for a lower-case name. Returns 0 or -1 (out of memory). */
static int node_get(struct zone_builder *b, const uint8_t *name, size_t len, uint32_t *idx)
{
	uint32_t h = name_hash(name, len);
	uint32_t found = table_find(b->table, b->table_cap - 1, b->nodes, b->names.p, name, len, h);
	if (found != ZONE_NODE_NONE) {
		*idx = found;
		return 0;
	}
	if ((b->nnodes + 1) * 2 > b->table_cap && table_rehash(b, b->table_cap * 2) != 0)
		return -1;
	if (grow((void **)&b->nodes, &b->cap_nodes, b->nnodes + 1, sizeof *b->nodes) != 0 ||
	    arena_reserve(&b->names, len) != 0)
		return -1;
	struct node *n = &b->nodes[b->nnodes];
	memset(n, 0, sizeof *n);
	n->hash = h;
	n->name_off = (uint32_t)b->names.len;
	n->name_len = (uint8_t)len;
	memcpy(b->names.p + b->names.len, name, len);
	b->names.len += len;
	table_insert(b->table, b->table_cap - 1, h, (uint32_t)b->nnodes);
	*idx = (uint32_t)b->nnodes++;
	return 0;
}

struct zone_builder *zone_builder_create(const uint8_t *origin, const char *source)
{
	struct zone_builder *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->origin_len = wire_name_len(origin);
	memcpy(b->origin, origin, b->origin_len);
	wire_name_lower(b->origin);
	b->source = strdup(source ? source : "(zone)");
	b->table_cap = 1024;
	b->table = calloc(b->table_cap, sizeof *b->table);
	uint32_t apex;
	if (!b->source || !b->table || node_get(b, b->origin, b->origin_len, &apex) != 0) {
		zone_builder_destroy(b);
		return NULL;
	}
	return b;
}

void zone_builder_destroy(struct zone_builder *b)
{
	if (!b)
		return;
	free(b->source);
	free(b->names.p);
	free(b->rdata.p);
	free(b->nodes);
	free(b->table);
	free(b->recs);
	free(b);
}

/* True if rd[0, len) holds exactly one uncompressed name starting at off, ending at end. */
static bool name_at(const uint8_t *rd, size_t len, size_t off, size_t *end)
{
	size_t n = 0;
	while (off < len) {
		uint8_t c = rd[off];
		if (c & 0xc0)
			return false;
		n += (size_t)c + 1;
		if (n > WIRE_NAME_MAX || off + 1 + c > len)
			return false;
		off += (size_t)c + 1;
		if (c == 0) {
			*end = off;
			return true;
		}
	}
	return false;
}

/* Checks the rdata of the types whose names the writer walks and compresses. */
static bool rdata_valid(uint16_t type, const uint8_t *rd, size_t len)
{
	size_t end, end2;
	switch (type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case DNS_TYPE_DNAME:
		return name_at(rd, len, 0, &end) && end == len;
	case DNS_TYPE_MX:
		return len > 2 && name_at(rd, len, 2, &end) && end == len;
	case DNS_TYPE_SRV:
		return len > 6 && name_at(rd, len, 6, &end) && end == len;
	case DNS_TYPE_SOA:
		return name_at(rd, len, 0, &end) && name_at(rd, len, end, &end2) && end2 + 20 == len;
	case DNS_TYPE_A:
		return len == 4;
	case DNS_TYPE_AAAA:
		return len == 16;
	default:
		return true;
	}
}

static bool meta_type(uint16_t type)
{
	return type == DNS_TYPE_OPT || (type >= 128 && type <= 255) || type == 0;
}

int zone_builder_add(struct zone_builder *b, const uint8_t *owner, uint16_t type, uint32_t ttl,
		     const uint8_t *rdata, uint16_t rdlen, unsigned line, char *err, size_t errlen)
{
	uint8_t lname[WIRE_NAME_MAX];
	size_t len = wire_name_len(owner);
	char buf[1024];

	memcpy(lname, owner, len);
	wire_name_lower(lname);
	if (!wire_name_is_subdomain(lname, len, b->origin, b->origin_len)) {
		char o[1024];
		wire_name_to_str(lname, buf, sizeof buf);
		wire_name_to_str(b->origin, o, sizeof o);
		fail(err, errlen, b->source, line, "record for %s is outside the zone %s", buf, o);
		return -1;
	}
	if (meta_type(type)) {
		fail(err, errlen, b->source, line, "type %u is a meta type, not data", type);
		return -1;
	}
	if (rdlen > ZONE_RDATA_MAX) {
		fail(err, errlen, b->source, line, "rdata of %u octets is longer than %u", rdlen,
		     ZONE_RDATA_MAX);
		return -1;
	}
	if (!rdata_valid(type, rdata, rdlen)) {
		fail(err, errlen, b->source, line, "malformed rdata for type %u", type);
		return -1;
	}
	uint32_t node;
	if (node_get(b, lname, len, &node) != 0 ||
	    grow((void **)&b->recs, &b->cap_recs, b->nrecs + 1, sizeof *b->recs) != 0 ||
	    arena_reserve(&b->rdata, (size_t)rdlen + 2) != 0) {
		fail(err, errlen, b->source, line, "out of memory");
		return -1;
	}
	struct rec *r = &b->recs[b->nrecs++];
	r->node = node;
	r->type = type;
	r->ttl = ttl;
	r->line = line;
	r->rdata_off = (uint32_t)b->rdata.len;
	wire_put16(b->rdata.p + b->rdata.len, rdlen);
	memcpy(b->rdata.p + b->rdata.len + 2, rdata, rdlen);
	b->rdata.len += (size_t)rdlen + 2;
	return 0;
}

/* qsort has no context argument in C11; the builder's rdata arena, per thread. */
static _Thread_local const uint8_t *sort_rdata;

static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = pa, *b = pb;
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	const uint8_t *ra = sort_rdata + a->rdata_off, *rb = sort_rdata + b->rdata_off;
	uint16_t la = wire_get16(ra), lb = wire_get16(rb);
	int c = memcmp(ra + 2, rb + 2, la < lb ? la : lb);
	if (c != 0)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* Adds the empty non-terminals between every name and the apex. */
static int add_empty_nonterminals(struct zone_builder *b)
{
	size_t n = b->nnodes;
	for (size_t i = 0; i < n; i++) {
		uint8_t name[WIRE_NAME_MAX];
		size_t len = b->nodes[i].name_len;
		memcpy(name, b->names.p + b->nodes[i].name_off, len);
		const uint8_t *p = name;
		size_t plen = len;
		while (plen > b->origin_len) {
			plen -= (size_t)*p + 1;
			p += *p + 1;
			if (plen <= b->origin_len)
				break;
			uint32_t h = name_hash(p, plen);
			if (table_find(b->table, b->table_cap - 1, b->nodes, b->names.p, p, plen, h) !=
			    ZONE_NODE_NONE)
				break; /* its ancestors are handled by its own pass */
			uint32_t idx;
			if (node_get(b, p, plen, &idx) != 0)
				return -1;
		}
	}
	return 0;
}

static bool is_dnssec_type(uint16_t type)
{
	return type == DNS_TYPE_RRSIG || type == DNS_TYPE_NSEC || type == DNS_TYPE_NSEC3;
}

/* Sorts the records and lays out RRsets and the final rdata arena. */
static int build_rrsets(struct zone_builder *b, struct zone_version *v, char *err, size_t errlen)
{
	char name[1024];
	sort_rdata = b->rdata.p;
	if (b->nrecs) /* recs is NULL in an empty builder, and qsort wants an array */
		qsort(b->recs, b->nrecs, sizeof *b->recs, rec_cmp);
	sort_rdata = NULL;

	v->rrsets = malloc((b->nrecs ? b->nrecs : 1) * sizeof *v->rrsets);
	v->rdata = malloc(b->rdata.len ? b->rdata.len : 1);
	if (!v->rrsets || !v->rdata) {
		fail(err, errlen, b->source, 0, "out of memory");
		return -1;
	}
	size_t out = 0;
	size_t i = 0;
	while (i < b->nrecs) {
		const struct rec *first = &b->recs[i];
		struct node *nd = &b->nodes[first->node];
		struct rrset_rec *rs = &v->rrsets[v->nrrsets];
		if (nd->nrrsets == 0)
			nd->rrset_first = (uint32_t)v->nrrsets;
		nd->nrrsets++;
		v->nrrsets++;
		rs->type = first->type;
		rs->ttl = first->ttl;
		rs->count = 0;
		rs->rdata_off = (uint32_t)out;
		const uint8_t *prev = NULL;
		unsigned prev_line = 0;
		for (; i < b->nrecs && b->recs[i].node == first->node &&
		       b->recs[i].type == first->type;
		     i++) {
			const struct rec *r = &b->recs[i];
			const uint8_t *rd = b->rdata.p + r->rdata_off;
			size_t rl = (size_t)wire_get16(rd) + 2;
			if (r->ttl < rs->ttl)
				rs->ttl = r->ttl; /* RFC 2181 5.2: the lowest TTL wins */
			if (prev && wire_get16(prev) + 2u == rl && memcmp(prev, rd, rl) == 0)
				continue; /* a duplicate record is dropped, as NSD does */
			prev = rd;
			if (rs->count == UINT16_MAX) {
				wire_name_to_str(b->names.p + nd->name_off, name, sizeof name);
				fail(err, errlen, b->source, r->line, "more than 65535 records in one RRset at %s",
				     name);
				return -1;
			}
			if (rs->count == 1 && (rs->type == DNS_TYPE_CNAME || rs->type == DNS_TYPE_SOA)) {
				/* Records are sorted by rdata: name the later line of the two. */
				unsigned at = r->line > prev_line ? r->line : prev_line;
				wire_name_to_str(b->names.p + nd->name_off, name, sizeof name);
				fail(err, errlen, b->source, at, "%s has more than one %s record", name,
				     rs->type == DNS_TYPE_CNAME ? "CNAME" : "SOA");
				return -1;
			}
			prev_line = r->line;
			memcpy(v->rdata + out, rd, rl);
			out += rl;
			rs->count++;
			v->nrecords++;
		}
	}
	/* Give back what duplicates and growth slack left unused. */
	uint8_t *rd = realloc(v->rdata, out ? out : 1);
	if (rd)
		v->rdata = rd;
	struct rrset_rec *rs = realloc(v->rrsets, (v->nrrsets ? v->nrrsets : 1) * sizeof *rs);
	if (rs)
		v->rrsets = rs;
	return 0;
}

/* Checks CNAME exclusivity and SOA placement, node by node. */
static int check_nodes(const struct zone_builder *b, const struct zone_version *v, char *err,
		       size_t errlen)
{
	char name[1024];
	for (size_t n = 0; n < b->nnodes; n++) {
		const struct node *nd = &b->nodes[n];
		bool cname = false, other = false, soa = false;
		for (unsigned i = 0; i < nd->nrrsets; i++) {
			uint16_t t = v->rrsets[nd->rrset_first + i].type;
			cname |= t == DNS_TYPE_CNAME;
			soa |= t == DNS_TYPE_SOA;
			other |= t != DNS_TYPE_CNAME && !is_dnssec_type(t);
		}
		if (!(cname && other) && !(soa && n != v->apex))
			continue;
		/* Name the line of the node's first record (of its SOA if that is the fault). */
		uint16_t want = cname && other ? 0 : DNS_TYPE_SOA;
		unsigned line = 0;
		for (size_t r = 0; r < b->nrecs; r++)
			if (b->recs[r].node == n && (!want || b->recs[r].type == want) &&
			    (!line || b->recs[r].line < line))
				line = b->recs[r].line;
		wire_name_to_str(b->names.p + nd->name_off, name, sizeof name);
		if (cname && other)
			fail(err, errlen, b->source, line, "%s has a CNAME and other data", name);
		else
			fail(err, errlen, b->source, line, "SOA record for %s is not at the zone apex",
			     name);
		return -1;
	}
	return 0;
}

static const struct rrset_rec *node_find_type(const struct zone_version *v, const struct node *nd,
					      uint16_t type)
{
	for (unsigned i = 0; i < nd->nrrsets; i++)
		if (v->rrsets[nd->rrset_first + i].type == type)
			return &v->rrsets[nd->rrset_first + i];
	return NULL;
}

/* Marks zone cuts, the names they occlude and the parents of wildcards. */
static void set_flags(struct zone_version *v)
{
	v->nodes[v->apex].flags |= ZONE_NODE_APEX;
	for (size_t n = 0; n < v->nnodes; n++) {
		struct node *nd = &v->nodes[n];
		if (n != v->apex && node_find_type(v, nd, DNS_TYPE_NS))
			nd->flags |= ZONE_NODE_DELEG;
		const uint8_t *name = v->names + nd->name_off;
		if (name[0] == 1 && name[1] == '*') {
			uint32_t parent = zone_find(v, name + 2, nd->name_len - 2u);
			if (parent != ZONE_NODE_NONE)
				v->nodes[parent].flags |= ZONE_NODE_WILDPARENT;
		}
	}
	for (size_t n = 0; n < v->nnodes; n++) {
		struct node *nd = &v->nodes[n];
		const uint8_t *p = v->names + nd->name_off;
		size_t len = nd->name_len;
		while (len > v->origin_len) {
			len -= (size_t)*p + 1;
			p += *p + 1;
			if (len <= v->origin_len)
				break;
			uint32_t a = zone_find(v, p, len);
			if (a != ZONE_NODE_NONE && (v->nodes[a].flags & ZONE_NODE_DELEG)) {
				nd->flags |= ZONE_NODE_OCCLUDED;
				break;
			}
		}
	}
}

struct zone_version *zone_builder_finish(struct zone_builder *b, char *err, size_t errlen)
{
	struct zone_version *v = NULL;
	char o[1024];

	if (add_empty_nonterminals(b) != 0) {
		fail(err, errlen, b->source, 0, "out of memory");
		goto fail;
	}
	v = calloc(1, sizeof *v);
	if (!v) {
		fail(err, errlen, b->source, 0, "out of memory");
		goto fail;
	}
	v->refs = 1;
	memcpy(v->origin, b->origin, b->origin_len);
	v->origin_len = b->origin_len;
	v->apex = 0; /* the builder adds the apex first */
	if (build_rrsets(b, v, err, errlen) != 0)
		goto fail;
	/* Hand the name arena, nodes and table over to the version, trimmed. */
	uint8_t *names = realloc(b->names.p, b->names.len ? b->names.len : 1);
	if (names)
		b->names.p = names;
	struct node *nodes = realloc(b->nodes, b->nnodes * sizeof *nodes);
	if (nodes)
		b->nodes = nodes;
	v->names = b->names.p;
	v->nodes = b->nodes;
	v->nnodes = b->nnodes;
	v->table = b->table;
	v->table_mask = b->table_cap - 1;
	if (check_nodes(b, v, err, errlen) != 0) {
		v->names = NULL;
		v->nodes = NULL;
		v->table = NULL;
		goto fail;
	}
	const struct rrset_rec *soa = node_find_type(v, &v->nodes[v->apex], DNS_TYPE_SOA);
	if (!soa) {
		wire_name_to_str(b->origin, o, sizeof o);
		fail(err, errlen, b->source, 0, "no SOA record at the zone apex %s", o);
		v->names = NULL;
		v->nodes = NULL;
		v->table = NULL;
		goto fail;
	}
	b->names.p = NULL;
	b->nodes = NULL;
	b->table = NULL;
	v->source = b->source;
	b->source = NULL;
	const uint8_t *rd = v->rdata + soa->rdata_off + 2;
	size_t m = wire_name_len(rd);
	v->serial = wire_get32(rd + m + wire_name_len(rd + m));
	set_flags(v);
	zone_builder_destroy(b);
	return v;
fail:
	zone_version_unref(v);
	zone_builder_destroy(b);
	return NULL;
}

struct zone_version *zone_version_ref(struct zone_version *v)
{
	v->refs++;
	return v;
}

void zone_version_unref(struct zone_version *v)
{
	if (!v || --v->refs > 0)
		return;
	free(v->source);
	free(v->names);
	free(v->nodes);
	free(v->table);
	free(v->rrsets);
	free(v->rdata);
	free(v);
}

uint32_t zone_version_serial(const struct zone_version *v)
{
	return v->serial;
}

const uint8_t *zone_version_origin(const struct zone_version *v, size_t *len)
{
	if (len)
		*len = v->origin_len;
	return v->origin;
}

const char *zone_version_source(const struct zone_version *v)
{
	return v->source;
}

size_t zone_version_record_count(const struct zone_version *v)
{
	return v->nrecords;
}

size_t zone_version_node_count(const struct zone_version *v)
{
	return v->nnodes;
}

/* qsort has no context argument in C11: the version whose nodes are sorted, per thread. */
static _Thread_local const struct zone_version *digest_v;

static int node_name_cmp(const void *pa, const void *pb)
{
	const struct node *a = &digest_v->nodes[*(const uint32_t *)pa];
	const struct node *b = &digest_v->nodes[*(const uint32_t *)pb];
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(digest_v->names + a->name_off, digest_v->names + b->name_off, n);
	if (c != 0)
		return c;
	return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/*
 * The canonical form hashed: every record as [owner: lower-case wire name]
 * [type 16][class 16 = IN][TTL 32][rdlen 16][rdata], owners in the order of
 * their wire octets, a node's RRsets by type, an RRset's records as frozen
 * (sorted by rdata, duplicates dropped). Node order in memory depends on the
 * order records arrived (file or AXFR); this does not.
 */
int zone_version_digest(struct zone_version *v, uint8_t out[ZONE_DIGEST_LEN])
{
	int rc = -1;
	uint32_t *order = NULL;
	if (v->digest_done)
		goto done;
	order = malloc((v->nnodes ? v->nnodes : 1) * sizeof *order);
	if (!order)
		goto out;
	size_t n = 0;
	for (size_t i = 0; i < v->nnodes; i++)
		if (v->nodes[i].nrrsets)
			order[n++] = (uint32_t)i;
	digest_v = v;
	qsort(order, n, sizeof *order, node_name_cmp);
	digest_v = NULL;
	ldns_sha256_CTX ctx;
	ldns_sha256_init(&ctx);
	for (size_t k = 0; k < n; k++) {
		const struct node *nd = &v->nodes[order[k]];
		const uint8_t *name = v->names + nd->name_off;
		for (unsigned i = 0; i < nd->nrrsets; i++) {
			const struct rrset_rec *rs = &v->rrsets[nd->rrset_first + i];
			const uint8_t *e = v->rdata + rs->rdata_off;
			uint8_t fixed[8];
			wire_put16(fixed, rs->type);
			wire_put16(fixed + 2, 1);
			wire_put32(fixed + 4, rs->ttl);
			for (unsigned r = 0; r < rs->count; r++) {
				uint16_t len = wire_get16(e);
				ldns_sha256_update(&ctx, name, nd->name_len);
				ldns_sha256_update(&ctx, fixed, sizeof fixed);
				ldns_sha256_update(&ctx, e, (size_t)len + 2); /* [rdlen][rdata] */
				e += 2 + len;
			}
		}
	}
	ldns_sha256_final(v->digest, &ctx);
	v->digest_done = true;
done:
	memcpy(out, v->digest, ZONE_DIGEST_LEN);
	rc = 0;
out:
	free(order);
	return rc;
}

void zone_digest_hex(const uint8_t digest[ZONE_DIGEST_LEN], char out[ZONE_DIGEST_HEX])
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < ZONE_DIGEST_LEN; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[2 * ZONE_DIGEST_LEN] = '\0';
}

static struct zone_rrset view(const struct zone_version *v, const struct rrset_rec *r)
{
	struct zone_rrset s = { r->type, r->count, r->ttl, v->rdata + r->rdata_off };
	return s;
}

struct zone_rrset zone_version_soa(const struct zone_version *v)
{
	return view(v, node_find_type(v, &v->nodes[v->apex], DNS_TYPE_SOA));
}

uint32_t zone_find(const struct zone_version *v, const uint8_t *lname, size_t len)
{
	return table_find(v->table, v->table_mask, v->nodes, v->names, lname, len,
			  name_hash(lname, len));
}

uint32_t zone_prefetch(const struct zone_version *v, const uint8_t *lname, size_t len, uint32_t h,
		       int stage)
{
	if (stage == 0) {
		h = name_hash(lname, len);
		__builtin_prefetch(&v->table[h & v->table_mask]);
		return h;
	}
	const struct slot *e = &v->table[h & v->table_mask];
	if (e->node == 0 || e->hash != h)
		return h; /* absent, or further along the probe: not worth chasing */
	const struct node *n = &v->nodes[e->node - 1];
	if (stage == 1)
		__builtin_prefetch(n);
	else
		__builtin_prefetch(v->names + n->name_off);
	return h;
}

const uint8_t *zone_node_name(const struct zone_version *v, uint32_t node)
{
	return v->names + v->nodes[node].name_off;
}

unsigned zone_node_flags(const struct zone_version *v, uint32_t node)
{
	return v->nodes[node].flags;
}

unsigned zone_node_rrset_count(const struct zone_version *v, uint32_t node)
{
	return v->nodes[node].nrrsets;
}

struct zone_rrset zone_node_rrset_at(const struct zone_version *v, uint32_t node, unsigned i)
{
	return view(v, &v->rrsets[v->nodes[node].rrset_first + i]);
}

bool zone_node_rrset(const struct zone_version *v, uint32_t node, uint16_t type,
		     struct zone_rrset *out)
{
	const struct rrset_rec *r = node_find_type(v, &v->nodes[node], type);
	if (!r)
		return false;
	*out = view(v, r);
	return true;
}

/* ---- loading master files with ldns ---- */

/*
 * Skips blank and comment lines, counting them in *line, so that *line is the
 * line the next record starts on: ldns counts the newlines it reads, but it
 * reads such lines as part of the next record. A line that starts with a blank
 * is left to ldns: it may be a record for the previous owner.
 */
static void skip_blank_lines(FILE *fp, int *line)
{
	for (;;) {
		int c = getc(fp);
		if (c == ';')
			do
				c = getc(fp);
			while (c != '\n' && c != EOF);
		if (c == EOF)
			return;
		if (c != '\n') {
			ungetc(c, fp);
			return;
		}
		(*line)++;
	}
}

/* What a file that is not a regular file is, for messages. */
static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/*
 * Reads the whole file into *out (*len octets), refusing what is not a
 * regular file and more than ZONE_FILE_MAX octets. stat before open, so that
 * opening a device never happens (some act on open); O_NONBLOCK, so that a
 * FIFO swapped in between cannot block the open; fstat after, so that what
 * was read is what was checked. Returns 0, or -1 with err set.
 */
static int read_whole(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap;
	int fd = -1, rc = -1;

	if (stat(path, &st) != 0) {
		fail(err, errlen, path, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, path, 0, "%s, not a regular file: a zone file must be one",
		     file_kind(st.st_mode));
		goto out;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		fail(err, errlen, path, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		fail(err, errlen, path, 0, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, path, 0, "%s, not a regular file: a zone file must be one",
		     file_kind(st.st_mode));
		goto out;
	}
	if (st.st_size > (off_t)ZONE_FILE_MAX) {
		fail(err, errlen, path, 0, "%lld octets: a zone file is at most %u MiB",
		     (long long)st.st_size, ZONE_FILE_MAX >> 20);
		goto out;
	}
	/* st_size can lie (a file growing, a /proc file): the read is bounded too. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		fail(err, errlen, path, 0, "out of memory");
		goto out;
	}
	for (;;) {
		if (n == cap) {
			if (cap > ZONE_FILE_MAX) {
				fail(err, errlen, path, 0,
				     "more than %u MiB: a zone file is at most %u MiB",
				     ZONE_FILE_MAX >> 20, ZONE_FILE_MAX >> 20);
				goto out;
			}
			size_t ncap = cap * 2 > (size_t)ZONE_FILE_MAX + 1 ? (size_t)ZONE_FILE_MAX + 1
									  : cap * 2;
			char *p = realloc(buf, ncap);
			if (!p) {
				fail(err, errlen, path, 0, "out of memory");
				goto out;
			}
			buf = p;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail(err, errlen, path, 0, "read error: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The line (from 1) of offset off in text. */
static unsigned line_of(const char *text, size_t off)
{
	unsigned line = 1;
	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/*
 * A TTL as ldns_str2period reads it (digits, with s/m/h/d/w units), without
 * its 32-bit wrap-around: true if it is at most 2^31 - 1 (RFC 2181, 8).
 */
static bool ttl_in_range(const char *p, size_t len)
{
	static const uint64_t limit = 2147483647u;
	uint64_t total = 0, cur = 0;
	for (size_t i = 0; i < len; i++) {
		uint64_t unit = 0;
		switch (p[i]) {
		case 's': case 'S': unit = 1; break;
		case 'm': case 'M': unit = 60; break;
		case 'h': case 'H': unit = 3600; break;
		case 'd': case 'D': unit = 86400; break;
		case 'w': case 'W': unit = 604800; break;
		default:
			if (p[i] < '0' || p[i] > '9')
				return total + cur <= limit;
			cur = cur * 10 + (uint64_t)(p[i] - '0');
			if (cur > limit)
				return false;
			continue;
		}
		total += cur * unit;
		cur = 0;
		if (total > limit)
			return false;
	}
	return total + cur <= limit;
}

/*
 * The tokens of one record's text [p, end) as ldns splits it: comments and
 * parentheses dropped, blanks and newlines between tokens. Sets *tok and
 * *tlen to the next token at or after *at; returns false at the end.
 */
static bool next_token(const char *p, const char *end, const char **at, const char **tok,
		       size_t *tlen)
{
	const char *s = *at;
	for (;;) {
		while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
				   *s == '(' || *s == ')'))
			s++;
		if (s < end && *s == ';') {
			while (s < end && *s != '\n')
				s++;
			continue;
		}
		break;
	}
	if (s >= end)
		return false;
	const char *t = s;
	while (s < end && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '(' &&
	       *s != ')' && *s != ';')
		s++;
	*tok = t;
	*tlen = (size_t)(s - t);
	*at = s;
	(void)p;
	return true;
}

/*
 * Checks the TTL written in one record's text (or in a $TTL line): ldns
 * keeps the low 32 bits of a larger number, so 99999999999 would be served
 * as 1215752191. A TTL is the token starting with a digit among the (at most
 * two) TTL and class tokens after the owner (absent when the text starts
 * with a blank); a class or type never starts with a digit.
 */
static bool ttl_ok(const char *p, const char *end)
{
	const char *at = p, *tok;
	size_t tlen;
	if (end - p >= 4 && memcmp(p, "$TTL", 4) == 0) {
		at = p + 4;
		return !next_token(p, end, &at, &tok, &tlen) || ttl_in_range(tok, tlen);
	}
	if (p < end && *p == '$')
		return true; /* $ORIGIN, $INCLUDE: no TTL */
	if (p < end && *p != ' ' && *p != '\t' && !next_token(p, end, &at, &tok, &tlen))
		return true; /* the owner */
	for (int i = 0; i < 2 && next_token(p, end, &at, &tok, &tlen); i++) {
		if (tok[0] >= '0' && tok[0] <= '9') {
			if (!ttl_in_range(tok, tlen))
				return false;
			continue;
		}
		char cls[16];
		if (tlen >= sizeof cls)
			break;
		memcpy(cls, tok, tlen);
		cls[tlen] = '\0';
		if (ldns_get_rr_class_by_name(cls) == 0)
			break; /* the type: no TTL after it */
	}
	return true;
}

struct zone_version *zone_version_load(const char *path, const char *origin_str, char *err,
				       size_t errlen)
{
	struct zone_builder *b = NULL;
	struct zone_version *v = NULL;
	ldns_rdf *origin = NULL, *prev = NULL;
	ldns_rr *rr = NULL;
	ldns_buffer *buf = NULL;
	uint32_t ttl = 3600;
	int line = 1;
	char *text = NULL;
	size_t len = 0;
	FILE *fp = NULL;

	if (read_whole(path, &text, &len, err, errlen) != 0)
		goto out;
	/* ldns drops a NUL byte from a token: "a\0b" would be served as "ab". */
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		fail(err, errlen, path, line_of(text, (size_t)(nul - text)),
		     "a NUL byte: write a zero octet in a name or a string as \\000");
		goto out;
	}
	if (len == 0) {
		fail(err, errlen, path, 0, "no records (a zone needs at least its SOA)");
		goto out;
	}
	fp = fmemopen(text, len, "r");
	if (!fp) {
		fail(err, errlen, path, 0, "out of memory");
		goto out;
	}
	buf = ldns_buffer_new(512);
	if (!buf) {
		fail(err, errlen, path, 0, "out of memory");
		goto out;
	}
	if (origin_str && ldns_str2rdf_dname(&origin, origin_str) != LDNS_STATUS_OK) {
		fail(err, errlen, path, 0, "bad origin '%s'", origin_str);
		goto out;
	}
	for (;;) {
		skip_blank_lines(fp, &line);
		if (feof(fp) || ferror(fp))
			break;
		unsigned at = (unsigned)line; /* the line the record starts on */
		long start = ftell(fp);
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin, &prev, &line);
		long stop = ftell(fp);
		if (start >= 0 && stop >= start && (size_t)stop <= len &&
		    !ttl_ok(text + start, text + stop)) {
			fail(err, errlen, path, at,
			     "TTL above 2147483647 (2^31 - 1, RFC 2181): refused rather than "
			     "wrapped");
			goto out;
		}
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
			fail(err, errlen, path, at, "$INCLUDE is not supported");
			goto out;
		}
		if (st != LDNS_STATUS_OK) {
			fail(err, errlen, path, at, "%s", ldns_get_errorstr_by_id(st));
			goto out;
		}
		ldns_rdf *owner = ldns_rr_owner(rr);
		if (ldns_rdf_get_type(owner) != LDNS_RDF_TYPE_DNAME || ldns_rdf_size(owner) == 0 ||
		    ldns_rdf_data(owner)[ldns_rdf_size(owner) - 1] != 0) {
			fail(err, errlen, path, at,
			     "relative owner name and no $ORIGIN to complete it");
			goto out;
		}
		/* ldns checks a relative name's length before appending $ORIGIN, not after. */
		if (ldns_rdf_size(owner) > WIRE_NAME_MAX) {
			fail(err, errlen, path, at,
			     "owner name is longer than 255 octets once $ORIGIN is appended");
			goto out;
		}
		if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
			fail(err, errlen, path, at, "class %u is not IN",
			     (unsigned)ldns_rr_get_class(rr));
			goto out;
		}
		if (!b) {
			/* The zone starts at its SOA: that names the origin. */
			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA) {
				fail(err, errlen, path, at,
				     "the first record must be the zone's SOA");
				goto out;
			}
			/* ldns completes relative names with the root when there is no
			 * $ORIGIN: a zone that comes out as "." is almost surely that. */
			if (ldns_rdf_size(owner) == 1 && !origin_str) {
				fail(err, errlen, path, at,
				     "the zone's origin came out as the root (.): write $ORIGIN "
				     "before relative names, or an absolute SOA owner");
				goto out;
			}
			b = zone_builder_create(ldns_rdf_data(owner), path);
			if (!b) {
				fail(err, errlen, path, 0, "out of memory");
				goto out;
			}
		}
		ldns_buffer_clear(buf);
		if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
		    ldns_buffer_position(buf) > UINT16_MAX) {
			fail(err, errlen, path, at, "rdata does not fit a record");
			goto out;
		}
		if (zone_builder_add(b, ldns_rdf_data(owner), (uint16_t)ldns_rr_get_type(rr),
				     ldns_rr_ttl(rr), ldns_buffer_begin(buf),
				     (uint16_t)ldns_buffer_position(buf), at, err,
				     errlen) != 0)
			goto out;
		ldns_rr_free(rr);
		rr = NULL;
	}
	if (ferror(fp)) {
		fail(err, errlen, path, 0, "read error");
		goto out;
	}
	if (!b) {
		fail(err, errlen, path, 0, "no records (a zone needs at least its SOA)");
		goto out;
	}
	v = zone_builder_finish(b, err, errlen);
	b = NULL;
out:
	ldns_rr_free(rr);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	ldns_buffer_free(buf);
	zone_builder_destroy(b);
	if (fp)
		fclose(fp);
	free(text);
	return v;
}

/* ---- the zone set ---- */

struct zone {
	uint8_t origin[WIRE_NAME_MAX];
	size_t origin_len;
	struct zone_version **versions;
	size_t nversions;
	struct zone_version *served;
};

struct zone_set {
	struct zone *zones;
	size_t nzones, cap;
};

struct zone_set *zone_set_create(void)
{
	return calloc(1, sizeof(struct zone_set));
}

void zone_set_destroy(struct zone_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nzones; i++) {
		for (size_t j = 0; j < s->zones[i].nversions; j++)
			zone_version_unref(s->zones[i].versions[j]);
		free(s->zones[i].versions);
	}
	free(s->zones);
	free(s);
}

static struct zone *set_zone(const struct zone_set *s, const uint8_t *origin, size_t len)
{
	for (size_t i = 0; i < s->nzones; i++)
		if (s->zones[i].origin_len == len && memcmp(s->zones[i].origin, origin, len) == 0)
			return &s->zones[i];
	return NULL;
}

static struct zone_version *zone_held(const struct zone *z, uint32_t serial, size_t *at)
{
	for (size_t i = 0; i < z->nversions; i++)
		if (z->versions[i]->serial == serial) {
			if (at)
				*at = i;
			return z->versions[i];
		}
	return NULL;
}

int zone_set_add(struct zone_set *s, struct zone_version *v, bool serve)
{
	struct zone *z = set_zone(s, v->origin, v->origin_len);
	if (!z) {
		if (grow((void **)&s->zones, &s->cap, s->nzones + 1, sizeof *s->zones) != 0)
			return -2;
		z = &s->zones[s->nzones++];
		memset(z, 0, sizeof *z);
		memcpy(z->origin, v->origin, v->origin_len);
		z->origin_len = v->origin_len;
	}
	if (zone_held(z, v->serial, NULL))
		return -1;
	struct zone_version **p = realloc(z->versions, (z->nversions + 1) * sizeof *p);
	if (!p)
		return -2;
	z->versions = p;
	z->versions[z->nversions++] = zone_version_ref(v);
	if (serve || !z->served)
		z->served = v;
	return 0;
}

bool zone_set_has(const struct zone_set *s, const uint8_t *origin, size_t len)
{
	return set_zone(s, origin, len) != NULL;
}

int zone_set_serve(struct zone_set *s, const uint8_t *origin, size_t len, uint32_t serial)
{
	struct zone *z = set_zone(s, origin, len);
	struct zone_version *v = z ? zone_held(z, serial, NULL) : NULL;
	if (!v)
		return -1;
	z->served = v;
	return 0;
}

int zone_set_drop(struct zone_set *s, const uint8_t *origin, size_t len, uint32_t serial)
{
	struct zone *z = set_zone(s, origin, len);
	size_t at;
	struct zone_version *v = z ? zone_held(z, serial, &at) : NULL;
	if (!v || v == z->served)
		return -1;
	memmove(&z->versions[at], &z->versions[at + 1], (z->nversions - at - 1) * sizeof v);
	z->nversions--;
	zone_version_unref(v);
	return 0;
}

struct zone_version *zone_set_served(const struct zone_set *s, const uint8_t *origin,
					   size_t len)
{
	struct zone *z = set_zone(s, origin, len);
	return z ? z->served : NULL;
}

struct zone_version *zone_set_match(const struct zone_set *s, const uint8_t *lname,
					  size_t len)
{
	struct zone *best = NULL;
	for (size_t i = 0; i < s->nzones; i++) {
		struct zone *z = &s->zones[i];
		if ((!best || z->origin_len > best->origin_len) &&
		    wire_name_is_subdomain(lname, len, z->origin, z->origin_len))
			best = z;
	}
	return best ? best->served : NULL;
}

size_t zone_set_count(const struct zone_set *s)
{
	return s->nzones;
}

struct zone_version *zone_set_at(const struct zone_set *s, size_t i)
{
	return i < s->nzones ? s->zones[i].served : NULL;
}
