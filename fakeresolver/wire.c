/*
 * wire.c - bounded DNS wire parsing and a compressing reply writer.
 */
#include "fakeresolver/wire.h"

#include <stdio.h>
#include <string.h>

static inline uint8_t ascii_lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

int wire_name_read(const uint8_t *pkt, size_t len, size_t *pos, uint8_t *out, size_t *out_len)
{
	size_t p = *pos;
	size_t n = 0;
	size_t end = 0; /* where the name ends in the packet, once a pointer is followed */
	size_t floor = p; /* pointers must land strictly before this */

	for (;;) {
		if (p >= len)
			return -1;
		uint8_t c = pkt[p];
		if (c == 0) {
			if (n + 1 > WIRE_NAME_MAX)
				return -1;
			out[n++] = 0;
			if (!end)
				end = p + 1;
			break;
		}
		if ((c & 0xc0) == 0xc0) {
			if (p + 1 >= len)
				return -1;
			size_t target = (size_t)((c & 0x3f) << 8) | pkt[p + 1];
			if (target >= floor)
				return -1; /* forward or self pointer: could loop */
			if (!end)
				end = p + 2;
			floor = target;
			p = target;
			continue;
		}
		if (c & 0xc0)
			return -1; /* 0x40 and 0x80 label types are obsolete or reserved */
		if (p + 1 + c > len || n + 1 + c + 1 > WIRE_NAME_MAX)
			return -1;
		memcpy(out + n, pkt + p, (size_t)c + 1);
		n += (size_t)c + 1;
		p += (size_t)c + 1;
	}
	*pos = end;
	*out_len = n;
	return 0;
}

size_t wire_name_len(const uint8_t *name)
{
	const uint8_t *p = name;
	while (*p)
		p += *p + 1;
	return (size_t)(p - name) + 1;
}

unsigned wire_name_labels(const uint8_t *name)
{
	unsigned n = 0;
	while (*name) {
		name += *name + 1;
		n++;
	}
	return n;
}

bool wire_name_equal(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		uint8_t l = *a++;
		b++;
		if (l == 0)
			return true;
		for (uint8_t i = 0; i < l; i++, a++, b++)
			if (ascii_lower(*a) != ascii_lower(*b))
				return false;
	}
}

void wire_name_lower(uint8_t *name)
{
	while (*name) {
		uint8_t l = *name++;
		for (uint8_t i = 0; i < l; i++, name++)
			*name = ascii_lower(*name);
	}
}

bool wire_name_is_subdomain(const uint8_t *name, size_t name_len, const uint8_t *origin,
			    size_t origin_len)
{
	if (name_len < origin_len)
		return false;
	/* Walk label boundaries of name until the rest is as long as origin. */
	size_t off = 0;
	while (name_len - off > origin_len)
		off += (size_t)name[off] + 1;
	return name_len - off == origin_len && memcmp(name + off, origin, origin_len) == 0;
}

void wire_name_to_str(const uint8_t *name, char *out, size_t cap)
{
	size_t o = 0;
	if (cap == 0)
		return;
	if (*name == 0) {
		snprintf(out, cap, ".");
		return;
	}
	while (*name) {
		uint8_t l = *name++;
		for (uint8_t i = 0; i < l; i++) {
			uint8_t c = *name++;
			if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
				/* The common case, on the query log's hot path. */
				if (o + 1 >= cap)
					goto out;
				out[o++] = (char)c;
				continue;
			}
			char tmp[5];
			size_t sl;
			if (c == '.' || c == '\\') {
				tmp[0] = '\\';
				tmp[1] = (char)c;
				sl = 2;
			} else {
				snprintf(tmp, sizeof tmp, "\\%03u", c);
				sl = 4;
			}
			if (o + sl >= cap) /* the text and the terminator must fit */
				goto out;
			memcpy(out + o, tmp, sl);
			o += sl;
		}
		if (o + 1 >= cap)
			goto out;
		out[o++] = '.';
	}
out:
	out[o] = 0;
}

/* Skips one resource record at *pos; fills type and the rdata span. */
static int skip_rr(const uint8_t *pkt, size_t len, size_t *pos, uint16_t *type, size_t *rdata,
		   uint16_t *rdlen, uint8_t *owner, size_t *owner_len)
{
	if (wire_name_read(pkt, len, pos, owner, owner_len) != 0)
		return -1;
	if (*pos + 10 > len)
		return -1;
	*type = wire_get16(pkt + *pos);
	*rdlen = wire_get16(pkt + *pos + 8);
	*rdata = *pos + 10;
	if (*rdata + *rdlen > len)
		return -1;
	*pos = *rdata + *rdlen;
	return 0;
}

enum wire_verdict wire_query_parse(const uint8_t *pkt, size_t len, struct wire_query *q)
{
	q->question_end = 0;
	q->edns = false;
	q->edns_version = 0;
	q->edns_do = false;
	q->edns_udp_size = 0;
	q->qname_len = 0;
	q->qtype = q->qclass = 0;

	if (len < WIRE_HEADER_LEN)
		return WIRE_QUERY_DROP;
	q->id = wire_get16(pkt);
	q->flags = wire_get16(pkt + 2);
	if (q->flags & WIRE_FLAG_QR)
		return WIRE_QUERY_DROP;

	uint16_t qd = wire_get16(pkt + 4), an = wire_get16(pkt + 6);
	uint16_t ns = wire_get16(pkt + 8), ar = wire_get16(pkt + 10);
	size_t pos = WIRE_HEADER_LEN;

	if (qd == 1) {
		if (wire_name_read(pkt, len, &pos, q->qname, &q->qname_len) != 0 || pos + 4 > len)
			return WIRE_OPCODE(q->flags) == WIRE_OPCODE_QUERY ? WIRE_QUERY_FORMERR
									  : WIRE_QUERY_NOTIMP;
		q->qtype = wire_get16(pkt + pos);
		q->qclass = wire_get16(pkt + pos + 2);
		pos += 4;
		q->question_end = pos;
		wire_name_lower(q->qname);
	}
	if (WIRE_OPCODE(q->flags) != WIRE_OPCODE_QUERY)
		return WIRE_QUERY_NOTIMP;
	if (qd != 1 || an != 0)
		return WIRE_QUERY_FORMERR;
	/* Only IXFR carries a record (the client's SOA) in the authority section. */
	if (ns > (q->qtype == DNS_TYPE_IXFR ? 1 : 0))
		return WIRE_QUERY_FORMERR;

	uint8_t owner[WIRE_NAME_MAX];
	size_t owner_len;
	for (unsigned i = 0; i < (unsigned)ns + ar; i++) {
		uint16_t type, rdlen;
		size_t rdata;
		if (skip_rr(pkt, len, &pos, &type, &rdata, &rdlen, owner, &owner_len) != 0)
			return WIRE_QUERY_FORMERR;
		if (i < ns || type != DNS_TYPE_OPT)
			continue;
		/* RFC 6891: one OPT, owned by the root, in the additional section. */
		if (q->edns || owner_len != 1)
			return WIRE_QUERY_FORMERR;
		size_t fixed = rdata - 8; /* CLASS; the owner may be a 2-octet pointer */
		q->edns = true;
		q->edns_udp_size = wire_get16(pkt + fixed);
		q->edns_version = pkt[fixed + 3];
		q->edns_do = (pkt[fixed + 4] & 0x80) != 0;
		/* Options must tile the rdata exactly. */
		size_t o = rdata;
		while (o < rdata + rdlen) {
			if (o + 4 > rdata + rdlen)
				return WIRE_QUERY_FORMERR;
			o += 4 + (size_t)wire_get16(pkt + o + 2);
		}
		if (o != rdata + rdlen)
			return WIRE_QUERY_FORMERR;
	}
	if (pos != len)
		return WIRE_QUERY_FORMERR; /* trailing garbage */
	return WIRE_QUERY_OK;
}

void wire_writer_init(struct wire_writer *w, uint8_t *buf, size_t limit)
{
	w->buf = buf;
	w->len = 0;
	w->limit = limit;
	w->ncomp = 0;
}

static bool name_equal_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
	/* Length octets are < 64, so lower-casing them is harmless. */
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

static void comp_add(struct wire_writer *w, const uint8_t *name, size_t name_len, size_t off)
{
	if (w->ncomp == WIRE_COMP_ENTRIES || off > 0x3fff || name_len <= 1)
		return;
	w->comp[w->ncomp].name = name;
	w->comp[w->ncomp].name_len = (uint16_t)name_len;
	w->comp[w->ncomp].off = (uint16_t)off;
	w->ncomp++;
}

void wire_writer_remember(struct wire_writer *w, const uint8_t *name, size_t off)
{
	size_t n = wire_name_len(name);
	while (*name) {
		comp_add(w, name, n, off);
		size_t l = (size_t)*name + 1;
		name += l;
		off += l;
		n -= l;
	}
}

int wire_write_bytes(struct wire_writer *w, const void *p, size_t n)
{
	if (n > w->limit - w->len)
		return -1;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

static int comp_find(const struct wire_writer *w, const uint8_t *suffix, size_t n)
{
	for (size_t i = 0; i < w->ncomp; i++)
		if (w->comp[i].name_len == n && name_equal_nocase(w->comp[i].name, suffix, n))
			return w->comp[i].off;
	return -1;
}

int wire_write_name(struct wire_writer *w, const uint8_t *name)
{
	size_t start = w->len;
	size_t ncomp = w->ncomp;
	size_t n = wire_name_len(name);
	const uint8_t *s = name;

	while (*s) {
		int off = comp_find(w, s, n);
		if (off >= 0) {
			uint8_t ptr[2] = { (uint8_t)(0xc0 | (off >> 8)), (uint8_t)off };
			if (wire_write_bytes(w, ptr, 2) != 0)
				goto fail;
			return 0;
		}
		size_t l = (size_t)*s + 1;
		size_t here = w->len;
		if (wire_write_bytes(w, s, l) != 0)
			goto fail;
		comp_add(w, s, n, here);
		s += l;
		n -= l;
	}
	if (wire_write_bytes(w, "", 1) != 0)
		goto fail;
	return 0;
fail:
	w->len = start;
	w->ncomp = ncomp;
	return -1;
}

/* Writes rdata, compressing the embedded names of the RFC 1035 types. */
static int write_rdata(struct wire_writer *w, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	switch (type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
		return wire_write_name(w, rd);
	case DNS_TYPE_MX:
		if (wire_write_bytes(w, rd, 2) != 0)
			return -1;
		return wire_write_name(w, rd + 2);
	case DNS_TYPE_SOA: {
		size_t m = wire_name_len(rd);
		size_t r = wire_name_len(rd + m);
		if (wire_write_name(w, rd) != 0 || wire_write_name(w, rd + m) != 0)
			return -1;
		return wire_write_bytes(w, rd + m + r, 20);
	}
	default:
		return wire_write_bytes(w, rd, rdlen);
	}
}

int wire_write_rr(struct wire_writer *w, const uint8_t *owner, uint16_t type, uint32_t ttl,
		  const uint8_t *rdata, uint16_t rdlen)
{
	size_t start = w->len;
	size_t ncomp = w->ncomp;
	uint8_t fixed[10];

	if (wire_write_name(w, owner) != 0)
		goto fail;
	wire_put16(fixed, type);
	wire_put16(fixed + 2, DNS_CLASS_IN);
	wire_put32(fixed + 4, ttl);
	wire_put16(fixed + 8, 0);
	if (wire_write_bytes(w, fixed, sizeof fixed) != 0)
		goto fail;
	size_t rdstart = w->len;
	if (write_rdata(w, type, rdata, rdlen) != 0)
		goto fail;
	wire_put16(w->buf + rdstart - 2, (uint16_t)(w->len - rdstart));
	return 0;
fail:
	wire_writer_rewind(w, start);
	w->ncomp = ncomp;
	return -1;
}

int wire_write_opt(struct wire_writer *w, uint16_t payload, uint8_t ext_rcode, bool dnssec_ok)
{
	uint8_t opt[11] = { 0 }; /* root owner, type, class=payload, ttl, rdlen=0 */
	wire_put16(opt + 1, DNS_TYPE_OPT);
	wire_put16(opt + 3, payload);
	opt[5] = ext_rcode;
	opt[6] = 0; /* version 0 */
	opt[7] = dnssec_ok ? 0x80 : 0;
	return wire_write_bytes(w, opt, sizeof opt);
}

void wire_writer_rewind(struct wire_writer *w, size_t len)
{
	if (len >= w->len)
		return;
	w->len = len;
	while (w->ncomp > 0 && w->comp[w->ncomp - 1].off >= len)
		w->ncomp--;
}

/* ---- reading records (zone transfers) ---- */

/* Decompresses the name at pkt[*pos] (within pkt[0, end)) and appends it to out at *o. */
static int rdata_name(const uint8_t *pkt, size_t end, size_t *pos, uint8_t *out, size_t cap,
		      size_t *o)
{
	uint8_t name[WIRE_NAME_MAX];
	size_t n;

	if (wire_name_read(pkt, end, pos, name, &n) != 0 || n > cap - *o)
		return -1;
	memcpy(out + *o, name, n);
	*o += n;
	return 0;
}

/* Copies n octets at pkt[*pos] (within pkt[0, end)) to out at *o. */
static int rdata_bytes(const uint8_t *pkt, size_t end, size_t *pos, size_t n, uint8_t *out,
		       size_t cap, size_t *o)
{
	if (n > end - *pos || n > cap - *o)
		return -1;
	memcpy(out + *o, pkt + *pos, n);
	*pos += n;
	*o += n;
	return 0;
}

int wire_rdata_read(const uint8_t *pkt, size_t len, size_t rdata_off, uint16_t rdlen,
		    uint16_t type, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t pos = rdata_off, o = 0;
	int r;

	if (rdata_off > len || rdlen > len - rdata_off)
		return -1;
	/* Names are read with the rdata's end as the packet's end: they cannot run past it. */
	size_t end = rdata_off + rdlen;
	switch (type) {
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
	case DNS_TYPE_DNAME:
		r = rdata_name(pkt, end, &pos, out, cap, &o);
		break;
	case DNS_TYPE_MX:
		r = rdata_bytes(pkt, end, &pos, 2, out, cap, &o) != 0 ||
		    rdata_name(pkt, end, &pos, out, cap, &o) != 0;
		break;
	case DNS_TYPE_SRV:
		r = rdata_bytes(pkt, end, &pos, 6, out, cap, &o) != 0 ||
		    rdata_name(pkt, end, &pos, out, cap, &o) != 0;
		break;
	case DNS_TYPE_SOA:
		r = rdata_name(pkt, end, &pos, out, cap, &o) != 0 ||
		    rdata_name(pkt, end, &pos, out, cap, &o) != 0 ||
		    rdata_bytes(pkt, end, &pos, 20, out, cap, &o) != 0;
		break;
	default:
		r = rdata_bytes(pkt, end, &pos, rdlen, out, cap, &o);
		break;
	}
	if (r != 0 || pos != end)
		return -1;
	*out_len = o;
	return 0;
}

int wire_rr_read(const uint8_t *pkt, size_t len, size_t *pos, struct wire_rr *rr,
		 uint8_t *rdata_buf, size_t cap)
{
	size_t p = *pos, n;

	if (wire_name_read(pkt, len, &p, rr->owner, &rr->owner_len) != 0 || len - p < 10)
		return -1;
	rr->type = wire_get16(pkt + p);
	rr->rclass = wire_get16(pkt + p + 2);
	rr->ttl = wire_get32(pkt + p + 4);
	uint16_t rdlen = wire_get16(pkt + p + 8);
	if (wire_rdata_read(pkt, len, p + 10, rdlen, rr->type, rdata_buf, cap, &n) != 0 ||
	    n > UINT16_MAX)
		return -1;
	rr->rdata = rdata_buf;
	rr->rdlen = (uint16_t)n;
	*pos = p + 10 + rdlen;
	return 0;
}
